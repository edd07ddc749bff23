/**
 * Row-level loops of tree growing: partitioning a node's rows (with their gradients) by a split,
 * and routing training rows by their bins. Each hot loop is a small function of its own, so V8
 * optimises it on the spot without deoptimising a caller's rarely run code.
 *
 * Deliberate repetition (ARCHITECTURE.md): partitionRows writes its loop out once per payload (rows
 * with gradients and hessians, with gradients, rows alone) so that no per-row test of which arrays
 * move is left in the loop: it runs for every row at every split. Merge them only with the fit
 * benchmark (bench/ml.ts) showing no loss.
 */
import type { BinnedData } from './binning';
import type { GrownTree } from './grow';

/**
 * Stable partition of rows[start..start+count), and of their gradients and hessians (unless null;
 * hessians only with gradients), by a split on the bins at `column`: rows going left first;
 * returns how many.
 */
export function partitionRows(
  rows: Uint32Array,
  scratch: Uint32Array,
  grad: Float64Array | null,
  gradScratch: Float64Array,
  hess: Float64Array | null,
  hessScratch: Float64Array,
  bins: Uint8Array | Uint16Array,
  column: number,
  start: number,
  count: number,
  bin: number,
  missingBin: number,
  missingGoesLeft: number,
): number {
  let l = start;
  let r = 0;
  const end = start + count;
  // Branch-free arithmetic: on shuffled data the direction mispredicts half the time.
  // b <= bin (bin may be -1), or the missing bin (above every value bin) when missing goes left.
  if (grad && hess) {
    for (let i = start; i < end; i++) {
      const row = rows[i] as number;
      const b = bins[column + row] as number;
      const left = (((bin - b) >>> 31) ^ 1) | ((((b ^ missingBin) - 1) >>> 31) & missingGoesLeft);
      const g = grad[i] as number;
      const h = hess[i] as number;
      rows[l] = row;
      scratch[r] = row;
      grad[l] = g;
      gradScratch[r] = g;
      hess[l] = h;
      hessScratch[r] = h;
      l += left;
      r += 1 - left;
    }
    hess.set(hessScratch.subarray(0, r), l);
  } else if (grad) {
    for (let i = start; i < end; i++) {
      const row = rows[i] as number;
      const b = bins[column + row] as number;
      const left = (((bin - b) >>> 31) ^ 1) | ((((b ^ missingBin) - 1) >>> 31) & missingGoesLeft);
      const g = grad[i] as number;
      rows[l] = row;
      scratch[r] = row;
      grad[l] = g;
      gradScratch[r] = g;
      l += left;
      r += 1 - left;
    }
  } else {
    for (let i = start; i < end; i++) {
      const row = rows[i] as number;
      const b = bins[column + row] as number;
      const left = (((bin - b) >>> 31) ^ 1) | ((((b ^ missingBin) - 1) >>> 31) & missingGoesLeft);
      rows[l] = row;
      scratch[r] = row;
      l += left;
      r += 1 - left;
    }
  }
  rows.set(scratch.subarray(0, r), l);
  if (grad) grad.set(gradScratch.subarray(0, r), l);
  return l - start;
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

/** Sum of values[0..count). */
export function sum(values: Float64Array, count: number): number {
  let total = 0;
  for (let i = 0; i < count; i++) total += values[i] as number;
  return total;
}

/** rows[i] = i for i < n: every row, in order. */
export function fillIdentity(rows: Uint32Array, n: number): void {
  for (let i = 0; i < n; i++) rows[i] = i;
}

/** The leaf node a training row reaches, routed by its bins (identical to routing its raw values). */
export function leafOfRow(tree: GrownTree, binned: BinnedData, row: number): number {
  let node = 0;
  for (;;) {
    const feature = tree.feature[node] as number;
    if (feature < 0) return node;
    const b = binned.bins[feature * binned.rowCount + row] as number;
    const missingBin = (binned.features[feature] as { missingBin: number }).missingBin;
    const goLeft = b === missingBin ? (tree.missingLeft[node] as boolean) : b <= (tree.bin[node] as number);
    node = goLeft ? (tree.left[node] as number) : (tree.right[node] as number);
  }
}

/** Adds every row's count to its bins in a histogram slot laid out with `stride` doubles per bin. */
export function countAllRows(binned: BinnedData, stride: number, out: Float64Array): void {
  const n = binned.rowCount;
  const { bins, binOffset } = binned;
  for (let f = 0; f + 1 < binOffset.length; f++) {
    const column = f * n;
    const first = (binOffset[f] as number) * stride + 1;
    for (let row = 0; row < n; row++) {
      const at = first + (bins[column + row] as number) * stride;
      out[at] = (out[at] as number) + 1;
    }
  }
}
