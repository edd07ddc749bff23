/**
 * Rolling-origin backtest: at each cut-off the forecaster is fitted on the periods before it only and
 * forecasts every step 1..horizon of every series; the seasonal-naive and 4-period moving-average
 * baselines forecast the same cut-offs, so the model is judged against what a planner would do anyway.
 */
import { performance } from 'node:perf_hooks';
import type { TrainerProgress } from '../../ml/trainer';
import { ForecastError } from './errors';
import { forecastWithModel } from './forecast';
import type { SeriesFrame } from './frame';
import { fitForecaster, type ForecastParams } from './fit';
import { type Accuracy, forecastAccuracy, type ForecastPoints, maseScale } from './metrics';
import { type ForecastSettings, periodDate, periodMs } from './settings';

/** Periods the moving-average baseline averages. */
export const MOVING_AVERAGE_PERIODS = 4;

/** Progress of a backtest: the cut-off being fitted and its trainer's progress. */
export interface BacktestProgress {
  cutoff: number;
  cutoffs: number;
  trainer: TrainerProgress;
}

/** Accuracy without interval coverage (the baselines have no intervals). */
export type PointAccuracy = Omit<Accuracy, 'coverage'>;

/** A backtest's result. Plain JSON. */
export interface BacktestReport {
  /** Each cut-off's first forecast period (`YYYY-MM-DD`): the fit saw only the periods before it. */
  cutoffs: string[];
  /** Training rows of each fit. */
  rowsPerFit: number[];
  model: { overall: Accuracy; perSeries: ({ id: string } & Accuracy)[] };
  baselines: {
    seasonalNaive: { overall: PointAccuracy; perSeries: ({ id: string } & PointAccuracy)[] };
    movingAverage: { overall: PointAccuracy; perSeries: ({ id: string } & PointAccuracy)[] };
  };
  /** The model's MASE of each step 1..horizon (mean over series). */
  maseByStep: number[];
  /**
   * Every point the model forecast, cut-off by cut-off: its series (index into the frame's series),
   * step, actual value, forecast and the series' MASE scale at that cut-off (the fairness gate
   * judges them per series).
   */
  points: { series: number[]; step: number[]; actual: number[]; forecast: number[]; scale: number[] };
  seconds: number;
}

/** The cut-offs (periods available to each fit), oldest first; the last is `periods - horizon`. */
export function backtestCutoffs(periods: number, settings: ForecastSettings): number[] {
  return Array.from(
    { length: settings.origins },
    (_, index) => periods - settings.horizon - (settings.origins - 1 - index) * settings.originStep,
  );
}

/** Seasonal naive from origin t: y[t+h-season], repeating the last season for steps beyond one. */
export function seasonalNaive(values: Float64Array, origin: number, step: number, season: number): number {
  return values[origin + ((step - 1) % season) + 1 - season] as number;
}

/** Moving average from origin t: the mean of the last {@link MOVING_AVERAGE_PERIODS} periods. */
export function movingAverage(values: Float64Array, origin: number): number {
  let sum = 0;
  for (let lag = 0; lag < MOVING_AVERAGE_PERIODS; lag++) sum += values[origin - lag] as number;
  return sum / MOVING_AVERAGE_PERIODS;
}

/**
 * Backtests the forecaster over the settings' cut-offs.
 *
 * @throws ForecastError when the frame is too short for the cut-offs
 */
export function backtestForecaster(
  frame: SeriesFrame,
  settings: ForecastSettings,
  params: ForecastParams,
  options: { onProgress?: (progress: BacktestProgress) => void } = {},
): BacktestReport {
  const started = performance.now();
  const cutoffs = backtestCutoffs(frame.periods, settings);
  if ((cutoffs[0] as number) < 1) {
    throw new ForecastError(
      `The frame's ${frame.periods} periods are too few for ${settings.origins} cut-offs`,
    );
  }
  const ids = frame.series.map((series) => series.id);
  const { horizon, seasonLength } = settings;
  const total = cutoffs.length * ids.length * horizon;
  const series = new Int32Array(total);
  const step = new Int32Array(total);
  const actual = new Float64Array(total);
  const scale = new Float64Array(total);
  const model = new Float64Array(total);
  const lower = new Float64Array(total);
  const upper = new Float64Array(total);
  const naive = new Float64Array(total);
  const average = new Float64Array(total);
  const rowsPerFit: number[] = [];
  let point = 0;
  cutoffs.forEach((cutoff, index) => {
    const fitted = fitForecaster(frame, settings, params, {
      until: cutoff,
      ...(options.onProgress
        ? {
            onProgress: (trainer: TrainerProgress) =>
              options.onProgress?.({ cutoff: index + 1, cutoffs: cutoffs.length, trainer }),
          }
        : {}),
    });
    rowsPerFit.push(fitted.summary.trainRows);
    const forecasts = forecastWithModel(fitted.model, fitted.state, ids, horizon);
    const origin = cutoff - 1;
    forecasts.forEach((forecast, s) => {
      const values = frame.values[s] as Float64Array;
      const seriesScale = maseScale(values, cutoff, seasonLength);
      forecast.points.forEach((forecastPoint, h) => {
        series[point] = s;
        step[point] = h + 1;
        actual[point] = values[origin + h + 1] as number;
        scale[point] = seriesScale;
        model[point] = forecastPoint.value;
        lower[point] = forecastPoint.lower;
        upper[point] = forecastPoint.upper;
        naive[point] = seasonalNaive(values, origin, h + 1, seasonLength);
        average[point] = movingAverage(values, origin);
        point += 1;
      });
    });
  });
  const points = (forecast: Float64Array, withIntervals: boolean): ForecastPoints => ({
    series,
    actual,
    forecast,
    scale,
    ...(withIntervals ? { lower, upper } : {}),
  });
  const maseByStep = Array.from({ length: horizon }, (_, h) => {
    const rows: number[] = [];
    step.forEach((value, row) => {
      if (value === h + 1) rows.push(row);
    });
    const pick = (array: Float64Array | Int32Array) => rows.map((row) => array[row] as number);
    return forecastAccuracy(
      { series: pick(series), actual: pick(actual), forecast: pick(model), scale: pick(scale) },
      ids,
    ).overall.mase;
  });
  const step0 = periodMs(settings.period);
  return {
    cutoffs: cutoffs.map((cutoff) => periodDate(frame.firstPeriod + cutoff * step0)),
    rowsPerFit,
    model: forecastAccuracy(points(model, true), ids),
    baselines: {
      seasonalNaive: forecastAccuracy(points(naive, false), ids),
      movingAverage: forecastAccuracy(points(average, false), ids),
    },
    maseByStep,
    points: {
      series: Array.from(series),
      step: Array.from(step),
      actual: Array.from(actual),
      forecast: Array.from(model),
      scale: Array.from(scale),
    },
    seconds: (performance.now() - started) / 1000,
  };
}
