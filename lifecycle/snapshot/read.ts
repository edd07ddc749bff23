/**
 * Streams a source's rows out of PostgreSQL into columns: a server-side cursor in a read-only
 * transaction, `fetchSize` rows per FETCH, each batch emptied into typed arrays before the next is
 * asked for. Only the current batch exists as JavaScript values, so memory follows the columns.
 */
import pg from 'pg';
import { Table } from '../../ml/table';
import { CategoricalBuilder, NumericBuilder, type ColumnBuilder } from './columns';
import { SnapshotError } from './errors';
import { snapshotQuery, sourceLabel, type ColumnPlan, type SnapshotSpec } from './plan';

export interface ReadOptions {
  /** Rows per FETCH. */
  fetchSize: number;
  /** Called after each batch with the rows read so far (an activity heartbeats from it). */
  onProgress?: (rowsRead: number) => void;
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
  let broken: Error | undefined;
  try {
    // One consistent view of the data for the whole read, and no way to write through the query.
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    // A large table's sequential scan may otherwise start wherever another scan is, which would
    // rotate the "source order" of a source without a time column.
    await client.query('SET LOCAL synchronize_seqscans = off');
    // float8 travels as text: ask for the digits that read back as the exact same double.
    await client.query('SET LOCAL extra_float_digits = 3');
    const refused = (error: unknown) => refusal(spec, error) ?? error;
    await client.query(`DECLARE kerf_snapshot NO SCROLL CURSOR FOR ${sql}`).catch((error: unknown) => {
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
    await client.query('COMMIT');
  } catch (error) {
    try {
      await client.query('ROLLBACK');
    } catch (rollbackError) {
      broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
    }
    throw error;
  } finally {
    client.release(broken ?? false);
  }
  return new Table(builders.map((builder) => builder.build()));
}

/**
 * SQLSTATE classes that say the query or the data is wrong (so running it again cannot help):
 * 22 data exception (a value that does not cast), 42 syntax or access rule (a missing table or
 * column, no permission), 2F/38/39 errors inside functions, 25 a write in a read-only transaction,
 * 3F a missing schema.
 */
const REFUSALS = /^(22|42|2F|38|39|25|3F)/;

function refusal(spec: SnapshotSpec, error: unknown): SnapshotError | undefined {
  if (!(error instanceof pg.DatabaseError) || !error.code || !REFUSALS.test(error.code)) return undefined;
  const what = sourceLabel(spec.source);
  const advice =
    error.code === '42P01'
      ? spec.source.kind === 'table'
        ? `load it first (e.g. \`kerf import-csv FILE --table ${spec.source.table}\`) or fix source.table`
        : 'load the table it reads first, or fix source.query'
      : error.code === '42501'
        ? 'grant SELECT on it to the user in DATABASE_URL'
        : `fix ${spec.source.kind === 'table' ? 'source.table' : 'source.query'} or the data and run again`;
  return new SnapshotError(
    'source',
    `Cannot read ${what}: PostgreSQL says "${error.message}" (SQLSTATE ${error.code}); ${advice}.`,
    { cause: error },
  );
}
