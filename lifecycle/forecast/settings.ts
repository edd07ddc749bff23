/**
 * What a forecast is asked for: the period (day or week), how many periods ahead, the season, and how
 * the backtest and the calibration hold data out. Plain JSON, stored with every forecasting state.
 */
import { MS_PER_DAY } from './calendar';
import { ForecastError } from './errors';

/** The period a target is counted in; weeks start Monday 00:00 UTC, days at 00:00 UTC. */
export type ForecastPeriod = 'day' | 'week';

/** The settings of one forecaster; see {@link forecastSettings} for the defaults. */
export interface ForecastSettings {
  /** The period a target is counted in. */
  period: ForecastPeriod;
  /** Periods forecast ahead (steps 1..horizon). */
  horizon: number;
  /** Periods in a season (52 weeks, 7 days): the seasonal-naive lag and the MASE scale lag. */
  seasonLength: number;
  /** Backtest cut-offs. */
  origins: number;
  /** Periods between two backtest cut-offs. */
  originStep: number;
  /** Probability the interval around a forecast should hold the actual value (e.g. 0.8). */
  intervalLevel: number;
  /** Periods before each cut-off held out for early stopping and interval calibration. */
  validationPeriods: number;
}

const DEFAULTS: Record<ForecastPeriod, Omit<ForecastSettings, 'period'>> = {
  week: {
    horizon: 8,
    seasonLength: 52,
    origins: 6,
    originStep: 4,
    intervalLevel: 0.8,
    validationPeriods: 12,
  },
  day: { horizon: 14, seasonLength: 7, origins: 6, originStep: 7, intervalLevel: 0.8, validationPeriods: 28 },
};

/**
 * Settings with the period's defaults filled in (weeks: horizon 8, season 52, 6 cut-offs 4 apart,
 * 80 % intervals, 12 validation periods; days: horizon 14, season 7, 6 cut-offs 7 apart, 28).
 *
 * @throws ForecastError naming the setting that cannot work
 */
export function forecastSettings(partial: Partial<ForecastSettings> = {}): ForecastSettings {
  // Settings may come from stored JSON: check the period rather than trust its type.
  const period: unknown = partial.period ?? 'week';
  if (period !== 'week' && period !== 'day') {
    throw new ForecastError(`settings.period is "${String(period)}": use "week" or "day"`);
  }
  const settings: ForecastSettings = { period, ...DEFAULTS[period], ...definedOnly(partial) };
  const wholeAtLeast = (name: keyof ForecastSettings, least: number) => {
    const value = settings[name];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < least) {
      throw new ForecastError(`settings.${name} is ${String(value)}: use a whole number >= ${least}`);
    }
  };
  wholeAtLeast('horizon', 1);
  wholeAtLeast('seasonLength', 2);
  wholeAtLeast('origins', 1);
  wholeAtLeast('originStep', 1);
  wholeAtLeast('validationPeriods', 1);
  if (!(settings.intervalLevel > 0 && settings.intervalLevel < 1)) {
    throw new ForecastError(
      `settings.intervalLevel is ${settings.intervalLevel}: use a probability in (0, 1), e.g. 0.8`,
    );
  }
  return settings;
}

function definedOnly(partial: Partial<ForecastSettings>): Partial<ForecastSettings> {
  return Object.fromEntries(
    Object.entries(partial as Record<string, unknown>).filter(([, value]) => value !== undefined),
  );
}

/** Length of one period in milliseconds. */
export function periodMs(period: ForecastPeriod): number {
  return (period === 'week' ? 7 : 1) * MS_PER_DAY;
}

/** The start (epoch ms) of the period holding `ms`: 00:00 UTC of its day, or of its week's Monday. */
export function periodStartOf(ms: number, period: ForecastPeriod): number {
  const day = Math.floor(ms / MS_PER_DAY);
  if (period === 'day') return day * MS_PER_DAY;
  // 1970-01-01 was a Thursday: Monday-based weekday = (day + 3) mod 7.
  const weekday = (((day + 3) % 7) + 7) % 7;
  return (day - weekday) * MS_PER_DAY;
}

/** A period start as `YYYY-MM-DD`. */
export function periodDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/**
 * The fewest periods a frame needs: a season of history for the first origin, the validation
 * periods, and the backtest's cut-offs with a horizon after the last one.
 */
export function minimumPeriods(settings: ForecastSettings): number {
  return (
    settings.seasonLength +
    settings.validationPeriods +
    settings.horizon * 2 +
    (settings.origins - 1) * settings.originStep
  );
}
