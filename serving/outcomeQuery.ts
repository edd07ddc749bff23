/**
 * The bulk path for outcomes: a read-only SQL query over the shop's own tables that returns one row
 * per business key with its actual value, joined to predictions by key. For cut-time, the booked
 * laser seconds per part of each job (the key is the job id the caller sent with its prediction):
 *
 * ```ts
 * await recordOutcomesFromQuery(pool, 'cut-time', `
 *   SELECT s.job_id AS key, s.run_seconds / j.quantity AS actual,
 *          s.started_at + make_interval(secs => s.run_seconds) AS observed_at
 *   FROM shop.route_steps s JOIN shop.jobs j ON j.job_id = s.job_id
 *   WHERE s.operation = 'cut'`);
 * ```
 *
 * The query must return `key` and `actual`, and may return `observed_at` (else now). It runs inside
 * a READ ONLY transaction with a statement timeout, as one statement of the extended protocol: it
 * can read, never write. A spec's query (the nightly check's `outcomes.query`) runs on the reader
 * role's pool (`readerPool`), which reads the shop's tables and never Kerf's own, so its rows travel
 * through this process: fetched from a cursor in batches into a temporary table of the application
 * role's connection, then moved into `serving.outcomes` in one transaction. A key that appears
 * twice keeps its latest row.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { singleStatement } from '../platform/database';
import { RegistryError } from '../registry';
import { errorMessage } from './errors';
import { modelTask } from './outcomes';

export interface OutcomeQueryOptions {
  /**
   * How long the query may run, in milliseconds: each statement, and all its batches together.
   * @default the reader pool's statement_timeout when it has one, else 300000
   */
  statementTimeoutMs?: number;
  /**
   * The pool the query runs on: the spec reader's (`createReaderPool`) for SQL that comes from a
   * spec, so that it reads only what a spec may read. Its connection is closed afterwards, never
   * reused, so no session state the query set outlives it.
   * @default a second connection of `pool` (the query then reads with the application role's grants)
   */
  readerPool?: pg.Pool;
  /** Called after each batch with the rows read so far (an activity heartbeats from it). */
  onProgress?: (rowsRead: number) => void;
}

/** What a query recorded. */
export interface RecordedOutcomes {
  /** Outcomes written: new, or replacing the earlier one of their key (a correction). */
  recorded: number;
  /** Rows left out because their key or actual value was null (or not finite). */
  skipped: number;
  /** Of the recorded outcomes, those whose key names a prediction the model answered (so far). */
  matched: number;
}

/** A query that cannot be used, with what to change. */
export class OutcomeQueryError extends Error {
  override readonly name = 'OutcomeQueryError';
}

const NUMBER_TYPES = new Set([20, 21, 23, 700, 701, 1700]);
const LABEL_TYPES = new Set([16, 18, 19, 25, 1042, 1043, 20, 21, 23]);
const TIME_TYPES = new Set([1082, 1114, 1184]);

/** Rows per FETCH: only one batch exists as JavaScript values at a time. */
const FETCH_ROWS = 5000;

const DEFAULT_TIMEOUT_MS = 300_000;

/** The most characters of PostgreSQL's message a refusal quotes. */
const MAX_SHOWN_CHARS = 500;

/**
 * Records the outcomes a read-only query returns (see the module's example).
 *
 * @param pool the application role's pool: the model's task is read and the outcomes written here
 * @throws OutcomeQueryError when the model is unknown, a column is missing or of the wrong type, the
 *   query runs past its time, or PostgreSQL refuses the query (its message kept); a lost connection
 *   is thrown as it is, for the caller to retry
 */
export async function recordOutcomesFromQuery(
  pool: pg.Pool,
  model: string,
  sql: string,
  options: OutcomeQueryOptions = {},
): Promise<RecordedOutcomes> {
  const task = await modelTask(pool, model).catch((error: unknown) => {
    throw error instanceof RegistryError ? new OutcomeQueryError(`model: ${errorMessage(error)}`) : error;
  });
  const staging = `kerf_outcomes_${randomUUID().replace(/-/g, '')}`;
  const writer = await pool.connect();
  try {
    await writer.query(
      `CREATE TEMP TABLE ${staging} (key text, actual_value float8, actual_label text, observed_at timestamptz)`,
    );
    await stageRows(options.readerPool ?? pool, writer, staging, sql, task, options);
    return await moveStaged(writer, staging, model);
  } finally {
    await writer.query(`DROP TABLE IF EXISTS ${staging}`).catch(() => undefined);
    writer.release();
  }
}

