import { beforeAll, describe, expect, it } from 'vitest';
import { readCsvFile } from '../../../ml/csv';
import { tableFromRows } from '../../../ml/rows';
import {
  chiSquareSurvival,
  computeStatistics,
  normalQuantile,
  quantileOfSorted,
  type CategoricalStatistics,
  type DatasetStatistics,
  type NumericStatistics,
} from '../../../ml/statistics';
import { steelEnergyCsv as steelPath } from '../../sharedData';

function numericOf(stats: DatasetStatistics, name: string): NumericStatistics {
  const column = stats.columns.find((entry) => entry.name === name);
  if (column?.kind !== 'numeric') throw new Error(`no numeric statistics for ${name}`);
  return column;
}

function categoricalOf(stats: DatasetStatistics, name: string): CategoricalStatistics {
  const column = stats.columns.find((entry) => entry.name === name);
  if (column?.kind !== 'categorical') throw new Error(`no categorical statistics for ${name}`);
  return column;
}

// Expected values computed independently with Python's csv module (linear-interpolated quantiles).
describe('computeStatistics on the steel data', () => {
  let stats: DatasetStatistics;
  beforeAll(async () => {
    stats = computeStatistics(await readCsvFile(steelPath));
  });

  it('describes Usage_kWh', () => {
    const usage = numericOf(stats, 'Usage_kWh');
    expect(usage).toMatchObject({ count: 35_040, missing: 0, infinite: 0, zeros: 1, min: 0, max: 157.18 });
    expect(usage.mean).toBeCloseTo(27.386892408677415, 10);
    expect(usage.std).toBeCloseTo(33.44390247316407, 10);
    const q = usage.quantiles;
    expect(q?.p01).toBeCloseTo(2.59, 10);
    expect(q?.p05).toBeCloseTo(2.74, 10);
    expect(q?.p25).toBeCloseTo(3.2, 10);
    expect(q?.p50).toBeCloseTo(4.57, 10);
    expect(q?.p75).toBeCloseTo(51.2375, 10);
    expect(q?.p95).toBeCloseTo(99.04, 10);
    expect(q?.p99).toBeCloseTo(122.7083, 10);
    expect(usage.histogram?.counts).toEqual([
      20639, 480, 232, 884, 1451, 1570, 2019, 2036, 1387, 887, 684, 653, 576, 598, 424, 265, 149, 75, 26, 5,
    ]);
    expect(usage.histogram?.edges).toHaveLength(21);
    expect(usage.histogram?.edges[0]).toBe(0);
    expect(usage.histogram?.edges[20]).toBe(157.18);
    expect(usage.histogram?.edges[1]).toBeCloseTo(7.859, 10);
  });

  it('counts zeros', () => {
    expect(numericOf(stats, 'CO2(tCO2)').zeros).toBe(20_990);
    expect(numericOf(stats, 'Leading_Current_Reactive_Power_kVarh').zeros).toBe(23_610);
  });

  it('lists categories by count, ties by label', () => {
    expect(categoricalOf(stats, 'Load_Type')).toEqual({
      kind: 'categorical',
      name: 'Load_Type',
      count: 35_040,
      missing: 0,
      distinct: 3,
      frequencies: [
        { label: 'Light_Load', count: 18_072 },
        { label: 'Medium_Load', count: 9_696 },
        { label: 'Maximum_Load', count: 7_272 },
      ],
      otherCount: 0,
      otherDistinct: 0,
    });
    expect(categoricalOf(stats, 'Day_of_week').frequencies.map((entry) => entry.label)).toEqual([
      'Monday',
      'Friday',
      'Saturday',
      'Sunday',
      'Thursday',
      'Tuesday',
      'Wednesday',
    ]);
  });

  it('caps the categories at 100 and sums the rest', () => {
    const date = categoricalOf(stats, 'date');
    expect(date.distinct).toBe(35_040);
    expect(date.frequencies).toHaveLength(100);
    expect(date.otherCount).toBe(34_940);
    expect(date.otherDistinct).toBe(34_940);
  });

  it('is plain JSON', () => {
    expect(JSON.parse(JSON.stringify(stats))).toEqual(stats);
  });
});

