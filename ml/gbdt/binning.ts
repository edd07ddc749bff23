/**
 * Histogram binning: each feature's values become small integer bins, so split finding works on
 * per-bin gradient sums instead of sorted values. Bin edges are float32 thresholds and a value's
 * bin is decided by comparing it AS FLOAT32 with them, exactly as an ONNX TreeEnsemble (BRANCH_LT on
 * float32 inputs) and `predictGbdt` will route it: a split between bins b and b+1 can then be stored
 * as `thresholds[b]` and every training row goes the same way at prediction time.
 */
import type { EncodedFeatures } from '../dataset';
import { sampleSortedIndices, streamFor } from '../random';
import { instantiateKernel, KernelArena, kernelModule, type HistogramKernel } from './kernel';

/** Rows sampled (seeded) to place quantile bin edges. */
export const QUANTILE_SAMPLE_ROWS = 200_000;

const FLOAT32_MAX = 3.4028234663852886e38;

/** Key prefixes (top 16 bits of a value's order-preserving key) in assignBins's table. */
const PREFIXES = 65_536;

export interface FeatureBinning {
  /**
   * Increasing float32 values; `x` is in value bin b when exactly b thresholds are <= fround(x).
   * There are `thresholds.length + 1` value bins.
   */
  thresholds: Float64Array;
  /** Bin of missing values (NaN): the one after the value bins. */
  missingBin: number;
  /** Training rows where the feature is missing. */
  missingCount: number;
  /** A categorical feature with a value bin per category code (bin b = code b): it may split by sets. */
  categoryBins: boolean;
}

/** Whether a feature can split at all: two value bins, or values and missing rows. */
export function canSplitOn(binning: FeatureBinning): boolean {
  return binning.thresholds.length > 0 || binning.missingCount > 0;
}

export interface BinnedData {
  rowCount: number;
  /**
   * Column-major bins: feature f's bins are at [f * rowCount, (f + 1) * rowCount). From binFeatures,
   * a view on the kernel memory they were written in (BinWriter).
   */
  bins: Uint8Array | Uint16Array;
  features: FeatureBinning[];
  /** First bin of feature f in a histogram (length featureCount + 1; the last entry is the total). */
  binOffset: Int32Array;
  totalBins: number;
  /** The rows in each bin (histogram layout, by binOffset): the counts of a histogram of every row. */
  binCounts: Float64Array;
}

/**
 * The threshold of a split that sends value bins <= `bin` left. `bin` -1 (missing or not) sends every
 * present value right: the lowest finite float32, so values below the training range are not
 * mistaken for missing ones (only -Infinity goes left).
 */
export function splitThreshold(binning: FeatureBinning, bin: number): number {
  return bin < 0 ? -FLOAT32_MAX : (binning.thresholds[bin] as number);
}

/**
 * Bins the training features: quantile edges from (at most QUANTILE_SAMPLE_ROWS) seeded sample rows,
 * categorical codes as their own bins when they fit, and a missing bin per feature.
 */
export function binFeatures(data: EncodedFeatures, maxBins: number, seed: number): BinnedData {
  const n = data.rowCount;
  const maxValueBins = maxBins - 1;
  const sampleRows = sampleSortedIndices(n, QUANTILE_SAMPLE_ROWS, streamFor(seed, 1));
  const edgeFinder = new EdgeFinder(sampleRows.length);
  const features: FeatureBinning[] = [];
  const binOffset = new Int32Array(data.features.length + 1);
  data.features.forEach((feature, f) => {
    const column = data.columns[f] as Float64Array;
    const categories = feature.kind === 'categorical' ? feature.categories.length : -1;
    const categoryBins = categories >= 0 && categories <= maxValueBins;
    const thresholds = categoryBins
      ? categoryThresholds(categories)
      : edgeFinder.quantileThresholds(column, sampleRows, maxValueBins);
    features.push({ thresholds, missingBin: thresholds.length + 1, missingCount: 0, categoryBins });
    binOffset[f + 1] = (binOffset[f] as number) + thresholds.length + 2;
  });
  const totalBins = binOffset[features.length] as number;
  const widest = Math.max(0, ...features.map((binning) => binning.missingBin + 1));
  const writer = new BinWriter(n, features.length, widest <= 256 ? 1 : 2, maxValueBins);
  const binCounts = new Float64Array(totalBins);
  features.forEach((binning, f) => {
    const counts = binCounts.subarray(binOffset[f], binOffset[f + 1]);
    binning.missingCount = writer.assignBins(f, data.columns[f] as Float64Array, binning.thresholds, counts);
  });
  return { rowCount: n, bins: writer.bins, features, binOffset, totalBins, binCounts };
}

/** Codes 0..k-1 each get their own bin: edges halfway between consecutive codes. */
function categoryThresholds(categories: number): Float64Array {
  const thresholds = new Float64Array(Math.max(0, categories - 1));
  for (let code = 0; code < thresholds.length; code++) thresholds[code] = code + 0.5;
  return thresholds;
}

