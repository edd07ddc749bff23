import { beforeAll, describe, expect, it } from 'vitest';
import { backtestForecaster, type BacktestReport } from '../../../../lifecycle/forecast/backtest';
import { forecastWithModel, assembleForecast, forecastInputs } from '../../../../lifecycle/forecast/forecast';
import { fitForecaster, type FittedForecaster } from '../../../../lifecycle/forecast/fit';
import { frameSeries, type SeriesFrame } from '../../../../lifecycle/forecast/frame';
import { scoreArrivedForecasts } from '../../../../lifecycle/forecast/monitor';
import { forecastSettings } from '../../../../lifecycle/forecast/settings';
import type { ForecastState } from '../../../../lifecycle/forecast/state';
import { encodeFeatures } from '../../../../ml/dataset';
import { predictGbdt } from '../../../../ml/gbdt/predict';
import { exportOnnx, OnnxScorer } from '../../../../ml/onnx';
import { syntheticOrders } from './syntheticSeries';

const settings = forecastSettings({ period: 'week' });
const params = { iterations: 150 };
const columns = { timeColumn: 'week_start', target: 'orders', keyColumns: ['material', 'segment'] };

let frame: SeriesFrame;
let fitted: FittedForecaster;
let report: BacktestReport;
const ids = () => frame.series.map((series) => series.id);

beforeAll(() => {
  frame = frameSeries(syntheticOrders({ series: 40, weeks: 156 }), columns, settings);
  report = backtestForecaster(frame, settings, params);
  // Fitted on all but the last horizon, so monitoring has periods that arrived after the origin.
  fitted = fitForecaster(frame, settings, params, { until: frame.periods - settings.horizon });
}, 120_000);

describe('backtestForecaster', () => {
  it('beats 1 and the seasonal-naive baseline on MASE over the same cut-offs', () => {
    expect(report.cutoffs).toHaveLength(settings.origins);
    expect(report.rowsPerFit.every((rows) => rows > 10_000)).toBe(true);
    expect(report.model.overall.mase).toBeLessThan(0.8);
    expect(report.model.overall.mase).toBeLessThan(report.baselines.seasonalNaive.overall.mase * 0.85);
    expect(report.model.overall.mase).toBeLessThan(report.baselines.movingAverage.overall.mase);
    expect(report.maseByStep).toHaveLength(settings.horizon);
    expect(report.model.perSeries).toHaveLength(40);
    expect(Math.abs(report.model.overall.bias ?? 1)).toBeLessThan(0.1);
  });

  it('has 80 % intervals that hold between 70 % and 90 % of the actuals', () => {
    expect(report.model.overall.coverage).toBeGreaterThanOrEqual(0.7);
    expect(report.model.overall.coverage).toBeLessThanOrEqual(0.9);
  });

  it('covers small series about as well as large ones', () => {
    const bySize = report.model.perSeries
      .map((entry, index) => ({
        size: (frame.values[index] as Float64Array).reduce((a, b) => a + b, 0),
        entry,
      }))
      .sort((a, b) => a.size - b.size);
    const meanCoverage = (part: typeof bySize) =>
      part.reduce((sum, { entry }) => sum + (entry.coverage ?? 0), 0) / part.length;
    expect(meanCoverage(bySize.slice(0, 10))).toBeGreaterThan(0.65);
    expect(meanCoverage(bySize.slice(-10))).toBeGreaterThan(0.65);
    expect(meanCoverage(bySize.slice(-10))).toBeLessThan(0.92);
  });

  it('spaces the cut-offs originStep apart, the last a horizon before the end', () => {
    const day = (text: string) => Date.parse(`${text}T00:00:00Z`);
    const last = day(report.cutoffs.at(-1) as string);
    expect(last).toBe(frame.firstPeriod + (frame.periods - settings.horizon) * 7 * 86_400_000);
    expect(last - day(report.cutoffs[0] as string)).toBe(
      (settings.origins - 1) * settings.originStep * 7 * 86_400_000,
    );
  });
});

