/** Building blocks of the pipeline-spec schema: strict objects with "did you mean" hints, ranges,
 * durations, cron expressions and a read-only SQL check. */
import { z } from 'zod';

// The trainers' parameter schemas (ml/) are built from the same blocks, so they live in ml/.
export { editDistance, strictObject, unknownKeyReason, whenGiven } from '../../ml/paramSchema';
export { between, nonNegative } from '../../ml/paramSchema';

/**
 * The message for a discriminated union whose `kind` is wrong; a missing or non-object value keeps the
 * per-parse message ("required", "must be an object").
 */
export function kindMessage(issue: { input?: unknown }, message: string): string | undefined {
  return typeof issue.input === 'string' || isRecord(issue.input) ? message : undefined;
}

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

/** The longest SQL query a spec may hold, in characters (after joining its lines). */
export const MAX_QUERY_CHARS = 100_000;

/**
 * A spec's SQL query (`source.query`, `outcomes.query`): a single read-only SELECT (or WITH ...
 * SELECT), as one string or as a list of its lines (JSON has no multi-line strings), which are
 * joined with newlines. The lexical check is the first line of defence only: the query still runs
 * as the reader role, in a read-only transaction, as one statement.
 */
export const selectQuery = z
  .union([z.string(), z.array(z.string()).min(1, 'must hold at least one line')], {
    error: (issue) =>
      issue.input === undefined
        ? 'required (string)'
        : 'must be a SELECT query: a string, or a list of its lines',
  })
  .transform((query) => (Array.isArray(query) ? query.join('\n') : query))
  .superRefine((query, ctx) => {
    // The server reads a query up to its first NUL: what it ran would not be what was checked.
    const problem =
      query.length > MAX_QUERY_CHARS
        ? `must be at most ${MAX_QUERY_CHARS} characters, not ${query.length}: move long parts into a view`
        : query.includes('\u0000')
          ? 'must not contain NUL characters'
          : selectQueryProblem(query);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