/** Runs the query on a reader connection of its own and copies its rows, batch by batch, into `staging`. */
async function stageRows(
  readerPool: pg.Pool,
  writer: pg.PoolClient,
  staging: string,
  sql: string,
  task: string,
  options: OutcomeQueryOptions,
): Promise<void> {
  // Newlines around the query so a trailing "-- comment" cannot swallow the closing parenthesis.
  const source = `(\n${sql.replace(/;(?:\s|--[^\n]*(?:\n|$))*$/, '')}\n) AS source`;
  const reader = await readerPool.connect();
  try {
    await reader.query('BEGIN READ ONLY');
    if (options.statementTimeoutMs !== undefined) {
      await reader.query(
        `SET LOCAL statement_timeout = ${Math.max(1, Math.round(options.statementTimeoutMs))}`,
      );
    } else {
      // Keep a stricter timeout of the pool (the reader pool has one); give a pool without one the default.
      await reader.query(
        `SELECT set_config('statement_timeout', '${DEFAULT_TIMEOUT_MS}', true) WHERE current_setting('statement_timeout') IN ('0', '0ms')`,
      );
    }
    // Values travel as text: timestamps with their offset, doubles with every digit.
    await reader.query("SET LOCAL DateStyle = 'ISO'");
    await reader.query('SET LOCAL extra_float_digits = 3');
    const { rows: settings } = await reader.query<{ ms: string }>(
      "SELECT setting AS ms FROM pg_catalog.pg_settings WHERE name = 'statement_timeout'",
    );
    const budgetMs = Number(settings[0]?.ms) || DEFAULT_TIMEOUT_MS;

    const { fields } = await refusedAs(
      reader.query(singleStatement(`SELECT * FROM ${source} LIMIT 0`)),
      budgetMs,
    );
    const actual = checkColumns(fields, task);
    const observed = fields.some((field) => field.name === 'observed_at')
      ? 'source.observed_at::timestamptz::text'
      : 'NULL::text';
    // Declared through the extended protocol: nothing can follow the query.
    await refusedAs(
      reader.query(
        singleStatement(
          `DECLARE kerf_outcomes NO SCROLL CURSOR FOR SELECT source.key::text, ${actual}, ${observed} FROM ${source}`,
        ),
      ),
      budgetMs,
    );
    const started = Date.now();
    let rowsRead = 0;
    for (;;) {
      const { rows } = await refusedAs(
        reader.query<(string | null)[]>({
          text: `FETCH FORWARD ${FETCH_ROWS} FROM kerf_outcomes`,
          rowMode: 'array',
        }),
        budgetMs,
      );
      if (rows.length > 0) {
        const column = (index: number) => rows.map((row) => row[index] ?? null);
        await writer.query(
          `INSERT INTO ${staging} (key, actual_value, actual_label, observed_at)
           SELECT key, actual_value::float8, actual_label, coalesce(observed_at::timestamptz, now())
           FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS batch(key, actual_value, actual_label, observed_at)`,
          [column(0), column(1), column(2), column(3)],
        );
      }
      rowsRead += rows.length;
      options.onProgress?.(rowsRead);
      if (rows.length < FETCH_ROWS) break;
      // Each FETCH has the statement timeout; the whole read gets it once too.
      if (Date.now() - started > budgetMs) throw timedOut(budgetMs);
    }
  } finally {
    // Nothing to commit in a read-only read; rolling back also undoes any set_config the query made.
    await reader.query('ROLLBACK').catch(() => undefined);
    reader.release(true);
  }
}