describe('computeStatistics edge cases', () => {
  const table = tableFromRows([
    { x: 1, constant: 5, empty: null, label: 'b' },
    { x: null, constant: 5, empty: null, label: 'a' },
    { x: 3, constant: 5, empty: null, label: null },
    { x: Number.POSITIVE_INFINITY, constant: 5, empty: null, label: 'b' },
    { x: 0, constant: 5, empty: null, label: 'a' },
  ]);
  const stats = computeStatistics(table, { bins: 4, maxCategories: 1 });

  it('leaves missing and infinite values out of the moments', () => {
    const x = numericOf(stats, 'x');
    expect(x).toMatchObject({ count: 4, missing: 1, infinite: 1, zeros: 1, min: 0, max: 3 });
    expect(x.mean).toBeCloseTo(4 / 3, 12);
    expect(x.std).toBeCloseTo(Math.sqrt(14 / 9), 12);
    expect(x.quantiles?.p50).toBe(1);
    expect(x.histogram).toEqual({ edges: [0, 0.75, 1.5, 2.25, 3], counts: [1, 1, 0, 1] });
  });

  it('gives a constant column a one-unit histogram and an empty column nulls', () => {
    expect(numericOf(stats, 'constant')).toMatchObject({ std: 0, min: 5, max: 5 });
    expect(numericOf(stats, 'constant').histogram).toEqual({
      edges: [4.5, 4.75, 5, 5.25, 5.5],
      counts: [0, 0, 5, 0],
    });
    expect(numericOf(stats, 'empty')).toEqual({
      kind: 'numeric',
      name: 'empty',
      count: 0,
      missing: 5,
      infinite: 0,
      zeros: 0,
      mean: null,
      std: null,
      min: null,
      max: null,
      quantiles: null,
      histogram: null,
    });
  });

  it('puts ties in label order before capping', () => {
    expect(categoricalOf(stats, 'label')).toMatchObject({
      count: 4,
      missing: 1,
      distinct: 2,
      frequencies: [{ label: 'a', count: 2 }],
      otherCount: 2,
      otherDistinct: 1,
    });
  });

  it('interpolates quantiles linearly', () => {
    const sorted = new Float64Array([10, 20, 30, 40]);
    expect(quantileOfSorted(sorted, 0)).toBe(10);
    expect(quantileOfSorted(sorted, 0.5)).toBe(25);
    expect(quantileOfSorted(sorted, 0.99)).toBeCloseTo(39.7, 12);
    expect(quantileOfSorted(sorted, 1)).toBe(40);
  });
});

describe('normalQuantile', () => {
  it('inverts the standard normal CDF in the centre and the tails, and refuses p outside (0, 1)', () => {
    expect(normalQuantile(0.5)).toBeCloseTo(0, 12);
    expect(normalQuantile(0.9)).toBeCloseTo(1.2815515655, 8);
    expect(normalQuantile(0.975)).toBeCloseTo(1.9599639845, 8);
    expect(normalQuantile(0.01)).toBeCloseTo(-2.326347874, 8);
    expect(normalQuantile(1e-6)).toBeCloseTo(-4.7534243088, 6);
    expect(normalQuantile(0.2)).toBeCloseTo(-normalQuantile(0.8), 9);
    expect(() => normalQuantile(0)).toThrow(RangeError);
    expect(() => normalQuantile(1)).toThrow(RangeError);
  });
});

describe('chiSquareSurvival', () => {
  it('gives the p-values of the chi-square tables', () => {
    // Critical values at 5 %, 1 % and 0.1 % (NIST/SEMATECH e-Handbook, table 1.3.6.7.4).
    expect(chiSquareSurvival(3.841, 1)).toBeCloseTo(0.05, 4);
    expect(chiSquareSurvival(10.828, 1)).toBeCloseTo(0.001, 5);
    expect(chiSquareSurvival(5.991, 2)).toBeCloseTo(0.05, 4);
    expect(chiSquareSurvival(9.21, 2)).toBeCloseTo(0.01, 4);
    expect(chiSquareSurvival(20.515, 5)).toBeCloseTo(0.001, 5);
    expect(chiSquareSurvival(124.342, 100)).toBeCloseTo(0.05, 4);
  });

  it('is exp(-x / 2) on 2 degrees of freedom, 1 at 0, and tiny far out', () => {
    for (const x of [0.5, 3, 12, 40]) expect(chiSquareSurvival(x, 2)).toBeCloseTo(Math.exp(-x / 2), 12);
    expect(chiSquareSurvival(0, 3)).toBe(1);
    expect(chiSquareSurvival(200, 1)).toBeLessThan(1e-40);
    expect(() => chiSquareSurvival(1, 0)).toThrow(RangeError);
  });
});
