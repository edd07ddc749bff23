/**
 * Gradient histograms: for one tree node and each feature, per bin the sum of gradients, the row
 * count and (unless every hessian is 1) the sum of hessians. A bin takes `stride` doubles:
 * [grad, count] for unit-hessian losses, whose hessian sum is the count, else [grad, count, hess].
 * A histogram slot lays the features' bins out one after the other (`binOffset`).
 * Building them (accumulate.ts), subtracting them and searching them for splits run in the kernel
 * (kernel.wat); this file lays out the jobs that drive it.
 *
 * searchSplits and runShares must stay self-contained (no closures, no imports, no nested
 * functions): worker threads run their source text (`Function.prototype.toString`).
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
  /** Split results: RESULT_SIZE doubles per share of a job and node searched. */
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
  // A partition job (see partitionRows): the split feature's column and which of its bins go left.
  partitionBinAt: 8, // the byte offset of the split feature's column in `bins`
  partitionGoesLeft: 9, // the byte address of the split's table: a byte per bin, 1 going left
  partitionMovesGradients: 10, // 1: the gradients (and hessians) move with the rows
  buildAllRows: 11, // 1: the node built holds every row, its counts are in allRowCounts
  // The job's features are cut into `shares` slices of featureList[0..listLength); threads take
  // the next one from `nextShare` (Atomics.add) until none is left (runShares).
  shares: 12,
  nextShare: 13,
  listLength: 14,
  size: 15,
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

/** Doubles per split result; a share's results for its two searches are at share * 2 * RESULT_SIZE. */
export const RESULT_SIZE = 8;
/**
 * The second half of one thread's share of a job (after buildHistograms), features
 * `featureList[listStart..listEnd)`: subtract the node's histogram from its parent's (leaving the
 * sibling's), and search up to two nodes for their best split, writing to `results` at `resultAt`.
 * Both steps run in the kernel (kernel.wat).
 *
 * The split search scores second-order gain with L2, G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ), at
 * every threshold between non-empty value bins, with the missing bin on either side. It writes
 * [gain, feature, bin, missingLeft, leftGrad, leftHess, leftCount], gain -Infinity when no split beats
 * `minGain`. Ties keep the first candidate (lowest feature, lowest bin, missing right), so merging
 * the shares of a job in feature order gives the answer of one search over every feature. Bin -1
 * sends every present value right (a "missing or not" split). A node without missing rows sends
 * future missing values to the side with more rows.
 *
 * The step layout is JOB / JOB_VALUES (the literals below must match: this function is
 * self-contained so worker threads can run its source).
 */
export function searchSplits(
  b: HistogramBuffers,
  kernel: HistogramKernel,
  listStart: number,
  listEnd: number,
  resultAt: number,
): void {
  const job = b.job;
  const values = b.jobValues;
  const stride = job[0] as number;
  const hist = b.hist.byteOffset;
  if ((job[5] as number) >= 0) {
    kernel.subtractHistograms(
      hist + (job[4] as number) * 8,
      hist + (job[5] as number) * 8,
      stride,
      b.featureList.byteOffset,
      listStart,
      listEnd,
      b.binOffset.byteOffset,
    );
  }
  for (let node = 0; node < 2; node++) {
    const base = job[6 + node] as number;
    if (base < 0) continue;
    kernel.findBestSplits(
      hist + base * 8,
      stride,
      b.featureList.byteOffset,
      listStart,
      listEnd,
      b.binOffset.byteOffset,
      b.missingBins.byteOffset,
      values[node * 3] as number,
      values[node * 3 + 1] as number,
      values[node * 3 + 2] as number,
      values[6] as number,
      values[7] as number,
      values[8] as number,
      values[9] as number,
      b.results.byteOffset + (resultAt + node * 8) * 8,
    );
  }
}

/**
 * The root histogram of the next tree, for unit hessians ([grad, count] bins) and a loss whose
 * gradient is the residual: a row's gradient moves by its leaf's value, so per bin the gradient sum
 * is, leaf after leaf, the leaf's sum plus its value times its count, in one kernel call
 * (carryRootHistogram). Counts are every row's (`allRowCounts`). The first `leafCount` of
 * `leafBases` are the leaves' histogram slots (byte addresses) in node order, with their values in
 * `leafValues`; only the features of `featureList[0..listLength)` are written.
 */
