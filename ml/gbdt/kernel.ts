/**
 * The histogram and split kernel (kernel.wat, WebAssembly with SIMD) and the shared memory it works
 * on: one WebAssembly.Memory per grower, holding the bins and every buffer of HistogramBuffers, seen
 * from JavaScript through typed-array views and from worker threads through their own instance of
 * the same module on the same memory. Binning (binning.ts) runs the module's binning loops on
 * memories of its own, before the grower's exists; the grower copies the bins into its memory.
 */
import { KERNEL_WASM_BASE64 } from './kernelWasm';

/**
 * Adds rows[start..end) of a node to the histogram bins listed in the plan (see kernel.wat); every
 * argument but `one` is a byte address or count in the kernel's memory.
 */
export type AccumulateFunction = (
  bins: number,
  binBytes: number,
  rows: number,
  grad: number,
  hess: number,
  start: number,
  end: number,
  plan: number,
  planEnd: number,
  one: number,
) => void;

/**
 * Stable partition of rows[start..start+count) by a split on the column of bins at `bins + binAt`
 * (rows going left first): a row goes left when the byte of its bin in the table at `goesLeft` is 1.
 * Moves gradients (`payload` 1) and hessians too (2) through the scratch arrays; returns how many
 * rows go left. With `rightStays` 1 the right part is left at the start of the scratch arrays (the
 * caller moves it). Addresses are bytes in the kernel's memory.
 */
export type PartitionFunction = (
  bins: number,
  binAt: number,
  rows: number,
  grad: number,
  hess: number,
  rowScratch: number,
  gradScratch: number,
  hessScratch: number,
  start: number,
  count: number,
  goesLeft: number,
  payload: number,
  rightStays: number,
) => number;

/**
 * Overwrites a parent's histogram (at byte address `parent`) with the parent minus a child's (at
 * `child`) for features `featureList[listStart..listEnd)`: the child's sibling's histogram.
 */
export type SubtractFunction = (
  parent: number,
  child: number,
  stride: number,
  featureList: number,
  listStart: number,
  listEnd: number,
  binOffset: number,
) => void;

/**
 * Searches one node's histogram (at byte address `base`) for its best split among features
 * `featureList[listStart..listEnd)`, writing the result at byte address `out` (see histogram.ts).
 */
export type FindSplitsFunction = (
  base: number,
  stride: number,
  featureList: number,
  listStart: number,
  listEnd: number,
  binOffset: number,
  missingBins: number,
  totalG: number,
  totalH: number,
  totalC: number,
  l2: number,
  minSamplesLeaf: number,
  minHessianLeaf: number,
  minGain: number,
  out: number,
) => void;

/**
 * Writes a carried root's [grad, count] bins (at byte address `root`) over the features
 * `featureList[0..listLength)` (their bins from `binOffset`): every row's counts (`allRowCounts`),
 * then, leaf after leaf (`leafCount` slots' byte addresses at `leafBases`, i32, and values at
 * `leafValues`, f64), each gradient sum gains the leaf's sum plus its value times its count.
 */
export type CarryRootHistogramFunction = (
  root: number,
  allRowCounts: number,
  featureList: number,
  listLength: number,
  binOffset: number,
  leafBases: number,
  leafValues: number,
  leafCount: number,
) => void;

/** Sets the `n` u32 at byte address `rows` to 0, 1, ..., n - 1. */
export type FillIdentityFunction = (rows: number, n: number) => void;

/** The sum of `count` f64 at byte address `values`, added in order from the first. */
export type SumInOrderFunction = (values: number, count: number) => number;

/**
 * Sets each row's leaf index (at byte address `leafOfRows`, `indexBytes` 2 or 4 wide) from the
 * leaves' [start, count] pairs of row-buffer positions (i32, at `leaves`).
 */
export type MarkLeavesFunction = (
  rows: number,
  leaves: number,
  leafCount: number,
  leafOfRows: number,
  indexBytes: number,
) => void;

