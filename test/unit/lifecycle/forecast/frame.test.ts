import { describe, expect, it } from 'vitest';
import { ForecastError } from '../../../../lifecycle/forecast/errors';
import { frameSeries } from '../../../../lifecycle/forecast/frame';
import { forecastSettings, minimumPeriods } from '../../../../lifecycle/forecast/settings';
import { categoricalFromLabels, Table } from '../../../../ml/table';
import { SYNTHETIC_START, syntheticOrders } from './syntheticSeries';

const WEEK = 7 * 86_400_000;
const columns = { timeColumn: 'week_start', target: 'orders', keyColumns: ['material', 'segment'] };

/** A tiny table: settings small enough that a few weeks are enough. */
const small = forecastSettings({ horizon: 2, seasonLength: 4, origins: 1, validationPeriods: 1 });

function table(rows: { time: number; material: string; orders: number }[]): Table {
  return new Table([
    { kind: 'numeric', name: 'week_start', values: Float64Array.from(rows.map((row) => row.time)) },
    categoricalFromLabels(
      'material',
      rows.map((row) => row.material),
    ),
    categoricalFromLabels(
      'segment',
      rows.map(() => 'a'),
    ),
    { kind: 'numeric', name: 'orders', values: Float64Array.from(rows.map((row) => row.orders)) },
  ]);
}

const weeks = (count: number, material: string) =>
  Array.from({ length: count }, (_, week) => ({
    time: SYNTHETIC_START + week * WEEK + 86_400_000,
    material,
    orders: 1,
  }));

describe('frameSeries', () => {
  it('sums rows per series and Monday week, fills 0 where a series has no row, sorts the ids', () => {
    const rows = [
      ...weeks(minimumPeriods(small), 'steel'),
      { time: SYNTHETIC_START + 2 * 86_400_000, material: 'steel', orders: 2 },
      { time: SYNTHETIC_START + 3 * WEEK, material: 'copper', orders: 5 },
    ];
    const frame = frameSeries(table(rows), columns, small);
    expect(frame.firstPeriod).toBe(SYNTHETIC_START);
    expect(new Date(frame.firstPeriod).getUTCDay()).toBe(1);
    expect(frame.periods).toBe(minimumPeriods(small));
    expect(frame.series).toEqual([
      { id: 'copper / a', key: ['copper', 'a'] },
      { id: 'steel / a', key: ['steel', 'a'] },
    ]);
    expect(Array.from(frame.values[0] as Float64Array).slice(0, 5)).toEqual([0, 0, 0, 5, 0]);
    expect((frame.values[1] as Float64Array)[0]).toBe(3);
    expect((frame.values[1] as Float64Array)[1]).toBe(1);
  });

  it('keeps the synthetic history: 3 years of weeks, every series', () => {
    const frame = frameSeries(syntheticOrders({ series: 12, weeks: 156 }), columns, forecastSettings());
    expect(frame.periods).toBe(156);
    expect(frame.series).toHaveLength(12);
    expect(frame.values.every((values) => values.length === 156)).toBe(true);
  });

  it('names the column, the row and what to do for bad data', () => {
    const good = weeks(minimumPeriods(small), 'steel');
    const bad = (change: Partial<(typeof good)[number]>) =>
      table(good.map((row, index) => (index === 2 ? { ...row, ...change } : row)));
    expect(() => frameSeries(bad({ orders: Number.NaN }), columns, small)).toThrow(
      /Column "orders" is missing in row 3: drop the row or fill it/,
    );
    expect(() => frameSeries(bad({ orders: -1 }), columns, small)).toThrow(
      /Column "orders" is negative \(-1\) in row 3/,
    );
    expect(() => frameSeries(bad({ time: Number.NaN }), columns, small)).toThrow(
      /Column "week_start" has no time in row 3/,
    );
    expect(() => frameSeries(table(good), { ...columns, target: 'material' }, small)).toThrow(
      /Column "material" \(the target\) holds text/,
    );
    expect(() => frameSeries(table(good), { ...columns, target: 'qty' }, small)).toThrow(
      /Column "qty" .* is not in the table/,
    );
    expect(() => frameSeries(table(good.slice(0, 5)), columns, small)).toThrow(ForecastError);
    expect(() => frameSeries(table(good.slice(0, 5)), columns, small)).toThrow(
      /spans 5 weeks in column "week_start" but forecasting needs at least 9/,
    );
  });
});

describe('forecastSettings', () => {
  it('fills the period defaults and refuses settings that cannot work', () => {
    expect(forecastSettings()).toMatchObject({
      period: 'week',
      horizon: 8,
      seasonLength: 52,
      intervalLevel: 0.8,
    });
    expect(forecastSettings({ period: 'day' })).toMatchObject({ seasonLength: 7, horizon: 14 });
    expect(() => forecastSettings({ horizon: 0 })).toThrow(/settings.horizon is 0/);
    expect(() => forecastSettings({ intervalLevel: 1.2 })).toThrow(/intervalLevel/);
    expect(() => forecastSettings({ origins: 0 })).toThrow(/settings.origins is 0/);
  });
});
