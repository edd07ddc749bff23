/**
 * The spec's `forecast` part: for `task: "forecast"`, the source's rows are a target measured per
 * period (orders, laser hours, steel tonnes) for each series, named by the categorical `features`
 * (material family, customer segment, machine group); `timeColumn` dates each row. One model is
 * trained over all series and forecasts each of the next `horizon` periods.
 *
 * The ordered split places the backtest: its cut-offs (`origins` of them) lie in the last
 * `testFraction` of the periods, the last one `horizon` periods before the end.
 */
import { z } from 'zod';
import { between, strictObject, whenGiven } from './syntax';

export const FORECAST_PERIODS = ['day', 'week'] as const;
export type ForecastPeriod = (typeof FORECAST_PERIODS)[number];

/** The season a period repeats after when the spec does not say: a year of weeks, a week of days. */
export const DEFAULT_SEASON_LENGTH: Record<ForecastPeriod, number> = { week: 52, day: 7 };

export const forecastSchema = strictObject({
  /** The period the target is measured over: `week` (Monday to Sunday, UTC) or `day`. */
  period: z.enum(FORECAST_PERIODS, {
    error: (issue) => whenGiven(issue, 'must be "week" or "day"'),
  }),
  /**
   * How many periods ahead to forecast (8 = the next eight weeks); at most a season, so the same
   * period a season before is always known.
   */
  horizon: between(1, 366, { integer: true }),
  /**
   * Periods after which the pattern repeats: the seasonal-naive baseline's lag and the MASE's scale.
   * @default 52 for weeks, 7 for days
   */
  seasonLength: between(2, 366, { integer: true }).optional(),
  /**
   * How many cut-offs the rolling-origin backtest evaluates the model at.
   * @default 6
   */
  origins: between(1, 26, { integer: true }).default(6),
  /**
   * The probability the prediction interval around each forecast should hold the actual value.
   * @default 0.8
   */
  intervalLevel: between(0.5, 0.99).default(0.8),
});

export type ForecastSpec = z.output<typeof forecastSchema>;

/** A forecast spec's season length, its default filled in. */
export function seasonLengthOf(forecast: Pick<ForecastSpec, 'period' | 'seasonLength'>): number {
  return forecast.seasonLength ?? DEFAULT_SEASON_LENGTH[forecast.period];
}

/**
 * The checks between `task: "forecast"` and the rest of the spec: the `forecast` part present (and
 * only then), a time column, categorical features naming the series, an ordered split, no derived
 * or history features (the forecaster builds its own lags and windows), the gbdt trainer.
 */
export function forecastCrossCheck(
  value: Record<string, unknown>,
  issue: (path: (string | number)[], message: string) => void,
): void {
  const isForecast = value.task === 'forecast';
  if (!isForecast) {
    if (value.forecast !== undefined) {
      issue(['forecast'], 'only applies to task "forecast": remove it, or set task to "forecast"');
    }
    return;
  }
  const forecast = value.forecast;
  if (forecast === undefined) {
    issue(['forecast'], 'required for task "forecast": give at least { "period": "week", "horizon": 8 }');
  } else if (typeof forecast === 'object' && forecast !== null) {
    const { period, horizon, seasonLength } = forecast as Record<string, unknown>;
    if ((period === 'week' || period === 'day') && typeof horizon === 'number') {
      const season = typeof seasonLength === 'number' ? seasonLength : DEFAULT_SEASON_LENGTH[period];
      if (horizon > season) {
        issue(
          ['forecast', 'horizon'],
          `must be at most the season (${season} ${period}s): the model reads the same ${period} a season before; raise seasonLength or shorten the horizon`,
        );
      }
    }
  }
  if (typeof value.timeColumn !== 'string') {
    issue(['timeColumn'], 'required for task "forecast": the column that dates each row (its period)');
  }
  if (Array.isArray(value.features)) {
    value.features.forEach((feature: unknown, index) => {
      if (typeof feature !== 'object' || feature === null) return;
      const { kind, name } = feature as Record<string, unknown>;
      if (kind === 'numeric') {
        issue(
          ['features', index, 'kind'],
          `"${String(name)}": a forecast's features name its series and must be categorical (the model builds its own lags and calendar features)`,
        );
      }
      if (name === value.timeColumn) {
        issue(['features', index, 'name'], `"${String(name)}" is the time column; it cannot name a series`);
      }
    });
  }
  const split = value.split;
  if (typeof split === 'object' && split !== null && (split as { kind?: unknown }).kind === 'random') {
    issue(
      ['split', 'kind'],
      'a forecast is tested on the latest periods: use "ordered" (its testFraction places the backtest cut-offs)',
    );
  }
  const trainer = value.trainer;
  if (typeof trainer === 'object' && trainer !== null) {
    const kind = (trainer as { kind?: unknown }).kind;
    if (typeof kind === 'string' && kind !== 'gbdt') {
      issue(
        ['trainer', 'kind'],
        `a forecast is one gbdt over all series (lags, windows and calendar interact): use "gbdt", not "${kind}"`,
      );
    }
  }
  for (const part of ['derived', 'history'] as const) {
    if (Array.isArray(value[part]) && value[part].length > 0) {
      issue(
        [part],
        `does not apply to task "forecast": the forecaster builds its own lags, rolling means and calendar features`,
      );
    }
  }
}
