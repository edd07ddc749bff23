/**
 * The columns of a spec's source as the spec checks see them, and how a check names a column the
 * source does not have (a "did you mean", and the columns when there are few).
 */
import { editDistance } from './syntax';

/** What a column holds, as far as the spec cares. */
export type SourceValueKind = 'number' | 'boolean' | 'text' | 'time' | 'other';

/** One column of a source, as PostgreSQL describes it. */
export interface SourceColumn {
  /** The column name exactly as PostgreSQL returns it (case kept). */
  name: string;
  /** PostgreSQL's name for the type, e.g. `bigint`, `double precision`, `text`, `timestamp with time zone`. */
  postgresType: string;
  kind: SourceValueKind;
  /** Whole numbers only (smallint, integer, bigint): such a column may also be categorical. */
  integer: boolean;
}

/** One problem of a spec against its source, in the shape of `PipelineSpecError`'s lines. */
export interface SpecIssue {
  /** The spec field, e.g. `features[2].name`. */
  path: string;
  message: string;
}

/** Unknown names list the source's columns when there are at most this many. */
const LISTED_COLUMNS = 16;

/** The closest column name, by the same rule as the spec's "did you mean" for keys. */
function closestColumn(name: string, columns: readonly SourceColumn[]): string | undefined {
  const lower = name.toLowerCase();
  const limit = name.length >= 5 ? 2 : 1;
  let best: { name: string; distance: number } | undefined;
  for (const column of columns) {
    const distance = editDistance(lower, column.name.toLowerCase());
    if (distance <= limit && (best === undefined || distance < best.distance)) {
      best = { name: column.name, distance };
    }
  }
  return best?.name;
}

/** Why a name is no column of the source, and the advice (starting with its separator). */
export function unknownColumn(
  name: string,
  columns: readonly SourceColumn[],
  where: string,
): { problem: string; advice: string } {
  const suggestion = closestColumn(name, columns);
  const listed = columns.length <= LISTED_COLUMNS;
  const names = columns.map((column) => JSON.stringify(column.name)).join(', ');
  const problem = `no column "${name}" in ${where}`;
  if (suggestion) {
    const caseOnly = suggestion.toLowerCase() === name.toLowerCase();
    const advice = `; did you mean "${suggestion}"?${caseOnly ? ' (column names are case-sensitive)' : ''}`;
    return { problem, advice: listed ? `${advice} Its columns: ${names}` : advice };
  }
  if (columns.length === 0) return { problem, advice: '; it has no columns' };
  if (listed) return { problem, advice: `; its columns: ${names}` };
  return {
    problem,
    advice: ` (of its ${columns.length} columns none is close); check the spelling, names are case-sensitive`,
  };
}

/**
 * The one column of the source a spec field names, or why there is none to use: no such column
 * (with a "did you mean"), or a name several columns of a query's result share.
 */
export function findColumn(
  name: string,
  byName: ReadonlyMap<string, readonly SourceColumn[]>,
  columns: readonly SourceColumn[],
  where: string,
): { column: SourceColumn } | { message: string } {
  const found = byName.get(name) ?? [];
  if (found.length > 1) {
    return {
      message: `"${name}" names ${found.length} columns of ${where}; give each its own name (AS ...) in the query`,
    };
  }
  if (found[0]) return { column: found[0] };
  const { problem, advice } = unknownColumn(name, columns, where);
  return { message: `${problem}${advice}` };
}

/** Text for a type in messages: `text`, `double precision`... */
export const typeWords = (column: SourceColumn) => `of type ${column.postgresType}`;
