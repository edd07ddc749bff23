/**
 * Histogram binning: each feature's values become small integer bins, so split finding works on
 * per-bin gradient sums instead of sorted values. Bin edges are float32 thresholds and a value's
 * bin is decided by comparing it AS FLOAT32 with them, exactly as an ONNX TreeEnsemble (BRANCH_LT on
 * float32 inputs) and `predictGbdt` will route it: a split between bins b and b+1 can then be stored
 * as `thresholds[b]` and every training row goes the same way at prediction time.
 */
import type { EncodedFeatures } from '../dataset';
import { sampleSortedIndices, streamFor } from '../random';

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
  /** Column-major bins: feature f's bins are at [f * rowCount, (f + 1) * rowCount). */
  bins: Uint8Array | Uint16Array;
  features: FeatureBinning[];
  /** First bin of feature f in a histogram (length featureCount + 1; the last entry is the total). */
  binOffset: Int32Array;
  totalBins: number;
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
 *
 * @param shared allocate the bins in a SharedArrayBuffer so worker threads can read them
 */
export function binFeatures(
  data: EncodedFeatures,
  maxBins: number,
  seed: number,
  shared: boolean,
): BinnedData {
  const n = data.rowCount;
  const maxValueBins = maxBins - 1;
  const sampleRows = sampleSortedIndices(n, QUANTILE_SAMPLE_ROWS, streamFor(seed, 1));
  const features: FeatureBinning[] = [];
  const binOffset = new Int32Array(data.features.length + 1);
  data.features.forEach((feature, f) => {
    const column = data.columns[f] as Float64Array;
    const categories = feature.kind === 'categorical' ? feature.categories.length : -1;
    const categoryBins = categories >= 0 && categories <= maxValueBins;
    const thresholds = categoryBins
      ? categoryThresholds(categories)
      : quantileThresholds(column, sampleRows, maxValueBins);
    features.push({ thresholds, missingBin: thresholds.length + 1, missingCount: 0, categoryBins });
    binOffset[f + 1] = (binOffset[f] as number) + thresholds.length + 2;
  });
  const totalBins = binOffset[features.length] as number;
  const widest = Math.max(0, ...features.map((binning) => binning.missingBin + 1));
  const bytesPerBin = widest <= 256 ? 1 : 2;
  const buffer = allocate(n * features.length * bytesPerBin, shared);
  const bins = bytesPerBin === 1 ? new Uint8Array(buffer) : new Uint16Array(buffer);
  const values = new Float32Array(n);
  const firstBin = new Int32Array(PREFIXES + 1);
  features.forEach((binning, f) => {
    assignBins(data.columns[f] as Float64Array, binning, bins, f * n, values, firstBin);
  });
  return { rowCount: n, bins, features, binOffset, totalBins };
}

/** An ArrayBuffer, or a SharedArrayBuffer when worker threads must see the memory. */
export function allocate(bytes: number, shared: boolean): ArrayBuffer | SharedArrayBuffer {
  return shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
}

/** Codes 0..k-1 each get their own bin: edges halfway between consecutive codes. */
function categoryThresholds(categories: number): Float64Array {
  const thresholds = new Float64Array(Math.max(0, categories - 1));
  for (let code = 0; code < thresholds.length; code++) thresholds[code] = code + 0.5;
  return thresholds;
}

/**
 * Bin edges over the float32 values of the sample rows: one bin per distinct value when they fit, else
 * quantiles. Each loop is a function of its own: binning runs once a fit, mostly before V8 has
 * optimised anything, and a loop alone is optimised (on stack) sooner than one of several in a
 * large function, which drops back to the interpreter when the next loop runs for the first time.
 */
function quantileThresholds(
  column: Float64Array,
  sampleRows: Uint32Array,
  maxValueBins: number,
): Float64Array {
  const values = new Float32Array(sampleRows.length);
  const count = gatherPresent(column, sampleRows, values);
  sortFloat32(values, count);
  const distinct = new Float64Array(count);
  const counts = new Float64Array(count);
  const distinctCount = countDistinct(values, count, distinct, counts);
  const cuts =
    distinctCount <= maxValueBins
      ? everyCut(distinctCount)
      : greedyCuts(counts.subarray(0, distinctCount), count, maxValueBins);
  return edgesAt(cuts, distinct);
}

/** The sample rows' present (not NaN) values, as float32, at the start of `values`; returns their count. */
function gatherPresent(column: Float64Array, sampleRows: Uint32Array, values: Float32Array): number {
  let count = 0;
  for (let i = 0; i < sampleRows.length; i++) {
    const value = column[sampleRows[i] as number] as number;
    if (value === value) values[count++] = value;
  }
  return count;
}

/** Sorts `values[0..count)` (no NaN): order-preserving integer keys by radix are far faster than TypedArray#sort. */
function sortFloat32(values: Float32Array, count: number): void {
  const keys = new Uint32Array(values.buffer, values.byteOffset, count);
  toOrderedKeys(keys, count);
  keys.set(radixSort(keys));
  fromOrderedKeys(keys, count);
}

