/**
 * Gradient histograms: for one tree node and each feature, per bin the sum of gradients, the row
 * count and (unless every hessian is 1) the sum of hessians. A bin takes `stride` doubles:
 * [grad, count] for unit-hessian losses, whose hessian sum is the count, else [grad, count, hess].
 * A histogram slot lays the features' bins out one after the other (`binOffset`).
 * Building them is the training hot loop (accumulate.ts, kernel.wat); this file searches them for
 * splits.
 *
 * The functions below, runHistogramJob excepted, must stay self-contained (no closures, no imports,
 * no nested functions): worker threads run their source text (`Function.prototype.toString`).
 *
 * Deliberate repetition (ARCHITECTURE.md): the split search scores "missing values right" and
 * "missing values left" in two written-out arms rather than one helper called twice. It runs for
 * every bin of every feature of every node; a call returning the gain and sums would allocate or
 * write through an array per bin, and the self-contained rule above forbids a shared closure.
 */
import { buildHistograms } from './accumulate';
import type { HistogramKernel } from './kernel';

/** Doubles per bin. */
export function binStride(unitHessian: boolean): number {
  return unitHessian ? 2 : 3;
}

/** The shared arrays of histogram jobs: views on the kernel's shared memory (kernel.ts). */
export interface HistogramBuffers {
  /** The memory holding every view below, and the kernel's module, for worker threads. */
  memory: WebAssembly.Memory;
  module: WebAssembly.Module;
  /** Column-major bins, as BinnedData.bins: feature f's at [f * rowCount, (f + 1) * rowCount). */
  bins: Uint8Array | Uint16Array;
  /** Bytes per bin: 1 or 2. */
  binBytes: number;
  /** The kernel's plan: two Int32 per entry of featureList (see buildHistograms). */
  plan: Int32Array;
  rowCount: number;
  /** Row index buffer, partitioned node by node. */
  rows: Uint32Array;
  /** The rows' gradients and hessians, in row-buffer order (moved along when rows are partitioned). */
  grad: Float64Array;
  hess: Float64Array;
  /** Histogram slots. */
  hist: Float64Array;
  /**
   * A histogram slot holding, for unit hessians, the row count of every bin over all rows (zero
   * gradient sums), else empty: the root of a tree on all rows has these counts every time.
   */
  allRowCounts: Float64Array;
  featureList: Int32Array;
  binOffset: Int32Array;
  /** Per feature, its missing bin (= its number of value bins). */
  missingBins: Int32Array;
  /** The job (layout: JOB). */
  job: Int32Array;
  /** The job's numbers (layout: JOB_VALUES). */
  jobValues: Float64Array;
  /** Split results: RESULT_SIZE doubles per thread and node searched. */
  results: Float64Array;
  /**
   * Per thread (the calling one first), the byte addresses of its partition scratch arrays: rows,
   * gradients, hessians. The calling thread's hold every row, a worker's `partitionChunk` rows.
   */
  partitionScratch: number[];
  /** Rows a worker thread may be given to partition. */
  partitionChunk: number;
}

/** Slots of `HistogramBuffers.job`; slot values of -1 mean "skip this step". */
export const JOB = {
  stride: 0,
  buildStart: 1,
  buildCount: 2,
  buildBase: 3,
  subtractParent: 4,
  subtractChild: 5,
  find: 6, // and 7: histogram bases of up to two nodes to split
  // A partition job (see partitionRows): the split's bins and direction of missing values.
  partitionBinAt: 8, // the byte offset of the split feature's column in `bins`
  partitionBin: 9,
  partitionMissingBin: 10,
  partitionMissingLeft: 11,
  partitionMovesGradients: 12, // 1: the gradients (and hessians) move with the rows
  buildAllRows: 13, // 1: the node built holds every row, its counts are in allRowCounts
  size: 14,
} as const;

