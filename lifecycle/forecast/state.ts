/**
 * What serving needs besides the model to forecast from a trained version's origin: plain JSON with
 * the settings, the series, the tail of each series (every period the features read), the interval
 * quantiles per step and the feature definition tag, so a server with other features refuses it.
 */
import { ForecastError } from './errors';
import { type FeatureDefinition, type FeatureHistory, featureDefinition } from './features';
import type { ForecastSettings } from './settings';

/**
 * The unit a series' interval is measured in: the square root of its level. Order counts scatter
 * like Poisson counts, their spread growing with the square root of their size, so residuals over
 * this unit have one distribution for small and large series and one pair of quantiles fits both
 * (quantiles of level-scaled residuals gave small series far too narrow intervals, large ones too
 * wide).
 */
export function intervalUnit(level: number): number {
  return Math.sqrt(level);
}

/** Residual quantiles of one step in {@link intervalUnit}s, from the calibration rows. */
export interface StepInterval {
  step: number;
  /** Times the series' interval unit, added to its forecast for the lower bound (usually negative). */
  lower: number;
  /** Times the series' interval unit, added to its forecast for the upper bound. */
  upper: number;
  /** Calibration residuals the quantiles came from (neighbouring steps pooled when few). */
  rows: number;
}

/** One series as the state knows it. */
export interface StateSeries {
  id: string;
  key: string[];
  /** The series' level at the origin (what its features and forecasts are scaled by). */
  level: number;
  /** MASE scale over the training periods, for monitoring arrived periods. */
  maseScale: number;
}

/** A trained forecaster's serving state; plain JSON. */
export interface ForecastState {
  featureDefinition: FeatureDefinition;
  settings: ForecastSettings;
  keyColumns: string[];
  /** Sorted by id; the series feature's categories in this order. */
  series: StateSeries[];
  featureNames: string[];
  /** Start (epoch ms) of each tail's first period. */
  tailFirstPeriod: number;
  /** Per series, the values of the last periods up to and including the origin. */
  tails: number[][];
  /** Start (epoch ms) of the origin period: the last period the model saw; step 1 is the next one. */
  originPeriod: number;
  intervals: StepInterval[];
}

/**
 * Refuses a state whose features this code does not build (another feature version or list).
 *
 * @throws ForecastError naming both tags
 */
export function checkFeatureDefinition(state: ForecastState): void {
  const here = featureDefinition(state.settings);
  const there = state.featureDefinition;
  if (there.version !== here.version || there.hash !== here.hash) {
    throw new ForecastError(
      `The forecasting state was trained with features ${there.version} (${there.hash}) but this server builds ` +
        `${here.version} (${here.hash}): serve it with the code version that trained it, or retrain`,
    );
  }
}

/** The state's tails as the history the feature rows are built from. */
export function stateHistory(state: ForecastState): FeatureHistory {
  return {
    seriesIds: state.series.map((series) => series.id),
    values: state.tails.map((tail) => Float64Array.from(tail)),
    firstPeriod: state.tailFirstPeriod,
    settings: state.settings,
  };
}
