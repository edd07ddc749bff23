/**
 * The body of `POST /v1/models/:name/predict`: a batch `{ "rows": [...], "keys"?: [...] }` or one
 * row `{ "row": {...}, "key"?: "..." }`. This module checks the shape only (objects, lengths, key
 * types); whether the rows fit the model's input contract is `contract.ts`'s job.
 */
import { type FieldIssue, invalidInput } from './errors';

/** One row as it arrived: column name to JSON value. */
export type RawRow = Record<string, unknown>;

/** A predict request after its shape was checked. */
export interface PredictRequest {
  rows: RawRow[];
  /** One business key (a job id, say) per row, or null; outcomes join on it later. */
  keys: (string | null)[];
  /** Where the rows came from, for field names in errors: `rows` or `row`. */
  field: 'rows' | 'row';
}

/** The longest business key accepted, in characters. */
export const MAX_KEY_LENGTH = 200;

const FIELDS = new Set(['rows', 'keys', 'row', 'key']);

/**
 * Checks the shape of a predict body.
 *
 * @param maxRows the most rows one request may carry
 * @throws ServingHttpError (400) listing each bad field
 */
export function parsePredictRequest(body: unknown, maxRows: number): PredictRequest {
  if (!isPlainObject(body)) {
    throw invalidInput([
      {
        field: 'body',
        reason:
          'must be a JSON object: {"rows": [{column: value, ...}], "keys"?: [...]} or {"row": {column: value, ...}, "key"?: "..."}',
      },
    ]);
  }
  const issues: FieldIssue[] = [];
  const batch = 'rows' in body;
  const single = 'row' in body;
  for (const name in body) {
    if (!FIELDS.has(name)) {
      issues.push({
        field: name,
        reason: 'is not a field of a predict request: use rows and keys, or row and key',
      });
    }
  }
  if (batch && single) {
    issues.push({ field: 'row', reason: 'give either rows (a batch) or row (one row), not both' });
  } else if (!batch && !single) {
    issues.push({
      field: 'rows',
      reason: 'is missing: send {"rows": [{column: value, ...}]} or {"row": {...}}',
    });
  } else if (batch && 'key' in body) {
    issues.push({ field: 'key', reason: 'belongs to a single row: with rows, send keys (one per row)' });
  } else if (single && 'keys' in body) {
    issues.push({ field: 'keys', reason: 'belongs to a batch: with row, send key' });
  }
  if (issues.length > 0) throw invalidInput(issues);

  if (single) {
    const row = body.row;
    if (!isPlainObject(row)) throw invalidInput([{ field: 'row', reason: rowReason(row) }]);
    const key = body.key === undefined ? null : keyOf(body.key, 'key', issues);
    if (issues.length > 0) throw invalidInput(issues);
    return { rows: [row], keys: [key], field: 'row' };
  }

  const rows = body.rows;
  if (!Array.isArray(rows) || rows.length === 0) {
    throw invalidInput([
      {
        field: 'rows',
        reason: Array.isArray(rows)
          ? 'is empty: send at least one row'
          : `must be a list of rows, got ${describe(rows)}`,
      },
    ]);
  }
  if (rows.length > maxRows) {
    throw invalidInput([
      {
        field: 'rows',
        reason: `holds ${rows.length} rows, more than the ${maxRows} one request may carry: split the batch`,
      },
    ]);
  }
  rows.forEach((row, index) => {
    if (!isPlainObject(row)) issues.push({ field: `rows[${index}]`, reason: rowReason(row) });
  });
  let keys: (string | null)[] = rows.map(() => null);
  if (body.keys !== undefined) {
    if (!Array.isArray(body.keys)) {
      issues.push({
        field: 'keys',
        reason: `must be a list (one key per row, null for none), got ${describe(body.keys)}`,
      });
    } else if (body.keys.length !== rows.length) {
      issues.push({
        field: 'keys',
        reason: `has ${body.keys.length} keys for ${rows.length} rows: give one key per row (null for none)`,
      });
    } else {
      keys = body.keys.map((key, index) => keyOf(key, `keys[${index}]`, issues));
    }
  }
  if (issues.length > 0) throw invalidInput(issues);
  return { rows: rows as RawRow[], keys, field: 'rows' };
}

/** A business key as text: strings as they are, whole numbers by their digits; null for none. */
function keyOf(value: unknown, field: string, issues: FieldIssue[]): string | null {
  if (value === null) return null;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  if (typeof value === 'string' && value !== '' && value.length <= MAX_KEY_LENGTH) return value;
  issues.push({
    field,
    reason:
      typeof value === 'string'
        ? `must be 1 to ${MAX_KEY_LENGTH} characters, got ${value.length}`
        : `must be text or a whole number (a job id, say) or null, got ${describe(value)}`,
  });
  return null;
}

function rowReason(value: unknown): string {
  return `must be an object of column values ({"thickness_mm": 3, ...}), got ${describe(value)}`;
}

/** What a JSON value is, for messages: `a string ("abc")`, `a list`, `null`. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  switch (typeof value) {
    case 'string':
      return `a string (${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)})`;
    case 'number':
      return `a number (${value})`;
    case 'boolean':
      return `a boolean (${value})`;
    case 'object':
      return 'an object';
    default:
      return `a ${typeof value}`;
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