/** Slots of `HistogramBuffers.jobValues`: node sums for the two searches, then split parameters. */
export const JOB_VALUES = {
  sums: 0,
  l2: 6,
  minSamplesLeaf: 7,
  minHessianLeaf: 8,
  minGain: 9,
  size: 10,
} as const;

/** Doubles per split result; a thread's results for its two searches are at thread * 2 * RESULT_SIZE. */
export const RESULT_SIZE = 8;
/**
 * Histogram subtraction: the parent's histogram minus one child's is the other child's. Overwrites
 * the parent slot (at `parentBase`) with the sibling's histogram for features
 * `featureList[listStart..listEnd)`. Self-contained: worker threads run its source text.
 */
export function subtractHistograms(
  hist: Float64Array,
  parentBase: number,
  childBase: number,
  stride: number,
  featureList: Int32Array,
  listStart: number,
  listEnd: number,
  binOffset: Int32Array,
): void {
  for (let k = listStart; k < listEnd; k++) {
    const feature = featureList[k] as number;
    const from = (binOffset[feature] as number) * stride;
    const to = (binOffset[feature + 1] as number) * stride;
    for (let j = from; j < to; j++) {
      hist[parentBase + j] = (hist[parentBase + j] as number) - (hist[childBase + j] as number);
    }
  }
}

/**
 * The best split of one node among features `featureList[listStart..listEnd)`, from its histogram
 * at `base`: second-order gain with L2, G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ), trying the missing
 * bin on either side of every threshold. Writes [gain, feature, bin, missingLeft, leftGrad,
 * leftHess, leftCount] at `out[at..]`, gain -Infinity when no split beats `minGain`. Ties keep the
 * first candidate (lowest feature, lowest bin, missing right), so merging the slices of several
 * threads in feature order gives the single-thread answer. Bin -1 sends every present value right
 * (a "missing or not" split). Self-contained: worker threads run its source text.
 */
export function findBestSplits(
  hist: Float64Array,
  base: number,
  stride: number,
  featureList: Int32Array,
  listStart: number,
  listEnd: number,
  binOffset: Int32Array,
  missingBins: Int32Array,
  totalG: number,
  totalH: number,
  totalC: number,
  l2: number,
  minSamplesLeaf: number,
  minHessianLeaf: number,
  minGain: number,
  out: Float64Array,
  at: number,
): void {
  // Unit hessians: the count doubles as the hessian sum.
  const hessAt = stride === 2 ? 1 : 2;
  const parentScore = totalH + l2 > 0 ? (totalG * totalG) / (totalH + l2) : 0;
  let bestGain = minGain;
  let found = 0;
  let bestFeature = -1;
  let bestBin = 0;
  let bestMissingLeft = 0;
  let bestG = 0;
  let bestH = 0;
  let bestC = 0;
  for (let k = listStart; k < listEnd; k++) {
    const feature = featureList[k] as number;
    const missingBin = missingBins[feature] as number;
    const first = base + (binOffset[feature] as number) * stride;
    const missing = first + missingBin * stride;
    const mG = hist[missing] as number;
    const mC = hist[missing + 1] as number;
    const mH = hist[missing + hessAt] as number;
    let lG = 0;
    let lH = 0;
    let lC = 0;
    let improved = 0;
    // bin b: value bins 0..b go left; the last value bin never closes a split (nothing right of it).
    for (let bin = -1; bin < missingBin - 1; bin++) {
      if (bin >= 0) {
        const b = first + bin * stride;
        const c = hist[b + 1] as number;
        // An empty bin gives the same partition as the previous threshold: keep the lower one.
        if (c === 0) continue;
        lG += hist[b] as number;
        lH += hist[b + hessAt] as number;
        lC += c;
        // Too few rows right already, with or without the missing ones: no later bin can do better.
        if (totalC - lC < minSamplesLeaf) break;
      }
      // Missing values right.
      if (lC >= minSamplesLeaf && lH >= minHessianLeaf && totalH - lH >= minHessianLeaf) {
        const rG = totalG - lG;
        const rH = totalH - lH;
        const gain =
          (lH + l2 > 0 ? (lG * lG) / (lH + l2) : 0) + (rH + l2 > 0 ? (rG * rG) / (rH + l2) : 0) - parentScore;
        if (gain > bestGain) {
          bestGain = gain;
          found = 1;
          improved = 1;
          bestFeature = feature;
          bestBin = bin;
          bestMissingLeft = 0;
          bestG = lG;
          bestH = lH;
          bestC = lC;
        }
      }
      // Missing values left: a different split only when this node has missing rows.
      if (mC > 0) {
        const xG = lG + mG;
        const xH = lH + mH;
        const xC = lC + mC;
        if (
          xC >= minSamplesLeaf &&
          totalC - xC >= minSamplesLeaf &&
          xH >= minHessianLeaf &&
          totalH - xH >= minHessianLeaf
        ) {
          const rG = totalG - xG;
          const rH = totalH - xH;
          const gain =
            (xH + l2 > 0 ? (xG * xG) / (xH + l2) : 0) +
            (rH + l2 > 0 ? (rG * rG) / (rH + l2) : 0) -
            parentScore;
          if (gain > bestGain) {
            bestGain = gain;
            found = 1;
            improved = 1;
            bestFeature = feature;
            bestBin = bin;
            bestMissingLeft = 1;
            bestG = xG;
            bestH = xH;
            bestC = xC;
          }
        }
      }
    }
    // No missing rows here to learn from: send future missing values to the larger side.
    if (improved === 1 && mC === 0) bestMissingLeft = bestC >= totalC - bestC ? 1 : 0;
  }
  out[at] = found === 1 ? bestGain : -Infinity;
  out[at + 1] = bestFeature;
  out[at + 2] = bestBin;
  out[at + 3] = bestMissingLeft;
  out[at + 4] = bestG;
  out[at + 5] = bestH;
  out[at + 6] = bestC;
}

