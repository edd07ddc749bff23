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
 * a READ ONLY transaction with a statement timeout, and as one statement: it can read, never write.
 * Its rows land in a temporary table first (allowed in a read-only transaction), then move into
 * `serving.outcomes` in a second transaction; a key that appears twice keeps its latest row.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { errorMessage } from './errors';
import { modelTask } from './outcomes';

export interface OutcomeQueryOptions {
  /**
   * How long the query may run, in milliseconds.
   * @default 300000
   */
  statementTimeoutMs?: number;
}

/** A query that cannot be used, with what to change. */
export class OutcomeQueryError extends Error {
  override readonly name = 'OutcomeQueryError';
}

const NUMBER_TYPES = new Set([20, 21, 23, 700, 701, 1700]);
const LABEL_TYPES = new Set([16, 18, 19, 25, 1042, 1043, 20, 21, 23]);
const TIME_TYPES = new Set([1082, 1114, 1184]);

/**
 * Records the outcomes a read-only query returns (see the module's example).
 *
 * @returns rows written, and rows skipped because their key or actual value was null (or not finite)
 * @throws OutcomeQueryError when the model is unknown, a column is missing or of the wrong type, or
 *   PostgreSQL refuses the query (its message kept)
 */
export async function recordOutcomesFromQuery(
  pool: pg.Pool,
  model: string,
  sql: string,
  options: OutcomeQueryOptions = {},
): Promise<{ recorded: number; skipped: number }> {
  const task = await modelTask(pool, model).catch((error: unknown) => {
    throw new OutcomeQueryError(`model: ${errorMessage(error)}`);
  });
  // Newlines around the query so a trailing "-- comment" cannot swallow the closing parenthesis.
  const source = `(\n${sql.replace(/;(?:\s|--[^\n]*(?:\n|$))*$/, '')}\n) AS source`;
  const timeoutMs = Math.max(1, Math.round(options.statementTimeoutMs ?? 300_000));
  const staging = `kerf_outcomes_${randomUUID().replace(/-/g, '')}`;
  const client = await pool.connect();
  try {
    await client.query(
      `CREATE TEMP TABLE ${staging} (key text, actual_value float8, actual_label text, observed_at timestamptz)`,
    );
    await client.query('BEGIN READ ONLY');
    await client.query(`SET LOCAL statement_timeout = ${timeoutMs}`);
    const fields = await runQuery(client, `SELECT * FROM ${source} LIMIT $1`, [0]);
    const actualColumn = checkColumns(fields, task);
    const observed = fields.some((field) => field.name === 'observed_at') ? 'source.observed_at' : 'now()';
    // A parameter makes it one statement of the extended protocol: nothing can follow the query.
    await runQuery(
      client,
      `INSERT INTO ${staging} SELECT source.key::text, ${actualColumn}, ${observed}
       FROM ${source} WHERE $1::boolean`,
      [true],
    );
    await client.query('COMMIT');

    // Rows without a key or a finite actual value cannot be joined or judged: skipped and counted.
    const usable = `coalesce(key IS NOT NULL AND (actual_label IS NOT NULL OR (actual_value > '-Infinity' AND actual_value < 'Infinity')), false)`;
    await client.query('BEGIN');
    const { rows } = await client.query<{ recorded: number; skipped: number }>(
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
         RETURNING 1
       )
       SELECT (SELECT count(*) FROM written)::int AS recorded,
              (SELECT count(*) FROM ${staging} WHERE NOT (${usable}))::int AS skipped`,
      [model],
    );
    await client.query('COMMIT');
    return rows[0] ?? { recorded: 0, skipped: 0 };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    await client.query(`DROP TABLE IF EXISTS ${staging}`).catch(() => undefined);
    client.release();
  }
}

async function runQuery(client: pg.PoolClient, text: string, values: unknown[]): Promise<pg.FieldDef[]> {
  try {
    return (await client.query(text, values)).fields;
  } catch (error) {
    const code = (error as { code?: string }).code;
    const hint =
      code === '25006'
        ? 'the query must only read'
        : code === '57014'
          ? 'it ran past its statement timeout: narrow it, or raise statementTimeoutMs'
          : 'fix the query';
    throw new OutcomeQueryError(`PostgreSQL refused the outcome query (${errorMessage(error)}): ${hint}`, {
      cause: error,
    });
  }
}

/** Checks the query's columns; returns the SQL for the staging table's two actual columns. */
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
    return 'source.actual::float8, NULL::text';
  }
  if (!LABEL_TYPES.has(actualType)) {
    throw new OutcomeQueryError(
      `The outcome query returns an actual that is not a class label, but the model is a ${task} classifier: return text`,
    );
  }
  return 'NULL::float8, source.actual::text';
}
