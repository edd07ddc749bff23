/**
 * The books of batch scoring runs (`batch_scoring.runs`): a run is recorded once its rows are staged,
 * in the same transaction, under the number its staging table carries; it is marked scored or failed
 * at its end. A run is found again by its workflow id, so a retried plan returns the same run.
 */
import type pg from 'pg';
import type { Queryable } from '../../registry/sql';
import type { KeyColumn } from './query';

/** A recorded run, as its chunks and its end need it. */
export interface BatchRun {
  run: number;
  workflowId: string;
  model: string;
  version: number;
  /** The result table's name in schema `scoring`. */
  into: string;
  keyColumns: KeyColumn[];
  output: 'value' | 'label';
  classLabels: string[] | null;
  rows: number;
  chunkRows: number;
  status: 'scoring' | 'scored' | 'failed';
  startedBy: string;
}

interface RunRow {
  run: string;
  workflow_id: string;
  model: string;
  version: number;
  into_table: string;
  key_columns: KeyColumn[];
  output: 'value' | 'label';
  class_labels: string[] | null;
  rows: string;
  chunk_rows: number;
  status: BatchRun['status'];
  started_by: string;
}

const RUN_COLUMNS = `r.run, r.workflow_id, r.model, r.version, r.into_table, t.key_columns, t.output,
  r.class_labels, r.rows, r.chunk_rows, r.status, r.started_by`;

function runOf(row: RunRow): BatchRun {
  return {
    run: Number(row.run),
    workflowId: row.workflow_id,
    model: row.model,
    version: row.version,
    into: row.into_table,
    keyColumns: row.key_columns,
    output: row.output,
    classLabels: row.class_labels,
    rows: Number(row.rows),
    chunkRows: row.chunk_rows,
    status: row.status,
    startedBy: row.started_by,
  };
}

/** The run a workflow recorded (by its id), or a run by its number, if there is one. */
export async function findRun(
  db: Queryable,
  which: { workflowId: string } | { run: number },
): Promise<BatchRun | undefined> {
  const [column, value] = 'run' in which ? ['run', which.run] : ['workflow_id', which.workflowId];
  const { rows } = await db.query<RunRow>(
    `SELECT ${RUN_COLUMNS} FROM batch_scoring.runs r
       JOIN batch_scoring.result_tables t ON t.name = r.into_table
      WHERE r.${column} = $1`,
    [value],
  );
  return rows[0] && runOf(rows[0]);
}

/** A run's number, drawn before its rows are staged under it. */
export async function nextRunNumber(client: pg.PoolClient): Promise<number> {
  const { rows } = await client.query<{ run: string }>("SELECT nextval('batch_scoring.runs_run_seq') AS run");
  return Number(rows[0]?.run);
}

/** What `recordRun` writes. */
export interface NewRun {
  run: number;
  workflowId: string;
  model: string;
  version: number;
  into: string;
  querySha256: string;
  classLabels: string[] | null;
  startedBy: string;
  rows: number;
  chunkRows: number;
}

/** Records a run whose rows were staged; in the transaction that staged them. */
export async function recordRun(client: pg.PoolClient, run: NewRun): Promise<void> {
  await client.query(
    `INSERT INTO batch_scoring.runs
       (run, workflow_id, model, version, into_table, query_sha256, class_labels, started_by, rows, chunk_rows, status)
     VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10, 'scoring')`,
    [
      run.run,
      run.workflowId,
      run.model,
      run.version,
      run.into,
      run.querySha256,
      run.classLabels === null ? null : JSON.stringify(run.classLabels),
      run.startedBy,
      run.rows,
      run.chunkRows,
    ],
  );
}

/** The rows the run's finished chunks wrote, and how many chunks finished. */
export async function scoredSoFar(db: Queryable, run: number): Promise<{ rows: number; chunks: number }> {
  const { rows } = await db.query<{ rows: string; chunks: number }>(
    'SELECT coalesce(sum(rows), 0) AS rows, count(*)::int AS chunks FROM batch_scoring.chunks WHERE run = $1',
    [run],
  );
  return { rows: Number(rows[0]?.rows ?? 0), chunks: rows[0]?.chunks ?? 0 };
}

/**
 * Ends a run: scored, or failed with the reason.
 *
 * @returns false when it had ended already (nothing changed)
 */
export async function endRun(
  db: Queryable,
  workflowId: string,
  end: { status: 'scored' } | { status: 'failed'; reason: string },
): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE batch_scoring.runs SET status = $2, reason = $3, finished_at = now()
      WHERE workflow_id = $1 AND status = 'scoring'`,
    [workflowId, end.status, end.status === 'failed' ? end.reason : null],
  );
  return rowCount === 1;
}
