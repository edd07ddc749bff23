/**
 * The names batch scoring writes under: a result table is `scoring.<name>` and nowhere else, a run's
 * staged rows are `batch_scoring.rows_<run>`, and the columns Kerf adds to a result table cannot be
 * taken by a key column of the query. Pure.
 */

/** The schema of every result table. */
export const RESULT_SCHEMA = 'scoring';
/** The schema of the runs' bookkeeping and staged rows. */
export const BOOKKEEPING_SCHEMA = 'batch_scoring';

/** A result table's name: lower-case letters, digits and `_`, as PostgreSQL folds an unquoted name. */
const TABLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** The columns Kerf writes beside the query's key columns, in table order around them. */
export const RUN_COLUMN = 'run';
export const VALUE_COLUMNS = ['prediction'] as const;
export const LABEL_COLUMNS = ['label', 'probabilities'] as const;
export const TRAILING_COLUMNS = ['version', 'prediction_id', 'scored_at'] as const;
export const KERF_COLUMNS: readonly string[] = [
  RUN_COLUMN,
  ...VALUE_COLUMNS,
  ...LABEL_COLUMNS,
  ...TRAILING_COLUMNS,
];

/**
 * The result table's name from `--into` (`open_quote_prices` or `scoring.open_quote_prices`), or
 * why it cannot be one.
 */
export function resultTableName(into: string): { name: string } | { problem: string } {
  const parts = into.trim().split('.');
  const [schema, name] = parts.length === 2 ? parts : [RESULT_SCHEMA, parts[0]];
  if (parts.length > 2 || schema !== RESULT_SCHEMA) {
    return {
      problem: `into: results are written to schema ${RESULT_SCHEMA} only: give a name such as open_quote_prices (or ${RESULT_SCHEMA}.open_quote_prices), not ${JSON.stringify(into).slice(0, 80)}`,
    };
  }
  if (name === undefined || !TABLE_NAME.test(name)) {
    return {
      problem: `into: ${JSON.stringify(name ?? '').slice(0, 80)} is not a table name: use lower-case letters, digits and _ (at most 63), starting with a letter or _`,
    };
  }
  return { name };
}

/** `scoring.<name>`, quoted for SQL (the name was checked by `resultTableName`). */
export function resultTableSql(name: string): string {
  return `${RESULT_SCHEMA}."${name}"`;
}

/** The staging table of a run's rows, for SQL. */
export function stagingTableSql(run: number): string {
  if (!Number.isSafeInteger(run) || run < 1) throw new RangeError(`not a run number: ${run}`);
  return `${BOOKKEEPING_SCHEMA}.rows_${run}`;
}