/**
 * The score pass of a residual loss over rows [start, end): score += its leaf's value, gradient =
 * score - target; returns the sum of the squared gradients.
 */
export type AddLeafValuesFunction = (
  leafOfRows: number,
  values: number,
  raw: number,
  target: number,
  grad: number,
  start: number,
  end: number,
) => number;

/** Sorts `count` float32 values (no NaN) at `values`, through `scratch` and 2048 i32 `counts`. */
export type SortFloat32Function = (values: number, scratch: number, count: number, counts: number) => void;

/** The distinct values of sorted float32 `values` (as f64) and their counts (f64); returns how many. */
export type CountDistinctFunction = (
  values: number,
  count: number,
  distinct: number,
  counts: number,
) => number;

/**
 * Each of `count` rows' bin from its f64 `column` value as float32 (see binning.ts): the missing bin
 * for NaN, else `firstBin` (i32 per key prefix) and the steps through `guarded` (f64 thresholds,
 * then NaN); bins to `out`, and each bin's rows added to `binCounts` (i32 a bin). Returns the
 * missing rows.
 */
export type AssignBinsFunction = (
  column: number,
  count: number,
  firstBin: number,
  guarded: number,
  out: number,
  missingBin: number,
  binCounts: number,
) => number;

/**
 * The kernel's exports: accumulate and partition functions per bin width (and histogram layout),
 * histogram subtraction, the split search, a carried root histogram, a tree's rows (every row in
 * order, their gradient sum, each row's leaf) and a residual loss's score pass; and binning's sort,
 * distinct values and bin assignment.
 */
export interface HistogramKernel {
  accumulateU8Unit: AccumulateFunction;
  accumulateU16Unit: AccumulateFunction;
  accumulateU8Hessian: AccumulateFunction;
  accumulateU16Hessian: AccumulateFunction;
  partitionU8: PartitionFunction;
  partitionU16: PartitionFunction;
  subtractHistograms: SubtractFunction;
  findBestSplits: FindSplitsFunction;
  carryRootHistogram: CarryRootHistogramFunction;
  fillIdentity: FillIdentityFunction;
  sumInOrder: SumInOrderFunction;
  markLeaves: MarkLeavesFunction;
  addLeafValues: AddLeafValuesFunction;
  sortFloat32: SortFloat32Function;
  countDistinct: CountDistinctFunction;
  assignBinsU8: AssignBinsFunction;
  assignBinsU16: AssignBinsFunction;
}

const PAGE_BYTES = 65_536;
/** WebAssembly's 32-bit memories stop at 4 GiB. */
const MAX_PAGES = 65_536;

let compiled: WebAssembly.Module | undefined;

/** The compiled kernel, compiled once per thread that asks. */
export function kernelModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(Buffer.from(KERNEL_WASM_BASE64, 'base64'));
  return compiled;
}

/** The kernel's functions on `memory`. */
export function instantiateKernel(module: WebAssembly.Module, memory: WebAssembly.Memory): HistogramKernel {
  return new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as HistogramKernel;
}

/**
 * Byte ranges of the kernel's memory, handed out one after the other (16-byte aligned, so f64x2 bins
 * and every typed array line up), then backed by one shared memory that never grows (views stay valid).
 */
export class KernelArena {
  private end = 0;
  private memory: WebAssembly.Memory | null = null;

  /** Reserves `bytes`; returns their byte address. */
  reserve(bytes: number): number {
    const at = this.end;
    this.end += Math.ceil(bytes / 16) * 16;
    return at;
  }

  /** The memory holding every reservation (created on the first call; reserve nothing after it). */
  shared(): WebAssembly.Memory {
    if (!this.memory) {
      const pages = Math.max(1, Math.ceil(this.end / PAGE_BYTES));
      if (pages > MAX_PAGES) {
        throw new Error(
          `GBDT training needs ${Math.ceil(this.end / 2 ** 20)} MiB of histogram memory, over the kernel's 4 GiB: use fewer rows or features`,
        );
      }
      this.memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    }
    return this.memory;
  }
}
