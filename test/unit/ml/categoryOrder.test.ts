import { describe, expect, it } from 'vitest';
import { CATEGORY_SMOOTHING, orderCategoriesByTarget } from '../../../ml/categoryOrder';
import type { EncodedFeatures } from '../../../ml/dataset';
import type { Feature } from '../../../ml/model';

const features: Feature[] = [
  { kind: 'numeric', name: 'thickness' },
  { kind: 'categorical', name: 'material', categories: ['steel', 'titanium', 'aluminium', 'brass'] },
];

/** Rows of (thickness, material code, target). */
function encoded(rows: [number, number, number][]): { data: EncodedFeatures; target: Float64Array } {
  return {
    data: {
      features,
      rowCount: rows.length,
      columns: [Float64Array.from(rows, (row) => row[0]), Float64Array.from(rows, (row) => row[1])],
    },
    target: Float64Array.from(rows, (row) => row[2]),
  };
}

function repeat(times: number, row: [number, number, number]): [number, number, number][] {
  return Array.from({ length: times }, () => row);
}

describe('orderCategoriesByTarget', () => {
  it('orders categories by their mean target, lowest first, and leaves numeric features alone', () => {
    const { data, target } = encoded([
      ...repeat(50, [1, 0, 10]),
      ...repeat(50, [1, 1, 40]),
      ...repeat(50, [1, 2, 5]),
      ...repeat(50, [1, 3, 20]),
    ]);
    const ordered = orderCategoriesByTarget(features, data, target, 'regression');
    expect(ordered[0]).toBe(features[0]);
    expect(ordered[1]).toEqual({
      kind: 'categorical',
      name: 'material',
      categories: ['aluminium', 'steel', 'brass', 'titanium'],
    });
  });

  it('shrinks a rare category towards the mean, and puts a category no row holds at the mean', () => {
    // Brass has the highest mean on 2 rows, titanium a lower one on 200: smoothed, titanium ranks higher.
    // Steel is below the mean; no row holds aluminium, so it sits at the mean, between steel and brass.
    const { data, target } = encoded([
      ...repeat(200, [1, 1, 1]),
      ...repeat(200, [1, 0, 0]),
      ...repeat(2, [1, 3, 2]),
      ...repeat(200, [1, 0, -1]),
    ]);
    const mean = (200 * 1 + 2 * 2 + 200 * -1) / 602;
    expect((2 * (2 - mean)) / (2 + CATEGORY_SMOOTHING)).toBeLessThan(
      (200 * (1 - mean)) / (200 + CATEGORY_SMOOTHING),
    );
    const ordered = orderCategoriesByTarget(features, data, target, 'regression');
    expect(ordered[1]?.kind === 'categorical' && ordered[1].categories).toEqual([
      'steel',
      'aluminium',
      'brass',
      'titanium',
    ]);
  });

  it('orders by the share of the second class for binary targets and keeps the order for multiclass', () => {
    const rows: [number, number, number][] = [
      ...repeat(40, [1, 0, 1]),
      ...repeat(40, [1, 1, 0]),
      ...repeat(40, [1, 2, 1]),
      ...repeat(40, [1, 2, 0]),
      ...repeat(40, [1, 3, 0]),
    ];
    const { data, target } = encoded(rows);
    const binary = orderCategoriesByTarget(features, data, target, 'binary');
    expect(binary[1]?.kind === 'categorical' && binary[1].categories).toEqual([
      'titanium',
      'brass',
      'aluminium',
      'steel',
    ]);
    expect(orderCategoriesByTarget(features, data, target, 'multiclass')).toEqual(features);
  });
});