export function carriedRootHistogram(
  b: HistogramBuffers,
  kernel: HistogramKernel,
  leafBases: Int32Array,
  leafValues: Float64Array,
  leafCount: number,
  rootBase: number,
  listLength: number,
): void {
  kernel.carryRootHistogram(
    b.hist.byteOffset + rootBase * 8,
    b.allRowCounts.byteOffset,
    b.featureList.byteOffset,
    listLength,
    b.binOffset.byteOffset,
    leafBases.byteOffset,
    leafValues.byteOffset,
    leafCount,
  );
}

/**
 * Shares a job's features are cut into per thread, at least: enough that a thread which starts late
 * or runs slower takes fewer of them, few enough that each pass over the node's rows covers several
 * features.
 */
export const SHARES_PER_THREAD = 2;

/**
 * Features one pass over a large node's rows builds, at most: about as many histograms (255 bins of
 * 16 bytes each) as stay in a core's first-level cache while the rows stream by. Paired kernel runs
 * on 100,000 of 800,000 rows: 0.99 ns an update with 5 features a pass, 1.25 with 10, 1.64 with 20.
 */
export const FEATURES_PER_PASS = 5;

/**
 * Nodes with fewer rows build all their features in one pass: reading their rows again costs more
 * than the cache misses (3,000 rows: 2.8 ns an update with 10 features a pass, 3.0 with 5).
 */
export const PASS_MIN_ROWS = 16_384;

/** The shares of a job over `listLength` features of a node of `rows` rows on `threads` threads. */
export function sharesFor(listLength: number, rows: number, threads: number): number {
  const passes = rows >= PASS_MIN_ROWS ? Math.ceil(listLength / FEATURES_PER_PASS) : 1;
  return Math.max(1, Math.min(listLength, Math.max(threads > 1 ? threads * SHARES_PER_THREAD : 1, passes)));
}

/** The most shares a job over `featureCount` features on `threads` threads can have. */
export function maxShares(featureCount: number, threads: number): number {
  return Math.max(1, featureCount, threads * SHARES_PER_THREAD);
}

/** The steps as the calling thread runs them (workers pass their own copies). */
export const SHARE_STEPS: ShareSteps = { build: buildHistograms, search: searchSplits };

/** Sets a job's shares: `shares` slices of featureList[0..listLength), none taken yet. */
export function shareJob(b: HistogramBuffers, listLength: number, shares: number): void {
  b.job[JOB.shares] = shares;
  b.job[JOB.listLength] = listLength;
  Atomics.store(b.job, JOB.nextShare, 0);
}

/** The two steps of a share: buildHistograms and searchSplits (passed in: see runShares). */
export interface ShareSteps {
  build: typeof buildHistograms;
  search: typeof searchSplits;
}

/**
 * A thread's part of a job: take the next share of its features (JOB slots 14-16) until none is
 * left, and for each build its histograms (buildHistograms), then subtract and search them
 * (searchSplits), writing share s's results at s * 2 * RESULT_SIZE. Every share is done by exactly
 * one thread and every bin sums its rows in row order, so the histograms and results are the same
 * whichever thread takes which share. Self-contained (the literals are JOB's and RESULT_SIZE, and
 * the steps come as an argument): worker threads run its source text.
 */
export function runShares(b: HistogramBuffers, kernel: HistogramKernel, steps: ShareSteps): void {
  const job = b.job;
  const shares = job[12] as number;
  const listLength = job[14] as number;
  for (;;) {
    const share = Atomics.add(job, 13, 1);
    if (share >= shares) return;
    const listStart = Math.floor((share * listLength) / shares);
    const listEnd = Math.floor(((share + 1) * listLength) / shares);
    steps.build(b, kernel, listStart, listEnd);
    steps.search(b, kernel, listStart, listEnd, share * 2 * 8);
  }
}
