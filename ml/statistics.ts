/**
 * Descriptive statistics of a table (like TFX StatisticsGen), as plain JSON: stored with a dataset
 * version, shown to people, and the source of the inferred schema. Numbers that do not exist (the
 * mean of an empty column) are null, since JSON has no NaN.
 */
import { MISSING_CODE, type CategoricalColumn, type NumericColumn, type Table } from './table';

export interface Quantiles {
  p01: number;
  p05: number;
  p25: number;
  p50: number;
  p75: number;
  p95: number;
  p99: number;
}

export interface Histogram {
  /** Bin edges, one more than `counts`; the last bin includes its upper edge. */
  edges: number[];
  counts: number[];
}

export interface NumericStatistics {
  kind: 'numeric';
  name: string;
  /** Values present (finite or infinite). */
  count: number;
  missing: number;
  /** Values that are +-Infinity: counted in `count`, left out of everything below. */
  infinite: number;
  zeros: number;
  /** Over the finite values; null when there are none. */
  mean: number | null;
  /** Population standard deviation (divides by n). */
  std: number | null;
  min: number | null;
  max: number | null;
  /** Exact, linearly interpolated between order statistics (numpy's default). */
  quantiles: Quantiles | null;
  histogram: Histogram | null;
}

export interface CategoryCount {
  label: string;
  count: number;
}

export interface CategoricalStatistics {
  kind: 'categorical';
  name: string;
  count: number;
  missing: number;
  /** Categories present at least once. */
  distinct: number;
  /** The most frequent categories, by count descending, ties by label. */
  frequencies: CategoryCount[];
  /** Rows in the categories beyond `frequencies`. */
  otherCount: number;
  /** Number of categories beyond `frequencies`. */
  otherDistinct: number;
}

export type ColumnStatistics = NumericStatistics | CategoricalStatistics;

export interface DatasetStatistics {
  rowCount: number;
  columns: ColumnStatistics[];
}

export interface StatisticsOptions {
  /** Histogram bins (default 20). */
  bins?: number;
  /** Categories listed per column before the rest is summed as "other" (default 100). */
  maxCategories?: number;
}

export const QUANTILE_LEVELS: Readonly<Record<keyof Quantiles, number>> = {
  p01: 0.01,
  p05: 0.05,
  p25: 0.25,
  p50: 0.5,
  p75: 0.75,
  p95: 0.95,
  p99: 0.99,
};

/** Statistics of every column of the table. */
export function computeStatistics(table: Table, options: StatisticsOptions = {}): DatasetStatistics {
  const { bins = 20, maxCategories = 100 } = options;
  if (!Number.isInteger(bins) || bins < 1) throw new Error(`bins must be a positive integer, got ${bins}`);
  return {
    rowCount: table.rowCount,
    columns: table.columns.map((column) =>
      column.kind === 'numeric'
        ? numericStatistics(column, bins)
        : categoricalStatistics(column, maxCategories),
    ),
  };
}

/** Statistics of one numeric column. */
export function numericStatistics(column: NumericColumn, bins = 20): NumericStatistics {
  const { values, name } = column;
  let missing = 0;
  let infinite = 0;
  let zeros = 0;
  let finiteCount = 0;
  let sum = 0;
  for (const value of values) {
    if (Number.isNaN(value)) missing++;
    else if (!Number.isFinite(value)) infinite++;
    else {
      finiteCount++;
      sum += value;
      if (value === 0) zeros++;
    }
  }
  const base = { kind: 'numeric' as const, name, count: values.length - missing, missing, infinite, zeros };
  if (finiteCount === 0) {
    return { ...base, mean: null, std: null, min: null, max: null, quantiles: null, histogram: null };
  }
  const sorted = new Float64Array(finiteCount);
  let k = 0;
  for (const value of values) if (Number.isFinite(value)) sorted[k++] = value;
  sorted.sort();
  const mean = sum / finiteCount;
  // Two passes (mean, then squared deviations) keep the variance accurate for large offsets.
  let squares = 0;
  for (const value of sorted) squares += (value - mean) ** 2;
  const quantiles = Object.fromEntries(
    Object.entries(QUANTILE_LEVELS).map(([key, level]) => [key, quantileOfSorted(sorted, level)]),
  ) as unknown as Quantiles;
  return {
    ...base,
    mean,
    std: Math.sqrt(squares / finiteCount),
    min: sorted[0] as number,
    max: sorted[finiteCount - 1] as number,
    quantiles,
    histogram: histogramOfSorted(sorted, bins),
  };
}

/** The q-quantile of ascending finite values, interpolating linearly between neighbours. */
export function quantileOfSorted(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const position = q * (sorted.length - 1);
  const below = Math.floor(position);
  const low = sorted[below] as number;
  const high = sorted[Math.min(below + 1, sorted.length - 1)] as number;
  return low + (high - low) * (position - below);
}

function histogramOfSorted(sorted: Float64Array, bins: number): Histogram {
  const layout = histogramLayout(sorted[0] as number, sorted[sorted.length - 1] as number, bins);
  layout.addAll(sorted);
  return layout.histogram();
}

/**
 * A histogram of `bins` equal bins from `min` to `max` filled a value at a time, so values that do
 * not fit in memory at once (a snapshot streamed in batches) are binned as a sorted array is.
 */
