/**
 * Monitoring a serving forecaster: what the version answered from its origin, scored against the
 * periods that have arrived since. Pure: the caller brings the model, the state and a fresh frame.
 */
import type { GbdtModel } from '../../ml/gbdt/model';
import { forecastWithModel, type SeriesForecast } from './forecast';
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
  forecasts.forEach((seriesForecast, position) => {
    const values = frame.values[frameIndex.get(seriesForecast.id) as number] as Float64Array;
    seriesForecast.points.forEach((point, h) => {
      series.push(position);
      // Periods before the frame's first one count as arrived with nothing in them.
      actual.push(originIndex + h + 1 >= 0 ? (values[originIndex + h + 1] as number) : 0);
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
  };
}