/** The distinct values of sorted `values[0..count)` and their counts; returns how many there are. */
function countDistinct(
  values: Float32Array,
  count: number,
  distinct: Float64Array,
  counts: Float64Array,
): number {
  let distinctCount = 0;
  for (let i = 0; i < count; i++) {
    const value = values[i] as number;
    if (distinctCount > 0 && distinct[distinctCount - 1] === value) {
      counts[distinctCount - 1] = (counts[distinctCount - 1] as number) + 1;
    } else {
      distinct[distinctCount] = value;
      counts[distinctCount++] = 1;
    }
  }
  return distinctCount;
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

/**
 * Float32 bit patterns (not NaN) to unsigned keys in the same order as the floats, -0 as +0:
 * negative floats have all bits flipped, positive ones the sign bit set.
 */
function toOrderedKeys(bits: Uint32Array, count: number): void {
  for (let i = 0; i < count; i++) {
    const u = bits[i] as number;
    bits[i] = u === 0x80000000 ? 0x80000000 : u & 0x80000000 ? ~u >>> 0 : (u | 0x80000000) >>> 0;
  }
}

function fromOrderedKeys(keys: Uint32Array, count: number): void {
  for (let i = 0; i < count; i++) {
    const k = keys[i] as number;
    keys[i] = k & 0x80000000 ? (k ^ 0x80000000) >>> 0 : ~k >>> 0;
  }
}

/** LSD radix sort of 32-bit keys in three passes of 11 bits; returns a sorted copy. */
function radixSort(keys: Uint32Array): Uint32Array {
  let from = keys.slice();
  let to = new Uint32Array(keys.length);
  const counts = new Uint32Array(RADIX);
  for (let shift = 0; shift < 32; shift += RADIX_BITS) {
    countDigits(from, shift, counts);
    startsFromCounts(counts);
    scatterByDigit(from, to, shift, counts);
    [from, to] = [to, from];
  }
  return from;
}

const RADIX_BITS = 11;
const RADIX = 1 << RADIX_BITS;

/** counts[d] = the keys whose digit at `shift` is d. */
function countDigits(keys: Uint32Array, shift: number, counts: Uint32Array): void {
  counts.fill(0);
  for (let i = 0; i < keys.length; i++) {
    const digit = ((keys[i] as number) >>> shift) & (RADIX - 1);
    counts[digit] = (counts[digit] as number) + 1;
  }
}

/** Counts to each digit's first place: an exclusive prefix sum, in place. */
function startsFromCounts(counts: Uint32Array): void {
  let total = 0;
  for (let d = 0; d < counts.length; d++) {
    const c = counts[d] as number;
    counts[d] = total;
    total += c;
  }
}

/** Each key of `from` to its digit's next place in `to` (stable). */
function scatterByDigit(from: Uint32Array, to: Uint32Array, shift: number, starts: Uint32Array): void {
  for (let i = 0; i < from.length; i++) {
    const key = from[i] as number;
    const digit = (key >>> shift) & (RADIX - 1);
    const at = starts[digit] as number;
    to[at] = key;
    starts[digit] = at + 1;
  }
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
 * Writes the bins of one feature and records its missing count.
 *
 * A value's bin is the number of thresholds <= its float32 value. Rather than a binary search per
 * value, a table indexed by the top 16 bits of the value's order-preserving key gives the number
 * of thresholds below that prefix (all below the value); usually none or one more is <= it.
 */
function assignBins(
  column: Float64Array,
  binning: FeatureBinning,
  bins: Uint8Array | Uint16Array,
  offset: number,
  values: Float32Array,
  firstBin: Int32Array,
): void {
  const thresholds = binning.thresholds;
  fillPrefixTable(thresholds, firstBin);
  // Thresholds past a value's prefix are above the value, so counting may run on without an end:
  // the NaN after the last threshold stops it (no value is >= NaN), +Infinity included.
  const guarded = new Float64Array(thresholds.length + 2).fill(Number.NaN);
  guarded.set(thresholds);
  values.set(column);
  const keys = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const missingBin = binning.missingBin;
  let missing = 0;
  for (let row = 0; row < column.length; row++) {
    const u = keys[row] as number;
    if ((u & 0x7fffffff) > 0x7f800000) {
      bins[offset + row] = missingBin;
      missing++;
      continue;
    }
    const value = values[row] as number;
    // The order-preserving key without a branch (-0 comes just below +0: counting from its prefix
    // still starts at or below its bin).
    const key = (u ^ ((u >> 31) | 0x80000000)) >>> 0;
    // Two steps without a branch (a prefix rarely holds more thresholds), then the rare rest.
    let bin = firstBin[key >>> 16] as number;
    bin += +((guarded[bin] as number) <= value);
    bin += +((guarded[bin] as number) <= value);
    while ((guarded[bin] as number) <= value) bin++;
    bins[offset + row] = bin;
  }
  binning.missingCount = missing;
}

/**
 * Fills `table` (65,537 entries) so that table[p] = the number of thresholds whose key prefix (top 16
 * bits) is below p: the increasing thresholds give it in runs, written by `fill`.
 */
function fillPrefixTable(thresholds: Float64Array, table: Int32Array): void {
  const bits = new Float32Array(1);
  const key = new Uint32Array(bits.buffer);
  let filled = 0;
  for (let j = 0; j < thresholds.length; j++) {
    bits[0] = thresholds[j] as number;
    toOrderedKeys(key, 1);
    const prefix = (key[0] as number) >>> 16;
    // Prefixes up to this threshold's own have j thresholds below them.
    if (prefix + 1 > filled) {
      table.fill(j, filled, prefix + 1);
      filled = prefix + 1;
    }
  }
  table.fill(thresholds.length, filled);
}
