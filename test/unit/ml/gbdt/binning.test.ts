import { describe, expect, it } from 'vitest';
import type { EncodedFeatures } from '../../../../ml/dataset';
import { binFeatures } from '../../../../ml/gbdt/binning';
import { Random } from '../../../../ml/random';

function numericData(columns: Float64Array[]): EncodedFeatures {
  return {
    features: columns.map((_, f) => ({ kind: 'numeric', name: `x${f}` })),
    columns,
    rowCount: columns[0]?.length ?? 0,
  };
}

describe('binFeatures', () => {
  it('puts each value in the bin of the number of thresholds at or below its float32 value', () => {
    const random = new Random(21);
    const rows = 20_000;
    const draws: (() => number)[] = [
      // Spread over many magnitudes and both signs.
      () => (random.next() - 0.5) * 10 ** random.below(12),
      // Crowded: many thresholds share the top 16 bits of their keys.
      () => 1 + random.below(400) * 3e-7,
      // The edges: infinities, both zeros, the largest and smallest float32, missing values.
      () =>
        [Infinity, -Infinity, 0, -0, 3.4028234663852886e38, -3.4e38, 1e-45, Number.NaN][random.below(8)] ??
        random.next(),
    ];
    const columns = draws.map((draw) => Float64Array.from({ length: rows }, draw));
    // 8-bit bins, and 16-bit bins (more than 256 bins a feature).
    for (const maxBins of [255, 16, 1000]) {
      const binned = binFeatures(numericData(columns), maxBins, 42);
      columns.forEach((column, f) => {
        const binning = binned.features[f];
        if (!binning) throw new Error(`no binning for feature ${f}`);
        const { thresholds, missingBin } = binning;
        let missing = 0;
        for (let row = 0; row < rows; row++) {
          const value = Math.fround(column[row] as number);
          let expected = missingBin;
          if (Number.isNaN(value)) missing++;
          else expected = thresholds.filter((threshold) => threshold <= value).length;
          if (binned.bins[f * rows + row] !== expected) {
            throw new Error(
              `feature ${f}, row ${row} (${value}): bin ${binned.bins[f * rows + row]}, not ${expected}`,
            );
          }
        }
        expect(binning.missingCount).toBe(missing);
        // Each bin's rows, counted as binning wrote them.
        const counts = new Array<number>(missingBin + 1).fill(0);
        for (const bin of binned.bins.subarray(f * rows, (f + 1) * rows))
          counts[bin] = (counts[bin] as number) + 1;
        const first = binned.binOffset[f] as number;
        expect(Array.from(binned.binCounts.subarray(first, first + missingBin + 1))).toEqual(counts);
      });
      expect(binned.bins.BYTES_PER_ELEMENT).toBe(maxBins > 256 ? 2 : 1);
    }
  });

  it('cuts between every pair of neighbouring distinct float32 values when they fit', () => {
    // Negative and positive values, both zeros, infinities, repeats and missing values: the
    // thresholds must separate exactly the distinct float32 values, in order.
    const random = new Random(22);
    const pool = [-1e30, -7.5, -1, -1e-40, -0, 0, 1e-45, 0.1, 0.1 + 1e-9, 2, 1e20, Infinity, -Infinity];
    const column = Float64Array.from({ length: 5000 }, () =>
      random.below(10) === 0 ? Number.NaN : (pool[random.below(pool.length)] as number),
    );
    const binned = binFeatures(numericData([column]), 255, 42);
    const thresholds = Array.from(binned.features[0]?.thresholds ?? []);
    // The distinct float32 values (0 and -0 are one value), sorted plainly.
    const distinct = [...new Set(Array.from(column, (value) => Math.fround(value)).filter((v) => v === v))]
      .map((value) => (Object.is(value, -0) ? 0 : value))
      .filter((value, i, all) => all.indexOf(value) === i)
      .sort((a, b) => a - b);
    expect(thresholds).toHaveLength(distinct.length - 1);
    thresholds.forEach((threshold, i) => {
      expect(threshold).toBeGreaterThan(distinct[i] as number);
      expect(threshold).toBeLessThanOrEqual(distinct[i + 1] as number);
      expect(Number.isFinite(threshold)).toBe(true);
    });
  });

  it('gives a value holding more rows than a share its own bin, and quantiles to the rest', () => {
    // A power factor that is 100 in a fifth of the rows, the rest spread: 16 bins.
    const random = new Random(23);
    const column = Float64Array.from({ length: 10_000 }, () =>
      random.below(5) === 0 ? 100 : Math.round(random.next() * 1000) / 10,
    );
    const binned = binFeatures(numericData([column]), 16, 42);
    const binning = binned.features[0];
    if (!binning) throw new Error('no binning');
    const counts = new Array<number>(binning.missingBin + 1).fill(0);
    for (const bin of binned.bins) counts[bin] = (counts[bin] as number) + 1;
    // 100 alone in its bin.
    const hundred = binned.bins[column.indexOf(100)] as number;
    expect(counts[hundred]).toBe(column.filter((value) => value === 100).length);
    // The other value bins hold roughly equal shares (within a factor of two of the mean).
    const others = counts.slice(0, binning.missingBin).filter((_, bin) => bin !== hundred);
    const mean = others.reduce((a, b) => a + b, 0) / others.length;
    for (const count of others) {
      expect(count).toBeGreaterThan(mean / 2);
      expect(count).toBeLessThan(mean * 2);
    }
  });
});