/**
 * Quantile edges from the sample rows, their sort and distinct values in the kernel (kernel.wat) on a
 * memory sized for the sample: a fit's binning runs before V8 has optimised anything, and binning's
 * loops in JavaScript ran in its interpreter for much of a small fit's first tree. The cuts between
 * distinct values stay here.
 */
class EdgeFinder {
  private readonly kernel: HistogramKernel;
  private readonly memory: WebAssembly.Memory;
  private readonly at: Record<'values' | 'scratch' | 'counts' | 'distinct' | 'distinctCounts', number>;

  constructor(sampleRows: number) {
    const arena = new KernelArena();
    this.at = {
      values: arena.reserve(sampleRows * 4),
      scratch: arena.reserve(sampleRows * 4),
      counts: arena.reserve(RADIX * 4),
      distinct: arena.reserve(sampleRows * 8),
      distinctCounts: arena.reserve(sampleRows * 8),
    };
    this.memory = arena.shared();
    this.kernel = instantiateKernel(kernelModule(), this.memory);
  }

  /**
   * Bin edges over the float32 values of the sample rows: one bin per distinct value when they fit,
   * else quantiles.
   */
  quantileThresholds(column: Float64Array, sampleRows: Uint32Array, maxValueBins: number): Float64Array {
    const { at, memory } = this;
    const count = gatherPresent(
      column,
      sampleRows,
      new Float32Array(memory.buffer, at.values, sampleRows.length),
    );
    this.kernel.sortFloat32(at.values, at.scratch, count, at.counts);
    const distinctCount = this.kernel.countDistinct(at.values, count, at.distinct, at.distinctCounts);
    const distinct = new Float64Array(memory.buffer, at.distinct, distinctCount);
    const cuts =
      distinctCount <= maxValueBins
        ? everyCut(distinctCount)
        : greedyCuts(new Float64Array(memory.buffer, at.distinctCounts, distinctCount), count, maxValueBins);
    return edgesAt(cuts, distinct);
  }
}

/**
 * Every row's bin, in the kernel as EdgeFinder's loops are, on a memory holding every feature's bins
 * and one column of values: the kernel writes the bins straight into `bins`, the binned data's, so
 * they leave its memory only once, into the grower's.
 */
class BinWriter {
  /** Column-major bins, as BinnedData.bins. */
  readonly bins: Uint8Array | Uint16Array;
  private readonly kernel: HistogramKernel;
  private readonly memory: WebAssembly.Memory;
  private readonly rows: number;
  private readonly at: Record<'bins' | 'column' | 'firstBin' | 'guarded' | 'binCounts', number>;

  constructor(rows: number, featureCount: number, bytesPerBin: 1 | 2, maxValueBins: number) {
    const arena = new KernelArena();
    this.at = {
      bins: arena.reserve(rows * featureCount * bytesPerBin),
      column: arena.reserve(rows * 8),
      firstBin: arena.reserve((PREFIXES + 1) * 4),
      // The thresholds (fewer than maxValueBins), then NaN.
      guarded: arena.reserve((maxValueBins + 2) * 8),
      binCounts: arena.reserve((maxValueBins + 1) * 4),
    };
    this.memory = arena.shared();
    this.kernel = instantiateKernel(kernelModule(), this.memory);
    this.rows = rows;
    this.bins =
      bytesPerBin === 1
        ? new Uint8Array(this.memory.buffer, this.at.bins, rows * featureCount)
        : new Uint16Array(this.memory.buffer, this.at.bins, rows * featureCount);
  }

  /**
   * Writes the bins of feature `feature` (values `column`) to its part of `bins`, and each bin's rows
   * to `binCounts`; returns its missing rows.
   *
   * A value's bin is the number of thresholds <= its float32 value. Rather than a binary search per
   * value, a table indexed by the top 16 bits of the value's order-preserving key gives the number of
   * thresholds below that prefix (all below the value); usually none or one more is <= it.
   */
  assignBins(
    feature: number,
    column: Float64Array,
    thresholds: Float64Array,
    binCounts: Float64Array,
  ): number {
    const { at, memory, rows } = this;
    new Float64Array(memory.buffer, at.column, rows).set(column);
    fillPrefixTable(thresholds, new Int32Array(memory.buffer, at.firstBin, PREFIXES + 1));
    // Thresholds past a value's prefix are above the value, so counting may run on without an end:
    // the NaN after the last threshold stops it (no value is >= NaN), +Infinity included.
    const guarded = new Float64Array(memory.buffer, at.guarded, thresholds.length + 2).fill(Number.NaN);
    guarded.set(thresholds);
    const missingBin = thresholds.length + 1;
    const counts = new Int32Array(memory.buffer, at.binCounts, missingBin + 1).fill(0);
    const bytesPerBin = this.bins.BYTES_PER_ELEMENT;
    const assign = bytesPerBin === 1 ? this.kernel.assignBinsU8 : this.kernel.assignBinsU16;
    const out = at.bins + feature * rows * bytesPerBin;
    const missing = assign(at.column, rows, at.firstBin, at.guarded, out, missingBin, at.binCounts);
    binCounts.set(counts);
    return missing;
  }
}

/** Counters of the kernel's radix sort (11-bit digits). */
const RADIX = 2048;

