import { describe, expect, it } from 'vitest';
import {
  buildFeatureRows,
  featureDefinition,
  featureNames,
  firstOrigin,
  type FeatureHistory,
} from '../../../../lifecycle/forecast/features';
import { frameSeries } from '../../../../lifecycle/forecast/frame';
import { forecastSettings } from '../../../../lifecycle/forecast/settings';
import { syntheticOrders } from './syntheticSeries';

const settings = forecastSettings();
const frame = frameSeries(
  syntheticOrders({ series: 6, weeks: 156 }),
  { timeColumn: 'week_start', target: 'orders', keyColumns: ['material', 'segment'] },
  settings,
);
const history = (values: Float64Array[]): FeatureHistory => ({
  seriesIds: frame.series.map((series) => series.id),
  values,
  firstPeriod: frame.firstPeriod,
  settings,
});

/** Every row of series 0..5 at origin t, steps 1..horizon, as plain arrays per feature. */
function rowsAt(values: Float64Array[], origin: number) {
  const n = values.length * settings.horizon;
  const series = Int32Array.from({ length: n }, (_, row) => Math.floor(row / settings.horizon));
  const step = Int32Array.from({ length: n }, (_, row) => (row % settings.horizon) + 1);
  const rows = buildFeatureRows(history(values), { series, origin: new Int32Array(n).fill(origin), step });
  return {
    level: Array.from(rows.level),
    columns: rows.table.columns.map((column) =>
      column.kind === 'numeric' ? Array.from(column.values) : Array.from(column.codes),
    ),
  };
}

describe('buildFeatureRows', () => {
  it('reads nothing after the origin: perturbing every later value leaves the rows unchanged', () => {
    for (const origin of [firstOrigin(settings), 80, 140]) {
      const before = rowsAt(frame.values, origin);
      const perturbed = frame.values.map((values) =>
        values.map((value, period) => (period > origin ? value * 7 + 1000 + period : value)),
      );
      expect(rowsAt(perturbed, origin)).toEqual(before);
      // ...while a change at the origin itself does show.
      const atOrigin = frame.values.map((values) =>
        values.map((value, period) => (period === origin ? value + 50 : value)),
      );
      expect(rowsAt(atOrigin, origin)).not.toEqual(before);
    }
  });

  it('scales by the level so a series ten times larger gets the same scaled rows', () => {
    const origin = 100;
    const tenfold = frame.values.map((values) => values.map((value) => value * 10));
    const plain = rowsAt(frame.values, origin);
    const large = rowsAt(tenfold, origin);
    const lag0 = featureNames(settings).indexOf('lag_0');
    // The level's small epsilon matters only for tiny series: compare those whose level is above 10.
    const compared = plain.level.filter((level) => level > 10).length;
    expect(compared).toBeGreaterThan(8);
    plain.columns[lag0]?.forEach((value, row) => {
      if ((plain.level[row] as number) <= 10) return;
      expect(Math.abs((large.columns[lag0]?.[row] as number) - value)).toBeLessThan(
        0.02 * Math.max(value, 0.1),
      );
    });
  });

  it('names its features and tags them with a version and a hash of the list', () => {
    const names = featureNames(settings);
    const rows = buildFeatureRows(history(frame.values), {
      series: Int32Array.of(0),
      origin: Int32Array.of(100),
      step: Int32Array.of(3),
    });
    expect(rows.table.columnNames).toEqual(names);
    expect(rows.table.value('step', 0)).toBe(3);
    expect(rows.table.value('series', 0)).toBe(frame.series[0]?.id);
    expect(names).toContain('target_working_days');
    expect(featureDefinition(settings)).toEqual(featureDefinition(forecastSettings()));
    expect(featureDefinition(forecastSettings({ period: 'day' })).hash).not.toBe(
      featureDefinition(settings).hash,
    );
  });

  it('gives the target period its working days from the shop calendar', () => {
    // 2025-12-22 is week 155 of the synthetic history (start 2023-01-02): Christmas shutdown from the 24th.
    const origin = 150;
    const step = 155 - origin;
    const rows = buildFeatureRows(history(frame.values), {
      series: Int32Array.of(0),
      origin: Int32Array.of(origin),
      step: Int32Array.of(step),
    });
    expect(rows.table.value('target_working_days', 0)).toBe(2);
    expect(rows.table.value('target_month', 0)).toBe(12);
  });
});
