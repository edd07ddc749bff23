/**
 * Building gradient histograms (layout: see histogram.ts), the training hot loop: this thread's
 * share of a job's features is cleared (or set to the known counts), listed in the kernel's plan and
 * accumulated by the WebAssembly kernel (kernel.wat) in one pass over the node's rows.
 *
 * buildHistograms must stay self-contained (no closures, no imports): worker threads run its
 * source text (`Function.prototype.toString`) with their own instance of the kernel.
 */
import type { HistogramBuffers } from './histogram';
import type { HistogramKernel } from './kernel';

/**
 * The first half of one thread's share of a job: build the histogram of the job's node (if any) for
 * features `featureList[listStart..listEnd)`, overwriting those features' bins. The job layout is
 * JOB (the literals below must match).
 *
 * The node's rows are `rows[start..start+count)` and their gradients and hessians
 * `grad[start..start+count)` and `hess[...]`: kept in the same order as the rows, so they are read
 * sequentially. Stride 2 means unit hessians: `hess` is not read. Every bin sums its rows in
 * row-buffer order whatever the features' split between threads: the same histogram on any thread.
 *
 * A node holding every row of the data (job slot 13) with unit hessians has its counts in
 * `allRowCounts` (the same for every tree): they are copied and only gradients are summed.
 */
export function buildHistograms(
  b: HistogramBuffers,
  kernel: HistogramKernel,
  listStart: number,
  listEnd: number,
): void {
  const job = b.job;
  const stride = job[0] as number;
  const histBase = job[3] as number;
  if (histBase < 0 || listStart >= listEnd) return;
  const start = job[1] as number;
  const gradOnly = (job[11] as number) === 1 && stride === 2 ? 1 : 0;
  const { hist, plan, featureList, binOffset } = b;
  // Plan entry k: the byte offset of feature k's column of bins, and the address of its first bin.
  for (let k = listStart; k < listEnd; k++) {
    const feature = featureList[k] as number;
    const from = (binOffset[feature] as number) * stride;
    const to = (binOffset[feature + 1] as number) * stride;
    if (gradOnly === 1) hist.set(b.allRowCounts.subarray(from, to), histBase + from);
    else hist.fill(0, histBase + from, histBase + to);
    plan[2 * k] = feature * b.rowCount * b.binBytes;
    plan[2 * k + 1] = hist.byteOffset + (histBase + from) * 8;
  }
  const accumulate =
    stride === 2
      ? b.binBytes === 1
        ? kernel.accumulateU8Unit
        : kernel.accumulateU16Unit
      : b.binBytes === 1
        ? kernel.accumulateU8Hessian
        : kernel.accumulateU16Hessian;
  accumulate(
    b.bins.byteOffset,
    b.binBytes,
    b.rows.byteOffset,
    b.grad.byteOffset,
    b.hess.byteOffset,
    start,
    start + (job[2] as number),
    plan.byteOffset + listStart * 8,
    plan.byteOffset + listEnd * 8,
    1 - gradOnly,
  );
}