/** The sample rows' present (not NaN) values, as float32, at the start of `values`; returns their count. */
function gatherPresent(column: Float64Array, sampleRows: Uint32Array, values: Float32Array): number {
  let count = 0;
  for (let i = 0; i < sampleRows.length; i++) {
    const value = column[sampleRows[i] as number] as number;
    if (value === value) values[count++] = value;
  }
  return count;
}

/** The threshold of each cut (between distinct values cut-1 and cut). */
function edgesAt(cuts: readonly number[], distinct: Float64Array): Float64Array {
  const edges = new Float64Array(cuts.length);
  for (let i = 0; i < cuts.length; i++) {
    const cut = cuts[i] as number;
    edges[i] = edgeBetween(distinct[cut - 1] as number, distinct[cut] as number);
  }
  return edges;
}

function everyCut(distinctCount: number): number[] {
  const cuts: number[] = [];
  for (let cut = 1; cut < distinctCount; cut++) cuts.push(cut);
  return cuts;
}

/**
 * Cuts (index i = between distinct values i-1 and i) for at most `maxValueBins` bins of about equal
 * row counts. A value holding more rows than an equal share gets a bin of its own and the other
 * bins split the remaining rows (LightGBM does the same): sharing the budget with such a value
 * would leave the rest of the range with far too few bins (e.g. a power factor that is 100 in a
 * fifth of the rows).
 */
function greedyCuts(counts: Float64Array, total: number, maxValueBins: number): number[] {
  const heavy = total / maxValueBins;
  let heavyValues = 0;
  let lightRows = 0;
  for (const count of counts) {
    if (count >= heavy) heavyValues++;
    else lightRows += count;
  }
  // The bins between heavy values can come out more than planned: retry with a smaller budget.
  let budget = maxValueBins - heavyValues;
  for (;;) {
    const cuts = cutsWithBudget(counts, heavy, lightRows, Math.max(1, budget));
    if (cuts.length < maxValueBins || budget <= 1) return cuts.slice(0, maxValueBins - 1);
    budget -= cuts.length + 1 - maxValueBins;
  }
}

function cutsWithBudget(counts: Float64Array, heavy: number, lightRows: number, lightBins: number): number[] {
  const cuts: number[] = [];
  const cut = (at: number) => {
    if (cuts[cuts.length - 1] !== at) cuts.push(at);
  };
  let rest = lightRows;
  let binsLeft = lightBins;
  let filled = 0;
  const last = counts.length - 1;
  for (let i = 0; i <= last; i++) {
    const size = counts[i] as number;
    if (size >= heavy) {
      // A bin of its own: close the light bin before it, and itself.
      if (filled > 0) {
        cut(i);
        rest -= filled;
        binsLeft--;
        filled = 0;
      }
      if (i < last) cut(i + 1);
      continue;
    }
    if (filled > 0 && binsLeft > 1) {
      const target = rest / binsLeft;
      // Close the bin before this value when adding it would overshoot more than stopping short.
      if (filled + size > target && filled + size - target > target - filled) {
        cut(i);
        rest -= filled;
        binsLeft--;
        filled = 0;
      }
    }
    filled += size;
    if (binsLeft > 1 && i < last && filled >= rest / binsLeft) {
      cut(i + 1);
      rest -= filled;
      binsLeft--;
      filled = 0;
    }
  }
  return cuts;
}

/**
 * A float32 edge t with below < t <= above (both float32): below goes left, above goes right. The
 * midpoint when it is representable strictly above `below`, and always finite so the model stays
 * JSON-serialisable.
 */
function edgeBetween(below: number, above: number): number {
  let edge = Math.fround((below + above) / 2);
  if (!(edge > below)) edge = above;
  if (!Number.isFinite(edge)) edge = nextFloat32Up(below);
  return edge;
}

const bits = new Float32Array(1);
const bitsAsInt = new Int32Array(bits.buffer);

function nextFloat32Up(value: number): number {
  bits[0] = value;
  if (value === 0) return 1.401298464324817e-45;
  bitsAsInt[0] = (bitsAsInt[0] as number) + (value > 0 ? 1 : -1);
  return bits[0];
}

/**
 * Fills `table` (65,537 entries) so that table[p] = the number of thresholds whose key prefix (top 16
 * bits) is below p: the increasing thresholds give it in runs, written by `fill`.
 */
function fillPrefixTable(thresholds: Float64Array, table: Int32Array): void {
  const bits = new Float32Array(1);
  const word = new Uint32Array(bits.buffer);
  let filled = 0;
  for (let j = 0; j < thresholds.length; j++) {
    bits[0] = thresholds[j] as number;
    const u = word[0] as number;
    // The order-preserving key: negative floats' bits flipped, others' sign bit set (-0 as +0).
    const key = u === 0x80000000 ? 0x80000000 : u & 0x80000000 ? ~u >>> 0 : (u | 0x80000000) >>> 0;
    const prefix = key >>> 16;
    // Prefixes up to this threshold's own have j thresholds below them.
    if (prefix + 1 > filled) {
      table.fill(j, filled, prefix + 1);
      filled = prefix + 1;
    }
  }
  table.fill(thresholds.length, filled);
}
