/**
 * The prediction log's quick way into `serving.predictions`: a batch as one `COPY ... FROM STDIN`
 * (text format), each row's line made ahead, between requests (`encodePrediction`). COPY takes rows
 * about twice as fast as an INSERT of arrays, so the log keeps up with serving; it cannot skip a row
 * that is already there (a batch written again after a lost answer), which the log's INSERT ... ON
 * CONFLICT DO NOTHING does when COPY refuses a batch. A line read back (`parseCopyLine`) gives the
 * row's values again, for that INSERT and for a dead letter, once the record itself is gone (a row
 * spilled to disk, `predictionSpill.ts`).
 */
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

const COPY_SQL = `COPY serving.predictions
  (prediction_id, model, version, alias, key, inputs, output, warnings, served_at, shadow_of) FROM STDIN`;

const NULL = '\\N';
const SPECIAL = /[\\\n\r\t]/;
const SPECIALS = /[\\\n\r\t]/g;
const ESCAPED: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };
const ESCAPES = /\\(.)/g;
const UNESCAPED: Record<string, string> = { n: '\n', r: '\r', t: '\t' };

/** A value as COPY's text format reads it: backslash, newline, carriage return and tab escaped. */
function field(value: string | null): string {
  if (value === null) return NULL;
  return SPECIAL.test(value) ? value.replace(SPECIALS, (char) => ESCAPED[char] as string) : value;
}

/**
 * A JSON column's text as a COPY field. JSON.stringify writes a newline, carriage return or tab in a
 * string as an escape (`\\n`), never as itself: only the backslashes need escaping, found without a
 * regular expression.
 */
function jsonField(json: string): string {
  return json.includes('\\') ? json.replaceAll('\\', '\\\\') : json;
}

/** A field of a COPY line as the value it holds (the inverse of `field`). */
function unfield(text: string): string | null {
  if (text === NULL) return null;
  return text.includes('\\') ? text.replace(ESCAPES, (_all, char: string) => UNESCAPED[char] ?? char) : text;
}

/**
 * One row's values, in `COPY_SQL`'s column order (text and JSON already free of NUL); `inputs`,
 * `output` and `warnings` are JSON.stringify's text.
 */
export interface CopyRow {
  predictionId: string;
  model: string;
  version: number;
  alias: string;
  key: string | null;
  inputs: string;
  output: string;
  warnings: string;
  servedAt: string;
  shadowOf: string | null;
}

/**
 * A row's line of COPY text, newline included, as one flat string: the log keeps lines for up to a
 * flush interval, and a line built by `+` or a template is a tree of its pieces that keeps them all
 * alive (some 1,300 bytes for a 240-character line, against some 280 once joined).
 */
export function copyLine(row: CopyRow): string {
  // The prediction ids, the alias and the time are serving's own text (uuids, a word, ISO 8601),
  // never holding a character to escape.
  return [
    row.predictionId,
    field(row.model),
    row.version,
    row.alias,
    field(row.key),
    jsonField(row.inputs),
    jsonField(row.output),
    jsonField(row.warnings),
    row.servedAt,
    `${row.shadowOf ?? NULL}\n`,
  ].join('\t');
}

/**
 * The row a line of COPY text holds (newline or not).
 *
 * @throws when the line does not have the ten fields `copyLine` writes
 */
export function parseCopyLine(line: string): CopyRow {
  const fields = (line.endsWith('\n') ? line.slice(0, -1) : line).split('\t').map(unfield);
  if (fields.length !== 10) throw new Error(`a prediction line has ${fields.length} fields, not 10`);
  const [predictionId, model, version, alias, key, inputs, output, warnings, servedAt, shadowOf] = fields;
  return {
    predictionId: predictionId ?? '',
    model: model ?? '',
    version: Number(version),
    alias: alias ?? '',
    key: key ?? null,
    inputs: inputs ?? 'null',
    output: output ?? 'null',
    warnings: warnings ?? '[]',
    servedAt: servedAt ?? '',
    shadowOf: shadowOf ?? null,
  };
}

