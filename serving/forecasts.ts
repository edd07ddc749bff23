/**
 * `POST /v1/models/:name/forecast` for a forecast model: `{ "series": {...} | [{...}, ...], "horizon"?: n }`
 * in, each series' next periods with their prediction intervals out, from the version's origin (the
 * last period it was trained on). The rows scored are built by the same code that built the
 * training rows (`lifecycle/forecast`), from the series' recent values the signed version carries,
 * so training and serving compute the same features.
 */
import {
  assembleForecast,
  type ForecastState,
  forecastInputs,
  periodDate,
  type SeriesForecast,
} from '../lifecycle/forecast';
import { type FieldIssue, invalidInput } from './errors';
import type { LoadedVersion } from './loadVersion';

/** The most series one forecast request may ask for. */
export const MAX_SERIES_PER_REQUEST = 200;

export interface ForecastRequest {
  /** Each series as its key columns' values. */
  series: Record<string, string>[];
  /** Periods ahead; the version's trained horizon when not given. */
  horizon?: number;
}

export interface ForecastResponse {
  model: string;
  version: number;
  period: string;
  /** The start of the last period the version learned from; forecasts start one period later. */
  origin: string;
  /** The probability each interval should hold the actual value. */
  intervalLevel: number;
  forecasts: SeriesForecast[];
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Checks a forecast body against the version's series and horizon.
 *
 * @throws ServingHttpError (400) naming each bad field and what the version knows
 */
export function parseForecastRequest(body: unknown, state: ForecastState): ForecastRequest {
  const keyColumns = state.keyColumns;
  const example = `{"series": {${keyColumns.map((column) => `"${column}": "..."`).join(', ')}}, "horizon": ${state.settings.horizon}}`;
  if (!isPlainObject(body))
    throw invalidInput([{ field: 'body', reason: `must be a JSON object: ${example}` }]);
  const issues: FieldIssue[] = [];
  for (const name of Object.keys(body)) {
    if (name !== 'series' && name !== 'horizon') {
      issues.push({ field: name, reason: 'is not a field of a forecast request: use series and horizon' });
    }
  }
  const raw = body.series;
  const list = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  const field = (index: number) => (Array.isArray(raw) ? `series[${index}]` : 'series');
  if (raw === undefined) issues.push({ field: 'series', reason: `is missing: send ${example}` });
  if (list.length > MAX_SERIES_PER_REQUEST) {
    issues.push({
      field: 'series',
      reason: `holds ${list.length} series; ask for at most ${MAX_SERIES_PER_REQUEST}`,
    });
  }
  const known = new Set(state.series.map((series) => series.id));
  const series: Record<string, string>[] = [];
  list.slice(0, MAX_SERIES_PER_REQUEST).forEach((entry: unknown, index) => {
    if (!isPlainObject(entry)) {
      issues.push({
        field: field(index),
        reason: `must be an object of the key columns ${keyColumns.join(', ')}`,
      });
      return;
    }
    const values: Record<string, string> = {};
    for (const name of Object.keys(entry)) {
      if (!keyColumns.includes(name)) {
        issues.push({
          field: `${field(index)}.${name}`,
          reason: `is not a key column; the series are named by ${keyColumns.join(', ')}`,
        });
      }
    }
    for (const column of keyColumns) {
      const value = entry[column];
      if (typeof value !== 'string' && typeof value !== 'number') {
        issues.push({
          field: `${field(index)}.${column}`,
          reason: "is missing: give the series' value (text)",
        });
        continue;
      }
      values[column] = String(value);
    }
    if (Object.keys(values).length === keyColumns.length) {
      const id = keyColumns.map((column) => values[column]).join(' / ');
      if (!known.has(id)) {
        const listed = [...known].slice(0, 20).join('; ');
        issues.push({
          field: field(index),
          reason: `the version knows no series "${id}"; it knows ${known.size}: ${listed}${known.size > 20 ? '; ...' : ''}`,
        });
      }
      series.push(values);
    }
  });
  let horizon: number | undefined;
  if (body.horizon !== undefined) {
    const value = body.horizon;
    if (
      typeof value !== 'number' ||
      !Number.isInteger(value) ||
      value < 1 ||
      value > state.settings.horizon
    ) {
      issues.push({
        field: 'horizon',
        reason: `must be a whole number of periods from 1 to ${state.settings.horizon} (the horizon the version was trained for)`,
      });
    } else {
      horizon = value;
    }
  }
  if (issues.length > 0) throw invalidInput(issues);
  return { series, ...(horizon === undefined ? {} : { horizon }) };
}

/** Scores a checked request with the version's ONNX graph and reads the forecasts off the scores. */
export async function answerForecast(
  version: LoadedVersion & { forecast: ForecastState },
  request: ForecastRequest,
): Promise<ForecastResponse> {
  const state = version.forecast;
  const horizon = request.horizon ?? state.settings.horizon;
  const ids = request.series.map((values) => state.keyColumns.map((column) => values[column]).join(' / '));
  const inputs = forecastInputs(state, ids, horizon);
  const { prediction } = await version.scorer.scoreTable(inputs);
  if (!prediction)
    throw new Error(
      `${version.model} v${version.version} scored no values: a forecast model is a regression`,
    );
  return {
    model: version.model,
    version: version.version,
    period: state.settings.period,
    origin: periodDate(state.originPeriod),
    intervalLevel: state.settings.intervalLevel,
    forecasts: assembleForecast(state, ids, horizon, prediction),
  };
}
