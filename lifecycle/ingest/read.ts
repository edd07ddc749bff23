/**
 * Streams a source's rows out of PostgreSQL into columns: a server-side cursor in a read-only
 * transaction, `fetchSize` rows per FETCH, each batch emptied into typed arrays before the next is
 * asked for. Only the current batch exists as JavaScript values, so memory follows the columns.
 *
 * The spec's SQL is not trusted: the pool is the reader role's (SELECT on the data schemas only),
 * the cursor is declared through the extended protocol (PostgreSQL refuses a second statement, so
 * no smuggled `COMMIT` can end the read-only transaction), and every statement has a timeout.
 */
import pg from 'pg';
import { Table } from '../../ml/table';
import { singleStatement } from '../../platform/database';
import { CategoricalBuilder, NumericBuilder, type ColumnBuilder } from './columns';
import { SnapshotError } from './errors';
import { snapshotQuery, sourceLabel, type ColumnPlan, type SnapshotSpec } from './plan';

export interface ReadOptions {
  /** Rows per FETCH. */
  fetchSize: number;
  /**
   * The longest the declaration or one FETCH may take, in milliseconds.
   * @default the pool's statement_timeout (the reader pool has one), else 300000
   */
  statementTimeoutMs?: number;
  /** Called after each batch with the rows read so far (an activity heartbeats from it). */
  onProgress?: (rowsRead: number) => void;
}

/**
 * Opens the transaction a source is read in: one consistent, read-only view of the data, under the
 * statement timeout asked for (else the pool's, or 5 minutes when the pool has none), with
 * synchronized sequential scans off so a source without a time column keeps its order.
 */
export async function beginSourceRead(
  client: pg.PoolClient,
  statementTimeoutMs: number | undefined,
): Promise<void> {
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  if (statementTimeoutMs !== undefined) {
    await client.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.round(statementTimeoutMs))}`);
  } else {
    // Keep a stricter timeout of the pool; give a pool without one (0: none) the default.
    await client.query(
      "SELECT set_config('statement_timeout', '300000', true) WHERE current_setting('statement_timeout') IN ('0', '0ms')",
    );
  }
  // A large table's sequential scan may otherwise start wherever another scan is, which would
  // rotate the "source order" of a source without a time column.
  await client.query('SET LOCAL synchronize_seqscans = off');
}

/**
 * Reads the planned columns of every row of the source, in snapshot order (see `snapshotQuery`).
 *
 * @throws SnapshotError (`source`) when PostgreSQL refuses the query or a value (SQL error, missing
 *   table, failed cast); connection failures are thrown as they are, to be retried
 */
export async function readColumns(
  pool: pg.Pool,
  spec: SnapshotSpec,
  plans: readonly ColumnPlan[],
  options: ReadOptions,
): Promise<Table> {
  const sql = snapshotQuery(spec.source, plans, spec.timeColumn);
  const builders: ColumnBuilder[] = plans.map((column) =>
    column.kind === 'categorical' ? new CategoricalBuilder(column.name) : new NumericBuilder(column.name),
  );
  const client = await pool.connect();
  try {
    // One consistent view of the data for the whole read, and no way to write through the query.
    await beginSourceRead(client, options.statementTimeoutMs);
    // float8 travels as text: ask for the digits that read back as the exact same double.
    await client.query('SET LOCAL extra_float_digits = 3');
    const refused = (error: unknown) => refusal(spec, error) ?? error;
    await client
      .query(singleStatement(`DECLARE kerf_snapshot NO SCROLL CURSOR FOR ${sql}`))
      .catch((error: unknown) => {
        throw refused(error);
      });
    const fetch = {
      text: `FETCH FORWARD ${options.fetchSize} FROM kerf_snapshot`,
      rowMode: 'array' as const,
    };
    for (;;) {
      const batch = await client.query<unknown[]>(fetch).catch((error: unknown) => {
        throw refused(error);
      });
      for (const row of batch.rows) {
        for (let index = 0; index < builders.length; index++) {
          (builders[index] as ColumnBuilder).add(row[index]);
        }
      }
      options.onProgress?.(builders[0]?.length ?? 0);
      if (batch.rows.length < options.fetchSize) break;
    }
  } finally {
    // Nothing to commit in a read-only read; rolling back also undoes any set_config the query made.
    await client.query('ROLLBACK').catch(() => undefined);
    // And the connection is not reused, so no session state of the spec's query outlives it.
    client.release(true);
  }
  return new Table(builders.map((builder) => builder.build()));
}

/**
 * SQLSTATE classes that say the query or the data is wrong (so running it again cannot help):
 * 22 data exception (a value that does not cast), 42 syntax or access rule (a missing table or
 * column, no permission), 2F/38/39 errors inside functions, 25 a write in a read-only transaction,
 * 3F a missing schema, 57014 a statement stopped by its timeout (a query that runs that long would
 * again).
 */
const REFUSALS = /^(22|42|2F|38|39|25|3F|57014)/;

/** The refusal to tell a person when PostgreSQL refused the source's query or data, else undefined. */
export function refusal(spec: SnapshotSpec, error: unknown): SnapshotError | undefined {
  if (!(error instanceof pg.DatabaseError) || !error.code || !REFUSALS.test(error.code)) return undefined;
  const what = sourceLabel(spec.source);
  const advice =
    error.code === '57014'
      ? 'make it faster (an index, fewer joins, a view) or raise KERF_SPEC_SQL_TIMEOUT_SECONDS'
      : error.code === '42P01'
        ? spec.source.kind === 'table'
          ? `load it first (e.g. \`kerf import-csv FILE --table ${spec.source.table}\`) or fix source.table`
          : 'load the table it reads first, or fix source.query'
        : error.code === '42501'
          ? "spec SQL runs as a reader that may only read the data schemas (KERF_SPEC_SCHEMAS), not Kerf's own tables nor administrators' functions: read a table of the shop or an imported one, or have an administrator grant SELECT on it to kerf_reader"
          : error.code === '42601' && /multiple commands/.test(error.message)
            ? 'a source is one SELECT statement: remove the ";" and what follows'
            : `fix ${spec.source.kind === 'table' ? 'source.table' : 'source.query'} or the data and run again`;
  return new SnapshotError(
    'source',
    `Cannot read ${what}: PostgreSQL says "${error.message}" (SQLSTATE ${error.code}); ${advice}.`,
    { cause: error },
  );
}
