/**
 * Row-level loops of tree growing: partitioning a node's rows (with their gradients) by a split (in
 * the kernel, kernel.wat), gathering, summing and routing training rows by their bins. Each hot loop
 * is a small function of its own, so V8 optimises it on the spot without deoptimising a caller's
 * rarely run code.
 */
import type { BinnedData } from './binning';
import type { GrownTree } from './grow';
import type { HistogramBuffers } from './histogram';
import type { HistogramKernel } from './kernel';

/**
 * Stable partition of rows[start..start+count) by the split in the job (JOB slots 8-10: the split
 * feature's column and the table of the bins going left), rows going left first, with their
 * gradients and hessians when the job moves them, through `thread`'s scratch arrays (thread 0 is
 * the calling one); returns how many rows go left. With `rightStays` 1 the rows going right (and
 * their gradients) are left at the start of the scratch arrays instead of after the left ones. The
 * kernel's partition loop does the work. Self-contained (the literals are JOB's): worker threads
 * run its source text.
 */
export function partitionRows(
  b: HistogramBuffers,
  kernel: HistogramKernel,
  thread: number,
  start: number,
  count: number,
  rightStays: number,
): number {
  const job = b.job;
  const payload = (job[10] as number) === 1 ? (b.hess.length > 0 ? 2 : 1) : 0;
  const scratch = b.partitionScratch;
  const partition = b.binBytes === 1 ? kernel.partitionU8 : kernel.partitionU16;
  return partition(
    b.bins.byteOffset,
    job[8] as number,
    b.rows.byteOffset,
    b.grad.byteOffset,
    b.hess.byteOffset,
    scratch[thread * 3] as number,
    scratch[thread * 3 + 1] as number,
    scratch[thread * 3 + 2] as number,
    start,
    count,
    job[9] as number,
    payload,
    rightStays,
  );
}

/** out[i] = values[rows[i]] for i in [start, start+count). */
export function gather(
  rows: Uint32Array,
  start: number,
  count: number,
  values: Float64Array,
  out: Float64Array,
): void {
  for (let i = start; i < start + count; i++) out[i] = values[rows[i] as number] as number;
}

/** The leaf node a training row reaches, routed by its bins (identical to routing its raw values). */
export function leafOfRow(tree: GrownTree, binned: BinnedData, row: number): number {
  let node = 0;
  for (;;) {
    const feature = tree.feature[node] as number;
    if (feature < 0) return node;
    const b = binned.bins[feature * binned.rowCount + row] as number;
    const missingBin = (binned.features[feature] as { missingBin: number }).missingBin;
    const leftBins = tree.leftBins[node];
    const goLeft = leftBins
      ? leftBins[b] === 1
      : b === missingBin
        ? (tree.missingLeft[node] as boolean)
        : b <= (tree.bin[node] as number);
    node = goLeft ? (tree.left[node] as number) : (tree.right[node] as number);
  }
}

/**
 * Adds the rows rows[start..start+count) of one leaf to the gradient sums of a [grad, count] histogram
 * at `base`, each row's gradient moved by `value`, over features featureList[0..listLength) (counts
 * are not touched). A row's gradient is `grad[i]` at its position i when `byPosition`, else
 * `grad[row]`.
 */
export function addLeafRows(
  binned: BinnedData,
  rows: Uint32Array,
  start: number,
  count: number,
  grad: Float64Array,
  byPosition: boolean,
  value: number,
  hist: Float64Array,
  base: number,
  featureList: Int32Array,
  listLength: number,
): void {
  const { bins, binOffset, rowCount } = binned;
  for (let i = start; i < start + count; i++) {
    const row = rows[i] as number;
    const moved = (grad[byPosition ? i : row] as number) + value;
    for (let k = 0; k < listLength; k++) {
      const feature = featureList[k] as number;
      const at = base + ((binOffset[feature] as number) + (bins[feature * rowCount + row] as number)) * 2;
      hist[at] = (hist[at] as number) + moved;
    }
  }
}

/**
 * Sets the counts of a histogram slot laid out with `stride` doubles per bin to every row's: the
 * rows in each bin, which binning counted.
 */
export function countAllRows(binned: BinnedData, stride: number, out: Float64Array): void {
  const { binCounts } = binned;
  for (let bin = 0; bin < binCounts.length; bin++) out[bin * stride + 1] = binCounts[bin] as number;
}