export function histogramLayout(
  min: number,
  max: number,
  bins: number,
): {
  add(value: number, count?: number): void;
  /** Adds every value, as `add` one by one would, in one loop (no call per value). */
  addAll(values: Float64Array): void;
  histogram(): Histogram;
} {
  // A constant column still gets a usable histogram: one unit wide around the value (as numpy does).
  if (min === max) {
    min -= 0.5;
    max += 0.5;
  }
  const width = (max - min) / bins;
  const edges = Array.from({ length: bins + 1 }, (_, i) => (i === bins ? max : min + i * width));
  const counts = new Float64Array(bins);
  const last = bins - 1;
  return {
    add(value: number, count = 1): void {
      const bin = Math.min(last, Math.floor((value - min) / width));
      counts[bin] = (counts[bin] as number) + count;
    },
    addAll(values: Float64Array): void {
      for (let index = 0; index < values.length; index++) {
        const bin = Math.min(last, Math.floor(((values[index] as number) - min) / width));
        counts[bin] = (counts[bin] as number) + 1;
      }
    },
    histogram: () => ({ edges, counts: Array.from(counts) }),
  };
}

/** Statistics of one categorical column. */
export function categoricalStatistics(column: CategoricalColumn, maxCategories = 100): CategoricalStatistics {
  const perCode = new Array<number>(column.dictionary.length).fill(0);
  let missing = 0;
  for (const code of column.codes) {
    if (code === MISSING_CODE) missing++;
    else perCode[code] = (perCode[code] as number) + 1;
  }
  return categoricalStatisticsOfCounts(column.name, column.dictionary, perCode, missing, maxCategories);
}

/**
 * Statistics of a categorical column from its counts: `counts[code]` rows of `labels[code]`, and
 * `missing` rows without one (a column counted batch by batch).
 */
export function categoricalStatisticsOfCounts(
  name: string,
  labels: readonly string[],
  counts: ArrayLike<number>,
  missing: number,
  maxCategories = 100,
): CategoricalStatistics {
  const present = labels
    .map((label, code) => ({ label, count: counts[code] ?? 0 }))
    .filter((entry) => entry.count > 0)
    .sort((a, b) => b.count - a.count || compareText(a.label, b.label));
  const listed = present.slice(0, maxCategories);
  const rest = present.slice(maxCategories);
  const total = present.reduce((sum, entry) => sum + entry.count, 0);
  return {
    kind: 'categorical',
    name,
    count: total,
    missing,
    distinct: present.length,
    frequencies: listed,
    otherCount: rest.reduce((sum, entry) => sum + entry.count, 0),
    otherDistinct: rest.length,
  };
}

/** Code-unit order: the same on every machine, unlike localeCompare. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// Acklam's coefficients: central region (a over b), tails (c over d).
const [A0, A1, A2, A3, A4, A5] = [
  -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716,
  2.506628277459239,
];
const [B0, B1, B2, B3, B4] = [
  -54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572,
];
const [C0, C1, C2, C3, C4, C5] = [
  -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
  2.938163982698783,
];
const [D0, D1, D2, D3] = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
/** Below this p (and above 1 - it) the tail formula applies. */
const TAIL = 0.02425;

/**
 * The standard normal distribution's quantile function (its inverse CDF) at p in (0, 1), by
 * Acklam's rational approximation (relative error below 1.2e-9): 0.9 -> 1.2816.
 */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile needs p in (0, 1), got ${p}`);
  const tail = (q: number) =>
    (((((C0 * q + C1) * q + C2) * q + C3) * q + C4) * q + C5) / ((((D0 * q + D1) * q + D2) * q + D3) * q + 1);
  if (p < TAIL) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - TAIL) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((A0 * r + A1) * r + A2) * r + A3) * r + A4) * r + A5) * q) /
    (((((B0 * r + B1) * r + B2) * r + B3) * r + B4) * r + 1)
  );
}

/** ln Γ(x) for x > 0, by Lanczos' approximation (g = 7, 9 terms; about 15 significant digits). */
function logGamma(x: number): number {
  const coefficients = [
    0.9999999999998099, 676.5203681218851, -1259.1392167224028, 771.3234287776531, -176.6150291621406,
    12.507343278686905, -0.13857109526572012, 9.984369578019572e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const shifted = x - 1;
  let sum = coefficients[0] as number;
  for (let i = 1; i < coefficients.length; i++) sum += (coefficients[i] as number) / (shifted + i);
  const t = shifted + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (shifted + 0.5) * Math.log(t) - t + Math.log(sum);
}

/**
 * The regularized upper incomplete gamma function Q(a, x) = Γ(a, x) / Γ(a), for a > 0 and x >= 0:
 * the series of P = 1 - Q below x = a + 1, Lentz's continued fraction for Q above (as Numerical
 * Recipes' gammq), each to a relative 1e-14.
 */
function upperGammaRegularized(a: number, x: number): number {
  if (x <= 0) return 1;
  const front = Math.exp(-x + a * Math.log(x) - logGamma(a));
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 10_000 && Math.abs(term) > Math.abs(sum) * 1e-15; n++) {
      term *= x / (a + n);
      sum += term;
    }
    return Math.max(0, 1 - sum * front);
  }
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let fraction = d;
  for (let i = 1; i < 10_000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const step = d * c;
    fraction *= step;
    if (Math.abs(step - 1) < 1e-15) break;
  }
  return Math.min(1, fraction * front);
}

/**
 * P(X >= statistic) for X chi-square distributed with `degreesOfFreedom`: the p-value of a
 * chi-square test. 3.841 on 1 degree of freedom -> 0.05.
 */
export function chiSquareSurvival(statistic: number, degreesOfFreedom: number): number {
  if (!(degreesOfFreedom > 0))
    throw new RangeError(`chiSquareSurvival needs degrees of freedom > 0, got ${degreesOfFreedom}`);
  if (Number.isNaN(statistic)) return Number.NaN;
  return upperGammaRegularized(degreesOfFreedom / 2, Math.max(0, statistic) / 2);
}