describe('serving a fitted forecaster', () => {
  it('scores forecastInputs and assembles the same forecasts as forecastWithModel', () => {
    const some = ids().slice(3, 9);
    const table = forecastInputs(fitted.state, some, settings.horizon);
    expect(table.rowCount).toBe(some.length * settings.horizon);
    const scores = predictGbdt(fitted.model, encodeFeatures(table, fitted.model.features));
    const assembled = assembleForecast(fitted.state, some, settings.horizon, scores);
    expect(assembled).toEqual(forecastWithModel(fitted.model, fitted.state, some, settings.horizon));
    const first = assembled[0];
    expect(first?.id).toBe(some[0]);
    expect(first?.points).toHaveLength(settings.horizon);
    for (const point of first?.points ?? []) {
      expect(point.period).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(point.lower).toBeLessThanOrEqual(point.value);
      expect(point.upper).toBeGreaterThanOrEqual(point.value);
      expect(point.lower).toBeGreaterThanOrEqual(0);
    }
    // Step 1 is the week after the origin.
    expect(Date.parse(`${first?.points[0]?.period}T00:00:00Z`)).toBe(
      fitted.state.originPeriod + 7 * 86_400_000,
    );
  });

  it('scores the same on onnxruntime as in JS (parity within 1e-4 relative)', async () => {
    const table = forecastInputs(fitted.state, ids(), settings.horizon);
    const scorer = await OnnxScorer.load(exportOnnx(fitted.model));
    try {
      const onnx = (await scorer.scoreTable(table)).prediction as Float64Array;
      const js = predictGbdt(fitted.model, encodeFeatures(table, fitted.model.features));
      expect(onnx).toHaveLength(js.length);
      js.forEach((value, row) => {
        expect(Math.abs((onnx[row] as number) - value)).toBeLessThanOrEqual(
          1e-4 * Math.max(1, Math.abs(value)),
        );
      });
    } finally {
      await scorer.release();
    }
  });

  it('keeps a state that round-trips through JSON and forecasts the same after it', () => {
    const revived = JSON.parse(JSON.stringify(fitted.state)) as ForecastState;
    expect(revived).toEqual(fitted.state);
    expect(forecastWithModel(fitted.model, revived, ids(), 4)).toEqual(
      forecastWithModel(fitted.model, fitted.state, ids(), 4),
    );
    expect(revived.intervals).toHaveLength(settings.horizon);
    expect(revived.tails.every((tail) => tail.length === revived.tails[0]?.length)).toBe(true);
  });

  it('refuses an unknown series (naming known ones), a horizon beyond the trained one and other features', () => {
    expect(() => forecastInputs(fitted.state, ['titanium / segment-0'], 2)).toThrow(
      /Series "titanium \/ segment-0" is not one this version was trained on; it knows "aluminium \/ segment-0"/,
    );
    expect(() => forecastInputs(fitted.state, ids(), 9)).toThrow(/horizon of 9 .* trained for 1 to 8 weeks/);
    const other = { ...fitted.state, featureDefinition: { version: 'forecast-features/0', hash: 'abc' } };
    expect(() => forecastInputs(other, ids(), 2)).toThrow(
      /trained with features forecast-features\/0 \(abc\)/,
    );
  });
});

describe('scoreArrivedForecasts', () => {
  it('scores the version forecasts against the periods that arrived after its origin', () => {
    const score = scoreArrivedForecasts(fitted.model, fitted.state, frame);
    expect(score.periodsScored).toBe(settings.horizon);
    expect(score.seriesMissing).toEqual([]);
    expect(score.perSeries).toHaveLength(40);
    expect(score.overall.points).toBe(40 * settings.horizon);
    expect(score.overall.mase).toBeLessThan(1);
    expect(score.overall.coverage).toBeGreaterThan(0.5);
    // On the pattern it learnt, few series' totals stray beyond the nightly check's bias alarm.
    expect(score.seriesBias).toHaveLength(40);
    expect(score.seriesBias.filter((series) => Math.abs(series.z ?? 0) > 4).length).toBeLessThanOrEqual(1);
  });

  it("measures a series' bias in standard deviations of its arrived total", () => {
    const before = scoreArrivedForecasts(fitted.model, fitted.state, frame).seriesBias;
    // The biggest series loses 40 % of every arrived period (a large customer left).
    const biggest = before.reduce((best, entry) => (entry.actual > best.actual ? entry : best));
    const index = frame.series.findIndex((entry) => entry.id === biggest.id);
    const lost = {
      ...frame,
      values: frame.values.map((values, at) =>
        at === index
          ? values.map((value, t) => (t > frame.periods - 1 - settings.horizon ? value * 0.6 : value))
          : values,
      ),
    };
    const after = scoreArrivedForecasts(fitted.model, fitted.state, lost).seriesBias;
    const id = biggest.id;
    const series = after.find((entry) => entry.id === id);
    expect(series?.periods).toBeGreaterThanOrEqual(3);
    expect(series?.actual).toBeLessThan((series?.forecast ?? 0) * 0.7);
    expect(Math.abs(biggest.z ?? 0)).toBeLessThan(4);
    expect(series?.z).toBeLessThan(-4);
    expect(after.filter((entry) => entry.id !== id)).toEqual(before.filter((entry) => entry.id !== id));
  });

  it('keeps the run of latest periods furthest off, so a recent loss is not diluted by the weeks before it', () => {
    const before = scoreArrivedForecasts(fitted.model, fitted.state, frame).seriesBias;
    const biggest = before.reduce((best, entry) => (entry.actual > best.actual ? entry : best));
    const index = frame.series.findIndex((entry) => entry.id === biggest.id);
    // The last 3 of the 8 arrived periods lose 40 %.
    const lost = {
      ...frame,
      values: frame.values.map((values, at) =>
        at === index ? values.map((value, t) => (t >= frame.periods - 3 ? value * 0.6 : value)) : values,
      ),
    };
    const series = scoreArrivedForecasts(fitted.model, fitted.state, lost).seriesBias.find(
      (entry) => entry.id === biggest.id,
    );
    expect(series?.periods).toBe(3);
    expect(series?.z).toBeLessThan(-4);
  });

  it('scores only the periods that have arrived', () => {
    const shorter = {
      ...frame,
      periods: frame.periods - 5,
      values: frame.values.map((values) => values.slice(0, -5)),
    };
    expect(scoreArrivedForecasts(fitted.model, fitted.state, shorter).periodsScored).toBe(3);
    const none = {
      ...frame,
      periods: frame.periods - 8,
      values: frame.values.map((values) => values.slice(0, -8)),
    };
    expect(scoreArrivedForecasts(fitted.model, fitted.state, none)).toMatchObject({ periodsScored: 0 });
  });
});
