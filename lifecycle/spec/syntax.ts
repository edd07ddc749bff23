/** Building blocks of the pipeline-spec schema: strict objects with "did you mean" hints, ranges,
 * durations, cron expressions and a read-only SQL check. */
import { z } from 'zod';

/** Edit distance, for "did you mean" hints on misspelt keys. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

export function unknownKeyReason(key: string, known: readonly string[]): string {
  const lower = key.toLowerCase();
  const close = known
    .map((candidate) => ({
      candidate,
      distance: candidate.toLowerCase() === lower ? 0 : editDistance(lower, candidate.toLowerCase()),
    }))
    .filter(({ distance }) => distance <= (key.length >= 5 ? 2 : 1))
    .sort((x, y) => x.distance - y.distance)[0];
  return close
    ? `unknown key; did you mean "${close.candidate}"?`
    : `unknown key; allowed keys: ${known.join(', ')}`;
}

/**
 * A strict object: a key not in `shape` is refused by name. The issue's message holds one reason per
 * unknown key, in the order of `issue.keys`, one per line; `formatIssues` puts each on its own path.
 */
export function strictObject<Shape extends z.core.$ZodLooseShape>(shape: Shape) {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? issue.keys.map((key) => unknownKeyReason(key, known)).join('\n')
        : undefined,
  });
}

/** The message for a given but wrong value; a missing one keeps the per-parse "required" message. */
export function whenGiven(issue: { input?: unknown }, message: string): string | undefined {
  return issue.input === undefined ? undefined : message;
}

/**
 * The message for a discriminated union whose `kind` is wrong; a missing or non-object value keeps the
 * per-parse message ("required", "must be an object").
 */
export function kindMessage(issue: { input?: unknown }, message: string): string | undefined {
  return typeof issue.input === 'string' || isRecord(issue.input) ? message : undefined;
}

/** A number in (min, max], [min, max], ... with the range in the message. */
export function between(
  min: number,
  max: number,
  { minOpen = false, maxOpen = false, integer = false } = {},
): z.ZodNumber {
  const unbounded = max >= Number.MAX_SAFE_INTEGER;
  const range = unbounded
    ? `${minOpen ? '>' : '>='} ${min}`
    : `in ${minOpen ? '(' : '['}${min}, ${max}${maxOpen ? ')' : ']'}`;
  const message = `must be ${integer ? 'an integer ' : ''}${range}`;
  let schema = z.number({ error: (issue) => (issue.input === undefined ? undefined : `must be a number`) });
  if (integer) schema = schema.int(message);
  schema = minOpen ? schema.gt(min, message) : schema.gte(min, message);
  schema = maxOpen ? schema.lt(max, message) : schema.lte(max, message);
  return schema;
}

export const nonNegative = () => between(0, Number.MAX_VALUE);

export const columnName = z
  .string()
  .min(1, 'must be a column name')
  .max(200, 'must be at most 200 characters')
  .refine((value) => value.trim() === value, 'must not start or end with white space')
  // eslint-disable-next-line no-control-regex
  .refine((value) => !/[\u0000-\u001f]/.test(value), 'must not contain control characters');

export const UNITS_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/**
 * Parses a duration such as '72h', '3d', '30m', '90s', '1w' or '1d12h' to milliseconds.
 * @returns undefined when the text is not such a duration or is zero
 */
export function parseDuration(text: string): number | undefined {
  if (!/^(\d+[smhdw])+$/.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+)([smhdw])/g)) {
    total += Number(amount) * UNITS_MS[unit as keyof typeof UNITS_MS];
  }
  return total > 0 && Number.isSafeInteger(total) ? total : undefined;
}

export const CRON_FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  {
    name: 'month',
    min: 1,
    max: 12,
    names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'],
  },
  { name: 'day of week', min: 0, max: 7, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] },
] as const;

/** Why a five-field cron expression is malformed, or undefined when it is fine. */
export function cronProblem(expression: string): string | undefined {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5) {
    return `must be a cron expression of 5 fields (minute hour day-of-month month day-of-week), got ${fields.length}`;
  }
  for (const [index, field] of fields.entries()) {
    const spec = CRON_FIELDS[index];
    if (spec === undefined) continue;
    const names: readonly string[] = 'names' in spec ? spec.names : [];
    const value = (text: string): number | undefined => {
      const named = names.indexOf(text.toLowerCase());
      if (named >= 0) return named + (spec.name === 'month' ? 1 : 0);
      if (!/^\d+$/.test(text)) return undefined;
      const n = Number(text);
      return n >= spec.min && n <= spec.max ? n : undefined;
    };
    for (const part of field.split(',')) {
      const match = /^(\*|[^-/]+(?:-[^-/]+)?)(?:\/(\d+))?$/.exec(part);
      const range = match?.[1];
      const step = match?.[2];
      const ok =
        range !== undefined &&
        (step === undefined || Number(step) >= 1) &&
        (range === '*' || range.split('-').every((bound) => value(bound) !== undefined) || false);
      if (!ok) {
        return `${spec.name} field "${field}" is not valid: use *, a value in ${spec.min}-${spec.max}, a range a-b, a step */n or a comma list`;
      }
    }
  }
  return undefined;
}

/**
 * Words that make a SELECT or WITH statement write: data-modifying CTEs (INSERT, UPDATE, DELETE, MERGE;
 * also SELECT ... FOR UPDATE, which locks) and SELECT ... INTO, which creates a table. Other statements
 * cannot hide inside a single SELECT, so words such as DROP or COMMENT are only column names there.
 */
export const SQL_WRITE_WORDS = ['insert', 'update', 'delete', 'merge', 'into'];

/**
 * Why a SQL text is not a single read-only SELECT (or WITH ... SELECT) query, or undefined when it
 * is one. A lexical check that ignores comments, string literals and quoted identifiers; the query
 * should still run in a read-only transaction.
 */
export function selectQueryProblem(query: string): string | undefined {
  // One pass, so that "--" in a string or a quote in a comment is read as what it is.
  const stripped = query
    .replace(
      /--[^\n]*|\/\*[\s\S]*?\*\/|'(?:[^']|'')*'|"(?:[^"]|"")*"|\$([A-Za-z_]*)\$[\s\S]*?\$\1\$/g,
      (token) => (token.startsWith('--') || token.startsWith('/*') ? ' ' : "''"),
    )
    .trim()
    .replace(/;\s*$/, '');
  if (stripped === '') return 'must be a SELECT query';
  if (stripped.includes(';')) return 'must be a single statement (no ";" between statements)';
  const first = /^\(*\s*([A-Za-z]+)/.exec(stripped)?.[1]?.toLowerCase();
  if (first !== 'select' && first !== 'with') {
    return `must be a SELECT (or WITH ... SELECT) query, not ${first ? first.toUpperCase() : 'this statement'}`;
  }
  const words = new Set(stripped.toLowerCase().match(/[a-z_]+/g) ?? []);
  const writes = SQL_WRITE_WORDS.filter((word) => words.has(word));
  if (writes.length > 0) {
    return `must only read: it contains ${writes.map((word) => word.toUpperCase()).join(', ')}`;
  }
  return undefined;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
