/**
 * The statistics drift is measured with: quantile bins fitted on training values, counts of values
 * in those bins, the population stability index (PSI) between binned distributions and the
 * Jensen-Shannon divergence between category distributions.
 *
 * Bin layout, shared by the reference profile and every night's counts: with edges e0 < e1 < ... <
 * e(m-1) there are m + 1 value bins, right-closed and open at both ends, (-inf, e0], (e0, e1], ...,
 * (e(m-1), +inf), then one bucket for missing values (NaN): m + 2 buckets, missing last. A value
 * beyond the training range lands in an end bin, so a shift outside it still shows.
 */
import { formatNumber } from '../lifecycle/gates/quality';

/**
 * Stand-in for an empty bucket's proportion in PSI: ln(0) is -infinity, so a bucket empty on one
 * side and not the other would make PSI infinite. 1e-4 (0.01 %) is the usual choice of credit-risk
 * practice, where PSI comes from; it caps a bucket's term near (share) x ln(share / 1e-4), which
 * still raises the alarm for a few percent of rows in a bucket empty at training.
 */
export const PROPORTION_EPSILON = 1e-4;

/** Quantile bins of about ten rows in a hundred each, the common choice for PSI. */
export const DEFAULT_BINS = 10;

/**
 * Bin edges at the 1/bins, 2/bins, ... quantiles of the finite values, without repeats. Each edge is
 * a value seen (the inverted-CDF quantile: the least value with at least that share of values at or
 * below it), so with right-closed bins a point mass sits in a bin of its own: a column with 60 %
 * zeros gives the edge 0 once, and (-inf, 0] holds the zeros. No finite value gives no edges: one
 * bin for every value.
 *
 * @param bins how many bins to aim for (fewer when values repeat) @default 10
 */
export function quantileEdges(values: ArrayLike<number>, bins = DEFAULT_BINS): number[] {
  if (!Number.isInteger(bins) || bins < 1) throw new Error(`bins must be a positive integer, got ${bins}`);
  const kept: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const value = values[i] as number;
    if (Number.isFinite(value)) kept.push(value);
  }
  const finite = Float64Array.from(kept).sort();
  const n = finite.length;
  const edges: number[] = [];
  if (n === 0) return edges;
  for (let i = 1; i < bins; i++) {
    // ceil(i x n / bins) in integers: (3 / 10) x 1000 is 300.00000000000006 in floating point.
    const edge = finite[Math.max(0, Math.ceil((i * n) / bins) - 1)] as number;
    if (edges[edges.length - 1] !== edge) edges.push(edge);
  }
  return edges;
}

/** The bucket of one value: the first bin whose upper edge is at least it, the last bucket if missing. */
export function bucketOf(value: number, edges: readonly number[]): number {
  if (Number.isNaN(value)) return edges.length + 1;
  let low = 0;
  let high = edges.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (value <= (edges[middle] as number)) high = middle;
    else low = middle + 1;
  }
  return low;
}

/**
 * Counts values into the buckets of `edges`: `edges.length + 1` value bins, then the missing (NaN)
 * bucket, last (see the module comment).
 */
export function binCounts(values: ArrayLike<number>, edges: readonly number[]): number[] {
  const counts = new Array<number>(edges.length + 2).fill(0);
  for (let i = 0; i < values.length; i++) {
    const bucket = bucketOf(values[i] as number, edges);
    counts[bucket] = (counts[bucket] as number) + 1;
  }
  return counts;
}

/** Counts as shares of their total; all zeros when the total is 0. */
export function proportionsOf(counts: readonly number[]): number[] {
  const total = counts.reduce((sum, count) => sum + count, 0);
  return counts.map((count) => (total === 0 ? 0 : count / total));
}

/**
 * Population stability index of this window's counts against the training proportions, over the same
 * buckets: sum of (current - reference) x ln(current / reference). 0 for identical distributions;
 * below 0.1 is usually read as stable, 0.1 to 0.2 as a moderate shift, above 0.2 as a significant one.
 * A share of 0 on either side is taken as `PROPORTION_EPSILON` (see there). NaN when the window has
 * no rows.
 *
 * @throws when the two do not have the same buckets
 */
export function psi(referenceProportions: readonly number[], currentCounts: readonly number[]): number {
  if (referenceProportions.length !== currentCounts.length) {
    throw new Error(
      `${referenceProportions.length} reference buckets but ${currentCounts.length} current counts`,
    );
  }
  const total = currentCounts.reduce((sum, count) => sum + count, 0);
  if (total === 0) return Number.NaN;
  let index = 0;
  referenceProportions.forEach((reference, bucket) => {
    const expected = Math.max(reference, PROPORTION_EPSILON);
    const actual = Math.max((currentCounts[bucket] as number) / total, PROPORTION_EPSILON);
    index += (actual - expected) * Math.log(actual / expected);
  });
  return index;
}

/**
 * Jensen-Shannon divergence (base 2) of two distributions over the same buckets, given as counts or
 * proportions (each is normalised): the mean Kullback-Leibler divergence of each from their average.
 * It is symmetric, finite when a bucket is empty on one side, 0 for identical distributions and 1
 * for distributions with no bucket in common. NaN when either side is all zeros.
 *
 * @throws when the two do not have the same buckets
 */
export function jensenShannon(p: readonly number[], q: readonly number[]): number {
  if (p.length !== q.length) throw new Error(`${p.length} buckets against ${q.length}`);
  const pTotal = p.reduce((sum, value) => sum + value, 0);
  const qTotal = q.reduce((sum, value) => sum + value, 0);
  if (!(pTotal > 0) || !(qTotal > 0)) return Number.NaN;
  let divergence = 0;
  p.forEach((pValue, bucket) => {
    const a = pValue / pTotal;
    const b = (q[bucket] as number) / qTotal;
    const mean = (a + b) / 2;
    if (a > 0) divergence += (a / 2) * Math.log2(a / mean);
    if (b > 0) divergence += (b / 2) * Math.log2(b / mean);
  });
  // Rounding can leave identical distributions a hair below 0 or disjoint ones a hair above 1.
  return Math.min(1, Math.max(0, divergence));
}

/** Label of the missing bucket in reports and charts. */
export const MISSING_BUCKET = '(missing)';

/** Labels of the buckets of `edges` for people: `≤ 2`, `(2, 3]`, `> 3`, then `(missing)`. */
export function bucketLabels(edges: readonly number[]): string[] {
  const first = edges[0];
  if (first === undefined) return ['any value', MISSING_BUCKET];
  const last = edges[edges.length - 1] as number;
  return [
    `≤ ${formatNumber(first)}`,
    ...edges.slice(1).map((edge, i) => `(${formatNumber(edges[i] as number)}, ${formatNumber(edge)}]`),
    `> ${formatNumber(last)}`,
    MISSING_BUCKET,
  ];
}
