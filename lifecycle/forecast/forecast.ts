/**
 * Serving's forecast from a trained version: the rows to score (built by the same feature function as
 * training), and the scores turned back into per-series forecasts with intervals. Scoring itself is
 * the caller's (onnxruntime in serving, the JS trees in {@link forecastWithModel}).
 */
import { encodeFeatures } from '../../ml/dataset';
import type { GbdtModel } from '../../ml/gbdt/model';
import type { Table } from '../../ml/table';
import { trainerOfModel } from '../../ml/trainers';
import { ForecastError } from './errors';
import { buildFeatureRows, historyLength, workingShare } from './features';
import { periodDate, periodMs } from './settings';
import { checkFeatureDefinition, type ForecastState, intervalUnit, stateHistory } from './state';

/** One forecast period of a series. */
export interface ForecastPoint {
  /** Start of the period, `YYYY-MM-DD`. */
  period: string;
  value: number;
  lower: number;
  upper: number;
}

/** A series' forecast, steps 1..horizon in order. */
export interface SeriesForecast {
  id: string;
  key: string[];
  points: ForecastPoint[];
}

/** Index of each asked series in the state, refusing unknown ones and a horizon beyond the trained one. */
function resolveRequest(state: ForecastState, seriesIds: readonly string[], horizon: number): number[] {
  checkFeatureDefinition(state);
  if (!Number.isInteger(horizon) || horizon < 1 || horizon > state.settings.horizon) {
    throw new ForecastError(
      `A horizon of ${horizon} cannot be forecast: this version was trained for 1 to ${state.settings.horizon} ${state.settings.period}s`,
    );
  }
  const indexOf = new Map(state.series.map((series, index) => [series.id, index]));
  return seriesIds.map((id) => {
    const index = indexOf.get(id);
    if (index === undefined) {
      const known = state.series.map((series) => `"${series.id}"`);
      throw new ForecastError(
        `Series "${id}" is not one this version was trained on; it knows ${known.slice(0, 20).join(', ')}` +
          (known.length > 20 ? ` and ${known.length - 20} more` : ''),
      );
    }
    return index;
  });
}

/**
 * The feature rows to score for `seriesIds`, steps 1..horizon each, series by series.
 *
 * @throws ForecastError for an unknown series, a horizon beyond the trained one or a state whose
 *   features this code does not build
 */
export function forecastInputs(state: ForecastState, seriesIds: readonly string[], horizon: number): Table {
  const indices = resolveRequest(state, seriesIds, horizon);
  const n = indices.length * horizon;
  const series = new Int32Array(n);
  const origin = new Int32Array(n).fill(historyLength(state.settings) - 1);
  const step = new Int32Array(n);
  indices.forEach((index, position) => {
    for (let h = 1; h <= horizon; h++) {
      series[position * horizon + h - 1] = index;
      step[position * horizon + h - 1] = h;
    }
  });
  return buildFeatureRows(stateHistory(state), { series, origin, step }).table;
}

/**
 * Per-series forecasts from the scores of {@link forecastInputs}' rows (level-scaled): unscaled by
 * the series' level, clamped at 0, with the state's interval quantiles of each step (in the
 * series' interval unit).
 *
 * @throws ForecastError as {@link forecastInputs}, or when the scores do not match the rows
 */
export function assembleForecast(
  state: ForecastState,
  seriesIds: readonly string[],
  horizon: number,
  scores: Float64Array,
): SeriesForecast[] {
  const indices = resolveRequest(state, seriesIds, horizon);
  if (scores.length !== indices.length * horizon) {
    throw new ForecastError(`Got ${scores.length} scores for ${indices.length} series x ${horizon} steps`);
  }
  const step = periodMs(state.settings.period);
  return indices.map((index, position) => {
    const series = state.series[index] as (typeof state.series)[number];
    const points: ForecastPoint[] = [];
    for (let h = 1; h <= horizon; h++) {
      const score = scores[position * horizon + h - 1] as number;
      const interval = state.intervals[h - 1] ?? { lower: 0, upper: 0 };
      // The level is per normal period: the target period's working days scale it (0 when closed).
      const scale = series.level * workingShare(state.originPeriod + h * step, state.settings);
      const value = score * scale;
      const unit = intervalUnit(scale);
      points.push({
        period: periodDate(state.originPeriod + h * step),
        value: Math.max(0, value),
        lower: Math.max(0, value + interval.lower * unit),
        upper: Math.max(0, value + interval.upper * unit),
      });
    }
    return { id: series.id, key: [...series.key], points };
  });
}

/** Forecasts with the model's JS predict (the trainer registry's), for monitoring, backtests and tests. */
export function forecastWithModel(
  model: GbdtModel,
  state: ForecastState,
  seriesIds: readonly string[],
  horizon: number,
): SeriesForecast[] {
  const table = forecastInputs(state, seriesIds, horizon);
  const scores = trainerOfModel(model).predict(model, encodeFeatures(table, model.features));
  return assembleForecast(state, seriesIds, horizon, scores);
}
