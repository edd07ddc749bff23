/**
 * The forecast's feature rows: ONE function builds the row of (series, origin t, step h) for training,
 * backtest and serving alike, so train/serve parity holds by construction. A row reads only values at
 * or before its origin t, plus the calendar of its target period (known in advance). Values are
 * divided by the series' level at the origin (the mean of its last 13 periods plus a small epsilon),
 * so one model fits series of any size; the target is scaled the same way (see fit.ts).
 */
import { createHash } from 'node:crypto';
import { isoWeekOf, monthOf, dayOfWeekOf } from '../features/expression/calendar';
import type { Column } from '../../ml/table';
import { Table } from '../../ml/table';
import { MS_PER_DAY, workingDaysIn } from './calendar';
import { type ForecastSettings, periodMs } from './settings';

/** Bumped whenever a feature's meaning changes, so a server with other features refuses a state. */
export const FEATURE_VERSION = 'forecast-features/2';

/** Lags y[t], y[t-1], ... y[t-LAGS+1] enter as features. */
export const LAGS = 4;

/** Periods averaged for a series' level at the origin. */
export const LEVEL_WINDOW = 13;

/**
 * Added to the level so a dormant series (all zeros lately) does not blow its scaled values up; the
 * targets are counts per period, so a tenth of one is small.
 */
export const LEVEL_EPSILON = 0.1;

/** The categorical feature naming the series. */
export const SERIES_FEATURE = 'series';

/** Where the rows' history comes from: the full frame in training, the state's tails in serving. */
export interface FeatureHistory {
  /** Series ids; a row's `series` indexes them, and they are the series feature's categories. */
  seriesIds: readonly string[];
  /** Per series, its values from `firstPeriod` on, one per period. */
  values: readonly Float64Array[];
  /** Start (epoch ms) of the period at index 0 of every `values` array. */
  firstPeriod: number;
  settings: ForecastSettings;
}

/** The rows to build: row i is (series[i], origin[i], step[i]), origin an index into `values`. */
export interface FeatureRequests {
  series: Int32Array;
  origin: Int32Array;
  step: Int32Array;
}

/**
 * Built rows: the feature table, each row's level at its origin, and its scale: the level times the
 * target period's share of a normal period's working days (what the target is divided by in
 * training and the score multiplied by in serving; 0 for a period the shop is closed).
 */
export interface FeatureRows {
  table: Table;
  level: Float64Array;
  scale: Float64Array;
}

/** Working days in a normal period: a week's five, a day's one. */
function normalWorkingDays(settings: ForecastSettings): number {
  return settings.period === 'week' ? 5 : 1;
}

/** The share of a normal period's working days the period starting at `start` (epoch ms) has. */
export function workingShare(start: number, settings: ForecastSettings): number {
  const days = periodMs(settings.period) / MS_PER_DAY;
  return workingDaysIn(Math.round(start / MS_PER_DAY), days) / normalWorkingDays(settings);
}

/** The feature names, in table order, for the settings' period. */
export function featureNames(settings: ForecastSettings): string[] {
  return [
    'step',
    ...Array.from({ length: LAGS }, (_, lag) => `lag_${lag}`),
    'mean_4',
    'mean_13',
    'mean_season',
    'seasonal',
    'seasonal_mean_3',
    'seasonal_ratio',
    'target_working_days',
    'seasonal_working_days',
    'origin_working_days',
    settings.period === 'week' ? 'target_week_of_year' : 'target_day_of_week',
    'target_month',
    'log_level',
    SERIES_FEATURE,
  ];
}

/** The feature definition tag stored with a state: the version and a hash of the feature list. */
export interface FeatureDefinition {
  version: string;
  hash: string;
}

/** The tag of the features {@link buildFeatureRows} builds for these settings. */
export function featureDefinition(settings: ForecastSettings): FeatureDefinition {
  const described = JSON.stringify({
    names: featureNames(settings),
    lags: LAGS,
    levelWindow: LEVEL_WINDOW,
    levelEpsilon: LEVEL_EPSILON,
    seasonLength: settings.seasonLength,
    period: settings.period,
  });
  return {
    version: FEATURE_VERSION,
    hash: createHash('sha256').update(described).digest('hex').slice(0, 16),
  };
}

/** The earliest origin index with a full season of history behind it. */
export function firstOrigin(settings: ForecastSettings): number {
  return Math.max(settings.seasonLength, LEVEL_WINDOW, LAGS);
}

/** Periods of history (ending at the origin) every feature of a row reads: the serving tail's length. */
export function historyLength(settings: ForecastSettings): number {
  return firstOrigin(settings) + 1;
}

/** Mean of values[from..to] (inclusive), clipped at index 0. */
function windowMean(values: Float64Array, from: number, to: number): number {
  const start = Math.max(0, from);
  let sum = 0;
  for (let index = start; index <= to; index++) sum += values[index] as number;
  return to >= start ? sum / (to - start + 1) : Number.NaN;
}