/** Moves the staged rows into `serving.outcomes` in one transaction: the usable ones, the latest per key. */
async function moveStaged(writer: pg.PoolClient, staging: string, model: string): Promise<RecordedOutcomes> {
  // Rows without a key or a finite actual value cannot be joined or judged: skipped and counted.
  const usable = `coalesce(key IS NOT NULL AND (actual_label IS NOT NULL OR (actual_value > '-Infinity' AND actual_value < 'Infinity')), false)`;
  try {
    await writer.query('BEGIN');
    const { rows } = await writer.query<RecordedOutcomes>(
      `WITH usable AS (
         SELECT DISTINCT ON (key) key, actual_value, actual_label, observed_at FROM ${staging}
         WHERE ${usable}
         ORDER BY key, observed_at DESC
       ), written AS (
         INSERT INTO serving.outcomes (model, key, actual_value, actual_label, observed_at)
         SELECT $1, key, actual_value, actual_label, observed_at FROM usable
         ON CONFLICT (model, key) WHERE prediction_id IS NULL DO UPDATE SET
           actual_value = EXCLUDED.actual_value, actual_label = EXCLUDED.actual_label,
           observed_at = EXCLUDED.observed_at, recorded_at = now()
         RETURNING key
       )
       SELECT (SELECT count(*) FROM written)::int AS recorded,
              (SELECT count(*) FROM ${staging} WHERE NOT (${usable}))::int AS skipped,
              (SELECT count(*) FROM written w WHERE EXISTS (
                 SELECT 1 FROM serving.predictions p WHERE p.model = $1 AND p.key = w.key AND p.alias <> 'shadow'
              ))::int AS matched`,
      [model],
    );
    await writer.query('COMMIT');
    return rows[0] ?? { recorded: 0, skipped: 0, matched: 0 };
  } catch (error) {
    await writer.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

function timedOut(budgetMs: number): OutcomeQueryError {
  return new OutcomeQueryError(
    `The outcome query ran past its time limit (${budgetMs / 1000} s): narrow it (a WHERE on recent rows, an index), ` +
      "or raise the statement timeout (KERF_SPEC_SQL_TIMEOUT_SECONDS for a spec's query)",
  );
}

/** What to do about each refusal of PostgreSQL's, by SQLSTATE. */
function refusalHint(error: pg.DatabaseError, budgetMs: number): string {
  switch (error.code) {
    case '25006': // read_only_sql_transaction
    case '25001': // active_sql_transaction: a try to make the read-only transaction writable
      return 'the query must only read';
    case '57014': // query_canceled (statement_timeout)
      return `it ran past its statement timeout (${budgetMs / 1000} s): narrow it, or raise the statement timeout`;
    case '42501': // insufficient_privilege
      return (
        "it may read only what its role may: a spec's query runs as the reader role, which reads the shop's " +
        "and imported tables (KERF_SPEC_SCHEMAS), never Kerf's own (registry, serving, monitoring, access)"
      );
    case '42P01': // undefined_table
      return 'load the table it reads first, or fix the query';
    default:
      return /multiple commands/.test(error.message)
        ? 'it must be one SELECT statement: remove the ";" and what follows'
        : 'fix the query';
  }
}

/**
 * A statement of the query, whose refusal by PostgreSQL becomes an OutcomeQueryError with its
 * message and what to do. Anything else (a lost connection) is thrown as it is, to be retried.
 */
async function refusedAs<T>(statement: Promise<T>, budgetMs: number): Promise<T> {
  try {
    return await statement;
  } catch (error) {
    if (!(error instanceof pg.DatabaseError)) throw error;
    // The message may quote the query's own values (a failed cast of a long text): cut short.
    const said = errorMessage(error);
    const shown = said.length > MAX_SHOWN_CHARS ? `${said.slice(0, MAX_SHOWN_CHARS)}...` : said;
    throw new OutcomeQueryError(
      `PostgreSQL refused the outcome query (${shown}): ${refusalHint(error, budgetMs)}`,
      { cause: error },
    );
  }
}

/** Checks the query's columns; returns the SQL for the staging table's two actual columns, as text. */
function checkColumns(fields: readonly pg.FieldDef[], task: string): string {
  const byName = new Map(fields.map((field) => [field.name, field.dataTypeID]));
  const names = fields.map((field) => field.name).join(', ') || 'none';
  const missing = ['key', 'actual'].filter((name) => !byName.has(name));
  if (missing.length > 0) {
    throw new OutcomeQueryError(
      `The outcome query returns no ${missing.join(' or ')} column (it returns ${names}): ` +
        'select the business key AS key and the actual value AS actual',
    );
  }
  const actualType = byName.get('actual') as number;
  const observedType = byName.get('observed_at');
  if (observedType !== undefined && !TIME_TYPES.has(observedType)) {
    throw new OutcomeQueryError(
      'The outcome query returns observed_at that is not a date or timestamp: cast it, or leave it out (now)',
    );
  }
  if (task === 'regression') {
    if (!NUMBER_TYPES.has(actualType)) {
      throw new OutcomeQueryError(
        'The outcome query returns a non-numeric actual, but the model is a regression: return a number (cast with ::float8)',
      );
    }
    return 'source.actual::float8::text, NULL::text';
  }
  if (!LABEL_TYPES.has(actualType)) {
    throw new OutcomeQueryError(
      `The outcome query returns an actual that is not a class label, but the model is a ${task} classifier: return text`,
    );
  }
  return 'NULL::text, source.actual::text';
}