/**
 * The second half of one thread's share of a job (after buildHistograms), features
 * `featureList[listStart..listEnd)`: subtract the node's histogram from its parent's (leaving the
 * sibling's), and search up to two nodes for their best split, writing to `results` at `resultAt`.
 * The step layout is JOB / JOB_VALUES (the literals below must match: this function is
 * self-contained so worker threads can run its source).
 */
export function searchSplits(
  b: HistogramBuffers,
  listStart: number,
  listEnd: number,
  resultAt: number,
): void {
  const job = b.job;
  const values = b.jobValues;
  const stride = job[0] as number;
  if ((job[5] as number) >= 0) {
    subtractHistograms(
      b.hist,
      job[4] as number,
      job[5] as number,
      stride,
      b.featureList,
      listStart,
      listEnd,
      b.binOffset,
    );
  }
  for (let node = 0; node < 2; node++) {
    const base = job[6 + node] as number;
    if (base < 0) continue;
    findBestSplits(
      b.hist,
      base,
      stride,
      b.featureList,
      listStart,
      listEnd,
      b.binOffset,
      b.missingBins,
      values[node * 3] as number,
      values[node * 3 + 1] as number,
      values[node * 3 + 2] as number,
      values[6] as number,
      values[7] as number,
      values[8] as number,
      values[9] as number,
      b.results,
      resultAt + node * 8,
    );
  }
}

/**
 * One thread's share of a job, features `featureList[listStart..listEnd)`: buildHistograms, then
 * searchSplits. For the calling thread only: workers run the two steps' source themselves.
 */
export function runHistogramJob(
  b: HistogramBuffers,
  kernel: HistogramKernel,
  listStart: number,
  listEnd: number,
  resultAt: number,
): void {
  buildHistograms(b, kernel, listStart, listEnd);
  searchSplits(b, listStart, listEnd, resultAt);
}