/**
 * A series' level at origin t: what a normal period of its last {@link LEVEL_WINDOW} brought, per
 * working day (holidays and shutdowns do not pull it down), plus epsilon. `share(i)` is period i's
 * share of a normal period's working days; without it every period counts as normal.
 */
export function levelAt(values: Float64Array, origin: number, share?: (index: number) => number): number {
  if (!share) return windowMean(values, origin - LEVEL_WINDOW + 1, origin) + LEVEL_EPSILON;
  let sum = 0;
  let shares = 0;
  for (let index = Math.max(0, origin - LEVEL_WINDOW + 1); index <= origin; index++) {
    sum += values[index] as number;
    shares += share(index);
  }
  return (shares > 0 ? sum / shares : 0) + LEVEL_EPSILON;
}

interface PeriodCalendar {
  workingDays: number;
  weekOrDay: number;
  month: number;
}

/**
 * Builds the feature rows of (series, origin, step) requests. Reads `values[s][0..origin]` only, and
 * the calendar of the target period `origin + step` and of the period whose value is the seasonal feature.
 */
export function buildFeatureRows(history: FeatureHistory, requests: FeatureRequests): FeatureRows {
  const { settings, values, firstPeriod } = history;
  const season = settings.seasonLength;
  const step = periodMs(settings.period);
  const daysPerPeriod = step / MS_PER_DAY;
  const n = requests.series.length;
  const names = featureNames(settings);
  const numeric = names.slice(0, -1).map(() => new Float64Array(n));
  const level = new Float64Array(n);
  const scale = new Float64Array(n);
  const normal = normalWorkingDays(settings);
  const calendarCache = new Map<number, PeriodCalendar>();
  const calendarOf = (periodIndex: number): PeriodCalendar => {
    let entry = calendarCache.get(periodIndex);
    if (!entry) {
      const start = firstPeriod + periodIndex * step;
      entry = {
        workingDays: workingDaysIn(Math.round(start / MS_PER_DAY), daysPerPeriod),
        weekOrDay: settings.period === 'week' ? isoWeekOf(start) : dayOfWeekOf(start),
        month: monthOf(start),
      };
      calendarCache.set(periodIndex, entry);
    }
    return entry;
  };
  for (let row = 0; row < n; row++) {
    const series = values[requests.series[row] as number] as Float64Array;
    const t = requests.origin[row] as number;
    const h = requests.step[row] as number;
    const rowLevel = levelAt(series, t, (index) => calendarOf(index).workingDays / normal);
    level[row] = rowLevel;
    scale[row] = (rowLevel * calendarOf(t + h).workingDays) / normal;
    let column = 0;
    const put = (value: number) => {
      (numeric[column++] as Float64Array)[row] = value;
    };
    // A period's value per normal period: what it brought over its share of working days (NaN when
    // the shop was closed: it says nothing about demand).
    const perNormal = (index: number) => {
      if (index < 0) return Number.NaN;
      const share = calendarOf(index).workingDays / normal;
      return share > 0 ? (series[index] as number) / share : Number.NaN;
    };
    put(h);
    for (let lag = 0; lag < LAGS; lag++) put(perNormal(t - lag) / rowLevel);
    put(windowMean(series, t - 3, t) / rowLevel);
    put(windowMean(series, t - 12, t) / rowLevel);
    put(windowMean(series, t - season + 1, t) / rowLevel);
    // The same period a season before the target, repeating the last season for steps beyond one,
    // so it is always at or before the origin.
    const seasonal = t + ((h - 1) % season) + 1 - season;
    put(perNormal(seasonal) / rowLevel);
    const seasonalMean = windowMean(series, seasonal - 1, Math.min(seasonal + 1, t));
    put(seasonalMean / rowLevel);
    // How the target's time of year compared with the level then, a season before: the season's
    // shape, free of the trend since.
    const then = t - season;
    const shareOf = (index: number) => calendarOf(index).workingDays / normal;
    const ratioThen = (of: Float64Array, perPeriod: (index: number) => number) =>
      then >= LEVEL_WINDOW - 1 && seasonal >= 1
        ? (perPeriod(seasonal - 1) + perPeriod(seasonal) + perPeriod(Math.min(seasonal + 1, t))) /
          3 /
          levelAt(of, then, shareOf)
        : Number.NaN;
    put(ratioThen(series, perNormal));
    const target = calendarOf(t + h);
    put(target.workingDays);
    put(calendarOf(seasonal).workingDays);
    put(calendarOf(t).workingDays);
    put(target.weekOrDay);
    put(target.month);
    put(Math.log(rowLevel));
  }
  const columns: Column[] = names.slice(0, -1).map((name, index) => ({
    kind: 'numeric',
    name,
    values: numeric[index] as Float64Array,
  }));
  columns.push({
    kind: 'categorical',
    name: SERIES_FEATURE,
    codes: Int32Array.from(requests.series),
    dictionary: [...history.seriesIds],
  });
  return { table: new Table(columns), level, scale };
}
