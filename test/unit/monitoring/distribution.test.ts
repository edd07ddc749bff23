import { describe, expect, it } from 'vitest';
import { Random } from '../../../ml/random';
import {
  binCounts,
  bucketLabels,
  jensenShannon,
  PROPORTION_EPSILON,
  proportionsOf,
  psi,
  quantileEdges,
} from '../../../monitoring';
import { gaussian } from './fixtures';

function normal(n: number, mean: number, seed: number): Float64Array {
  const random = new Random(seed);
  return Float64Array.from({ length: n }, () => mean + gaussian(random));
}

describe('quantileEdges', () => {
  it('cuts evenly spread values into ten bins of a tenth each', () => {
    const values = Float64Array.from({ length: 1000 }, (_, i) => i + 1);
    const edges = quantileEdges(values);
    expect(edges).toEqual([100, 200, 300, 400, 500, 600, 700, 800, 900]);
    expect(binCounts(values, edges)).toEqual([100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 0]);
  });

  it('gives skewed data fewer bins, a point mass in a bin of its own, and edges that are values seen', () => {
    // Scrap per job: 60 % of jobs have none, the rest a long tail.
    const scrap = Float64Array.from({ length: 1000 }, (_, i) => (i < 600 ? 0 : (i - 599) ** 2));
    const edges = quantileEdges(scrap);
    // 0 once (the 10 % to 60 % cuts all fall on it), then the 70 %, 80 % and 90 % cuts of the tail.
    expect(edges).toEqual([0, 100 ** 2, 200 ** 2, 300 ** 2]);
    for (const edge of edges) expect(scrap).toContain(edge);
    const counts = binCounts(scrap, edges);
    expect(counts[0]).toBe(600);
    expect(counts.reduce((sum, count) => sum + count, 0)).toBe(1000);
  });

  it('ignores missing and infinite values; none finite means no edges', () => {
    expect(quantileEdges([Number.NaN, 1, 2, Number.POSITIVE_INFINITY, 3, 4], 2)).toEqual([2]);
    expect(quantileEdges([Number.NaN, Number.NaN])).toEqual([]);
    expect(quantileEdges([5, 5, 5])).toEqual([5]);
  });
});

describe('binCounts', () => {
  it('puts values in right-closed bins open at both ends, and missing values last', () => {
    const edges = [1, 2];
    // (-inf, 1], (1, 2], (2, inf), missing
    expect(binCounts([-100, 1, 1.5, 2, 2.01, 1e9, Number.NaN, Number.NEGATIVE_INFINITY], edges)).toEqual([
      3, 2, 2, 1,
    ]);
    expect(binCounts([7, Number.NaN], [])).toEqual([1, 1]);
  });

  it('labels the buckets for people', () => {
    expect(bucketLabels([1, 2.5])).toEqual(['≤ 1', '(1, 2.5]', '> 2.5', '(missing)']);
    expect(bucketLabels([])).toEqual(['any value', '(missing)']);
  });
});

describe('psi', () => {
  const training = normal(10_000, 0, 11);
  const edges = quantileEdges(training);
  const reference = proportionsOf(binCounts(training, edges));

  it('is about 0 for a sample of the same distribution', () => {
    const value = psi(reference, binCounts(normal(5000, 0, 12), edges));
    expect(value).toBeGreaterThanOrEqual(0);
    expect(value).toBeLessThan(0.02);
    expect(psi(reference, binCounts(training, edges))).toBeCloseTo(0, 12);
  });

  it('is above the 0.2 alarm for a normal shifted by half a standard deviation... and grows with the shift', () => {
    const half = psi(reference, binCounts(normal(5000, 0.5, 13), edges));
    const whole = psi(reference, binCounts(normal(5000, 1, 13), edges));
    expect(half).toBeGreaterThan(0.2);
    expect(whole).toBeGreaterThan(half);
  });

  it('takes an empty bucket as the epsilon share instead of dividing by zero', () => {
    // 5 % of rows in a bucket no training row was in.
    const value = psi([0.5, 0.5, 0], [475, 475, 50]);
    const expected =
      2 * (0.475 - 0.5) * Math.log(0.475 / 0.5) +
      (0.05 - PROPORTION_EPSILON) * Math.log(0.05 / PROPORTION_EPSILON);
    expect(value).toBeCloseTo(expected, 12);
    expect(value).toBeGreaterThan(0.2);
    expect(Number.isFinite(psi([1, 0], [0, 10]))).toBe(true);
  });

  it('is NaN without rows and refuses buckets that do not match', () => {
    expect(psi([0.5, 0.5], [0, 0])).toBeNaN();
    expect(() => psi([0.5, 0.5], [1, 2, 3])).toThrow(/2 reference buckets but 3/);
  });
});

describe('jensenShannon', () => {
  it('is 0 for identical distributions, counts or shares alike', () => {
    expect(jensenShannon([0.5, 0.3, 0.2], [50, 30, 20])).toBe(0);
  });

  it('is 1 for distributions with no bucket in common', () => {
    expect(jensenShannon([1, 0, 0], [0, 3, 7])).toBe(1);
  });

  it('is symmetric and in between for a partial overlap', () => {
    const value = jensenShannon([0.5, 0.5, 0], [0, 0.5, 0.5]);
    expect(value).toBeCloseTo(0.5, 12);
    expect(jensenShannon([0, 0.5, 0.5], [0.5, 0.5, 0])).toBe(value);
  });

  it('is NaN when one side is empty', () => {
    expect(jensenShannon([0, 0], [1, 1])).toBeNaN();
  });
});
