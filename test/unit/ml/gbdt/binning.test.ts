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
      const binned = binFeatures(numericData(columns), maxBins, 42, false);
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
      });
      expect(binned.bins.BYTES_PER_ELEMENT).toBe(maxBins > 256 ? 2 : 1);
    }
  });
});
