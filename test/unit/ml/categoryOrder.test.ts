import { describe, expect, it } from 'vitest';
import { CATEGORY_SMOOTHING, orderCategoriesByTarget } from '../../../ml/categoryOrder';
import { encodeFeatures, type EncodedFeatures } from '../../../ml/dataset';
import type { Feature } from '../../../ml/model';
import { categoricalFromLabels, numericFromValues, Table } from '../../../ml/table';

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
    const ordered = orderCategoriesByTarget(data, target, 'regression').features;
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
    const ordered = orderCategoriesByTarget(data, target, 'regression').features;
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
    const binary = orderCategoriesByTarget(data, target, 'binary').features;
    expect(binary[1]?.kind === 'categorical' && binary[1].categories).toEqual([
      'titanium',
      'brass',
      'aluminium',
      'steel',
    ]);
    expect(orderCategoriesByTarget(data, target, 'multiclass')).toEqual(data);
  });

  it('renumbers the codes as encoding the rows afresh with the ordered categories would', () => {
    // Material repeats every 6 rows, shift every 5: a missing material, copper and shift 4 are
    // unknown to the features, and a missing shift is NaN. The orders are no swaps of two codes,
    // so using the order where its inverse belongs would show.
    const materials = ['steel', 'titanium', 'aluminium', 'brass', null, 'copper'];
    const materialEffect = [10, 40, 5, 20, 30, 50];
    const shifts = [1, 2, 3, null, 4];
    const shiftEffect = [3, 6, -8, 0, 1];
    const rows = Array.from({ length: 300 }, (_, row) => row);
    const material = rows.map((row) => materials[row % 6]);
    const thickness = rows.map((row) => 0.5 + (row % 7));
    const shift = rows.map((row) => shifts[row % 5]);
    const table = new Table([
      categoricalFromLabels('material', material),
      numericFromValues('thickness', thickness),
      numericFromValues('shift', shift),
    ]);
    const value = Float64Array.from(
      rows,
      (row) => (materialEffect[row % 6] as number) + (shiftEffect[row % 5] as number),
    );
    const described: Feature[] = [
      { kind: 'categorical', name: 'material', categories: ['steel', 'titanium', 'aluminium', 'brass'] },
      { kind: 'numeric', name: 'thickness' },
      { kind: 'categorical', name: 'shift', categories: ['1', '2', '3'] },
    ];
    const regression = orderCategoriesByTarget(encodeFeatures(table, described), value, 'regression');
    expect(
      regression.features.map((feature) => feature.kind === 'categorical' && feature.categories),
    ).toEqual([['aluminium', 'steel', 'brass', 'titanium'], false, ['3', '1', '2']]);
    expect(regression).toEqual(encodeFeatures(table, regression.features));
    expect(Array.from(regression.columns[0] ?? []).slice(0, 6)).toEqual([1, 3, 0, 2, Number.NaN, Number.NaN]);
    expect(Array.from(regression.columns[2] ?? []).slice(0, 5)).toEqual([1, 2, 0, Number.NaN, Number.NaN]);

    const slow = value.map((minutes) => (minutes > 30 ? 1 : 0));
    const binary = orderCategoriesByTarget(encodeFeatures(table, described), slow, 'binary');
    expect(binary).toEqual(encodeFeatures(table, binary.features));
  });
});
