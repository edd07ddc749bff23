/**
 * Monitoring a serving forecaster: what the version answered from its origin, scored against the
 * periods that have arrived since. Pure: the caller brings the model, the state and a fresh frame.
 */
import type { GbdtModel } from '../../ml/gbdt/model';
import { normalQuantile } from '../../ml/statistics';
import { type ForecastPoint, forecastWithModel, type SeriesForecast } from './forecast';
import type { SeriesFrame } from './frame';
import { type AccuracyReport, forecastAccuracy } from './metrics';
import { periodMs } from './settings';
import type { ForecastState } from './state';

/** The arrived periods' accuracy of a version's forecasts. */
export interface ArrivedForecastScore extends AccuracyReport {
  /** Periods after the origin that have arrived and were scored (at most the horizon). */
  periodsScored: number;
  /** Series the state forecast that the frame does not hold (not scored). */
  seriesMissing: string[];
  /** Each scored series' arrived total against its forecast total, in the order of the state. */
  seriesBias: SeriesBias[];
}

/** Fewest periods a bias is summed over: fewer say little beyond each point's interval. */
export const BIAS_MIN_PERIODS = 3;

/**
 * A series' latest arrived periods summed: what came against what was forecast, and how far apart
 * in standard deviations of the sum. Each point's deviation is read from its interval (calibrated
 * on the backtest: upper - lower spans 2 z((1 + level) / 2) of them), so a series that lost a third
 * of its orders stands out and a small noisy one does not. Of the runs of BIAS_MIN_PERIODS or more
 * periods that end at the latest one, the one furthest off is kept: a customer that left three
 * weeks ago shows in those three weeks, and the weeks before it would only dilute them.
 */
export interface SeriesBias {
  id: string;
  key: string[];
  /** Periods summed: the latest ones that arrived. */
  periods: number;
  actual: number;
  forecast: number;
  /** (actual - forecast) over the sum's standard deviation; null when the intervals have no width. */
  z: number | null;
}

function seriesBiasOf(
  forecast: SeriesForecast,
  actualAt: (step: number) => number,
  intervalLevel: number,
): SeriesBias {
  const spread = 2 * normalQuantile((1 + intervalLevel) / 2);
  const arrived = forecast.points.length;
  let worst: SeriesBias = { id: forecast.id, key: forecast.key, periods: 0, actual: 0, forecast: 0, z: null };
  let actual = 0;
  let forecastSum = 0;
  let variance = 0;
  // Runs ending at the latest period, growing backwards one period at a time.
  for (let step = arrived - 1; step >= 0; step--) {
    const point = forecast.points[step] as ForecastPoint;
    actual += actualAt(step);
    forecastSum += point.value;
    variance += ((point.upper - point.lower) / spread) ** 2;
    const periods = arrived - step;
    const z = variance > 0 ? (actual - forecastSum) / Math.sqrt(variance) : null;
    const first = periods === Math.min(arrived, BIAS_MIN_PERIODS);
    if (first || (periods > BIAS_MIN_PERIODS && z !== null && Math.abs(z) > Math.abs(worst.z ?? 0))) {
      worst = { id: forecast.id, key: forecast.key, periods, actual, forecast: forecastSum, z };
    }
  }
  return worst;
}

/**
 * Scores the version's forecasts (steps 1..horizon from its origin) against the periods of `frame`
 * after the origin, with each series' MASE scale from the state (its training periods). The
 * forecasts come from the model's JS trees, or from `forecaster` (serving's ONNX scores, say).
 */
export function scoreArrivedForecasts(
  forecaster: GbdtModel | ((seriesIds: readonly string[], horizon: number) => SeriesForecast[]),
  state: ForecastState,
  frame: SeriesFrame,
): ArrivedForecastScore {
  const step = periodMs(state.settings.period);
  const originIndex = Math.round((state.originPeriod - frame.firstPeriod) / step);
  const periodsScored = Math.max(0, Math.min(state.settings.horizon, frame.periods - 1 - originIndex));
  const frameIndex = new Map(frame.series.map((series, index) => [series.id, index]));
  const scoredIds = state.series.map((series) => series.id).filter((id) => frameIndex.has(id));
  const seriesMissing = state.series.map((series) => series.id).filter((id) => !frameIndex.has(id));
  if (periodsScored === 0 || scoredIds.length === 0) {
    return {
      ...forecastAccuracy({ series: [], actual: [], forecast: [], scale: [] }, []),
      periodsScored,
      seriesMissing,
      seriesBias: [],
    };
  }
  const scaleOf = new Map(state.series.map((series) => [series.id, series.maseScale]));
  const forecasts =
    typeof forecaster === 'function'
      ? forecaster(scoredIds, periodsScored)
      : forecastWithModel(forecaster, state, scoredIds, periodsScored);
  const series: number[] = [];
  const actual: number[] = [];
  const forecast: number[] = [];
  const scale: number[] = [];
  const lower: number[] = [];
  const upper: number[] = [];
  const seriesBias: SeriesBias[] = [];
  forecasts.forEach((seriesForecast, position) => {
    const values = frame.values[frameIndex.get(seriesForecast.id) as number] as Float64Array;
    // Periods before the frame's first one count as arrived with nothing in them.
    const actualAt = (h: number) => (originIndex + h + 1 >= 0 ? (values[originIndex + h + 1] as number) : 0);
    seriesBias.push(seriesBiasOf(seriesForecast, actualAt, state.settings.intervalLevel));
    seriesForecast.points.forEach((point, h) => {
      series.push(position);
      actual.push(actualAt(h));
      forecast.push(point.value);
      scale.push(scaleOf.get(seriesForecast.id) as number);
      lower.push(point.lower);
      upper.push(point.upper);
    });
  });
  return {
    ...forecastAccuracy({ series, actual, forecast, scale, lower, upper }, scoredIds),
    periodsScored,
    seriesMissing,
    seriesBias,
  };
}