/** A prediction's value as logged and answered. */
export type PredictionOutput = { value: number } | { label: string; probabilities: Record<string, number> };

/** What a prediction carries into its row (the log's `PredictionRecord`). */
export interface PredictionValues {
  predictionId: string;
  model: string;
  version: number;
  alias: string;
  key: string | null;
  inputs: unknown;
  output: PredictionOutput;
  warnings: readonly unknown[];
  servedAt: Date;
  shadowOf: string | null;
}

/** A prediction's row and its line of COPY text, or why it cannot be written as JSON at all. */
export type EncodedPrediction = { row: CopyRow; line: string } | { problem: unknown };

/** Encodes a prediction's row: its JSON columns (NUL replaced) and its COPY line. */
export function encodePrediction(values: PredictionValues): EncodedPrediction {
  let inputs: string;
  let output: string;
  let warnings: string;
  try {
    inputs = jsonText(values.inputs);
    output = outputText(values.output);
    // Most rows have no warning: no need to serialize an empty list.
    warnings = values.warnings.length === 0 ? '[]' : jsonText(values.warnings);
  } catch (problem) {
    return { problem };
  }
  const row: CopyRow = {
    predictionId: values.predictionId,
    model: values.model,
    version: values.version,
    alias: values.alias,
    key: values.key === null ? null : withoutNul(values.key),
    inputs,
    output,
    warnings,
    servedAt: isoTime(values.servedAt),
    shadowOf: values.shadowOf,
  };
  return { row, line: copyLine(row) };
}

/** A regression's `{ value }` written without JSON.stringify's walk (a finite number's JSON is its text). */
function outputText(output: PredictionOutput): string {
  if ('value' in output && Number.isFinite(output.value)) return `{"value":${output.value}}`;
  return jsonText(output);
}

let cachedSecond = Number.NaN;
/** `toISOString()` of the cached second without its milliseconds and `Z` (`2026-12-07T03:04:05.`). */
let cachedPrefix = '';

/**
 * `date.toISOString()`, from the text of its second made once a second: every row of a batch (and
 * every request in the same second) shares it, and toISOString costs more than the rest of a line.
 */
export function isoTime(date: Date): string {
  const ms = date.getTime();
  const second = Math.floor(ms / 1000);
  if (second !== cachedSecond) {
    cachedPrefix = new Date(second * 1000).toISOString().slice(0, -4);
    cachedSecond = second;
  }
  const milli = ms - second * 1000;
  return `${cachedPrefix}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
}

/** JSON for a jsonb column: PostgreSQL's jsonb refuses the NUL character, so it becomes U+FFFD. */
export function jsonText(value: unknown): string {
  const text = JSON.stringify(value);
  // JSON.stringify writes a NUL as \u0000: only text holding that needs the slower pass.
  if (!text.includes('\\u0000')) return text;
  return JSON.stringify(value, (_key, item: unknown) => (typeof item === 'string' ? withoutNul(item) : item));
}

export function withoutNul(text: string): string {
  return text.includes('\u0000') ? text.replaceAll('\u0000', '\uFFFD') : text;
}

/**
 * Writes the lines (COPY text, one row a line) in one COPY, in one statement: all of them or none.
 *
 * @throws PostgreSQL's error (a refused row fails the whole batch) or the connection's
 */
export async function copyPredictions(pool: pg.Pool, lines: string | Buffer): Promise<void> {
  const client = await pool.connect();
  let failure: unknown;
  try {
    const stream = client.query(copyFrom(COPY_SQL));
    await new Promise<void>((resolve, reject) => {
      stream.once('finish', resolve);
      stream.once('error', reject);
      stream.end(typeof lines === 'string' ? Buffer.from(lines, 'utf8') : lines);
    });
  } catch (error) {
    failure = error;
    throw error;
  } finally {
    // PostgreSQL's refusal leaves the connection usable; anything else may not have.
    const code = (failure as { code?: unknown } | undefined)?.code;
    const refused = typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code);
    client.release(failure !== undefined && !refused ? (failure as Error) : undefined);
  }
}
