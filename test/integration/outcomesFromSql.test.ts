/**
 * Outcomes from SQL: a deployed cut-time model whose spec names where the booked cut times are
 * (`outcomes.query`) gets them joined to its predictions by the nightly check, so nobody posts
 * them; the night's report counts them. A spec whose query reads Kerf's own tables is refused at
 * night with a message naming the field, audited, and the check still runs; other hostile queries
 * on the reader pool are refused the same way and change nothing.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PipelineSpec } from '../../lifecycle/spec';
import { createReaderPool } from '../../platform/database';
import { auditTrail } from '../../registry';
import { buildServingApp, OutcomeQueryError, recordOutcomesFromQuery, type ServingApp } from '../../serving';
import { waitForStage } from '../../workflows/client/lifecycleRuns';
import { nightlyScheduleId } from '../../workflows/client/schedules';
import type { NightlyResult } from '../../workflows/monitoringTypes';
import type { nightlyEvaluation } from '../../workflows/nightlyEvaluation';
import { uniqueName } from '../helpers';
import { createLifecycleTestbed, type LifecycleTestbed } from '../lifecycleTestbed';

const TOKEN = 'outcomes-from-sql-token-0123456789';
/** The shop's table of booked cut times this test fills: its own name, so files stay parallel-safe. */
const BOOKED = `shop.${uniqueName('booked_cut_times')}`;
/** Kerf's own table a hostile spec tries to read. */
const READS_REGISTRY = 'SELECT actor AS key, 1.0::float8 AS actual FROM registry.audit_log';

let bed: LifecycleTestbed;
let serving: ServingApp;
let readerPool: pg.Pool;
/** Its outcomes come from BOOKED. */
let booked: PipelineSpec;
/** Its outcomes query reads the registry. */
let hostile: PipelineSpec;

beforeAll(async () => {
  bed = await createLifecycleTestbed('outcomes_sql');
  await bed.db.ownerPool.query(
    `CREATE TABLE ${BOOKED} (job_id text, actual_seconds double precision, finished_at timestamptz)`,
  );
  const cutTime = (query: string | string[]) =>
    bed.spec('cut-time.json', { trainer: { params: { iterations: 120 } }, outcomes: { query } });
  booked = await cutTime([
    'SELECT job_id AS key, actual_seconds AS actual, finished_at AS observed_at',
    `FROM ${BOOKED}`,
  ]);
  hostile = await cutTime(READS_REGISTRY);
  // Both deployed as any model is: trained, gated, approved by a person.
  await Promise.all(
    [booked, hostile].map(async (spec) => {
      const run = await bed.start(spec, { approvalDeadlineMs: 600_000 });
      await waitForStage(run, 'awaiting-approval', { timeoutMs: 240_000 });
      await bed.signalDecision(run, 'production-planner');
      expect(await run.result()).toMatchObject({ outcome: 'deployed', version: 1 });
    }),
  );
  serving = buildServingApp({
    pool: bed.db.pool,
    objectStore: bed.store,
    token: TOKEN,
    predictionLog: { flushIntervalMs: 100 },
  });
  await serving.models.ready();
  readerPool = createReaderPool(bed.db, bed.config.specSql);
}, 400_000);

afterAll(async () => {
  await readerPool.end();
  await serving.close();
  await bed.close();
});

/** Cut-time rows of the shop's jobs, the spec's feature columns and the job id. */
async function jobRows(spec: PipelineSpec, count: number): Promise<{ jobId: string; inputs: object }[]> {
  if (spec.source.kind !== 'sql') throw new Error('cut-time reads a query');
  const { rows } = await bed.db.pool.query<Record<string, unknown>>(
    `SELECT * FROM (${spec.source.query}) AS source ORDER BY job_id LIMIT ${count}`,
  );
  return rows.map((row) => ({
    jobId: String(row.job_id),
    inputs: Object.fromEntries(
      spec.features.map((feature) => [
        feature.name,
        feature.kind === 'numeric' && typeof row[feature.name] === 'string'
          ? Number(row[feature.name])
          : row[feature.name],
      ]),
    ),
  }));
}

/** Serves the rows through the API, each keyed by its job id, and waits until they are logged. */
async function serve(spec: PipelineSpec, rows: { jobId: string; inputs: object }[]): Promise<void> {
  const response = await serving.app.inject({
    method: 'POST',
    url: `/v1/models/${spec.name}/predict`,
    headers: { authorization: `Bearer ${TOKEN}` },
    payload: { rows: rows.map((row) => row.inputs), keys: rows.map((row) => row.jobId) },
  });
  expect(response.statusCode).toBe(200);
  await serving.predictionLog.flush();
}

/** Runs the model's nightly check as its schedule would; returns its id and result. */
async function nightly(spec: PipelineSpec): Promise<{ workflowId: string; result: NightlyResult }> {
  const workflowId = `${nightlyScheduleId(spec.name)}-${Date.now()}`;
  const result = await bed.client.workflow.execute<typeof nightlyEvaluation>('nightlyEvaluation', {
    taskQueue: bed.taskQueue,
    workflowId,
    args: [{ model: spec.name, approvalDeadlineMs: 600_000 }],
  });
  return { workflowId, result };
}

async function outcomeCount(model: string): Promise<number> {
  const { rows } = await bed.db.pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM serving.outcomes WHERE model = $1',
    [model],
  );
  return rows[0]?.n ?? 0;
}

describe('outcomes from SQL', () => {
  it('joins the booked cut times to the predictions at night, and the report counts them', async () => {
    const rows = await jobRows(booked, 30);
    await serve(booked, rows);
    // The shop books 25 of the 30 jobs; one more job that was never predicted, and one row without
    // its time. A job booked twice keeps its latest booking.
    const bookedJobs = rows.slice(0, 25).map((row, index) => ({ jobId: row.jobId, seconds: 10 + index }));
    await bed.db.ownerPool.query(
      `INSERT INTO ${BOOKED} (job_id, actual_seconds, finished_at)
       SELECT job_id, seconds, now() - interval '1 hour' FROM unnest($1::text[], $2::float8[]) AS b(job_id, seconds)
       UNION ALL VALUES ($3, 99, now() - interval '2 hours'), ('never-predicted', 5, now()), ('no-time-yet', NULL, now())`,
      [bookedJobs.map((job) => job.jobId), bookedJobs.map((job) => job.seconds), bookedJobs[0]?.jobId],
    );

    const { workflowId, result } = await nightly(booked);
    expect(result.outcomes).toEqual({ recorded: 26, matched: 25, skipped: 1 });
    expect(result.version).toBe(1);
    expect(result.predictions).toBe(30);
    expect(result.labelled).toBe(25);
    const { rows: report } = await bed.db.pool.query<{ labelled: number }>(
      'SELECT labelled FROM monitoring.reports WHERE model = $1 AND run_id = $2',
      [booked.name, workflowId],
    );
    expect(report).toEqual([{ labelled: 25 }]);
    const { rows: labelled } = await bed.db.pool.query<{ key: string; actual: number; matched_by: string }>(
      `SELECT key, actual_value AS actual, matched_by FROM serving.labelled_predictions
       WHERE model = $1 ORDER BY actual_value`,
      [booked.name],
    );
    expect(labelled).toEqual(
      bookedJobs.map((job) => ({ key: job.jobId, actual: job.seconds, matched_by: 'key' })),
    );
    // Nothing to announce: the query worked and the model is fresh.
    const actions = (await auditTrail(bed.db.pool, booked.name)).map((entry) => entry.action);
    expect(actions).not.toContain('outcomes-query-refused');
    await bed.keepHistory({ workflowId }, 'nightly-outcomes-from-sql');

    // The next night reads the same bookings again: replaced, never doubled.
    const again = await nightly(booked);
    expect(again.result.outcomes).toEqual({ recorded: 26, matched: 25, skipped: 1 });
    expect(await outcomeCount(booked.name)).toBe(26);
  });

  it('refuses a query that reads the registry, audits it, and the check still runs', async () => {
    await serve(hostile, await jobRows(hostile, 5));
    const { workflowId, result } = await nightly(hostile);
    const refused = result.outcomes?.refused ?? '';
    expect(refused).toMatch(
      /^outcomes\.query: PostgreSQL refused the outcome query \(permission denied for (schema registry|table audit_log)\): it may read only what its role may: a spec's query runs as the reader role, which reads the shop's and imported tables \(KERF_SPEC_SCHEMAS\), never Kerf's own \(registry, serving, monitoring, access\)$/,
    );
    expect(result.outcomes).toEqual({ recorded: 0, matched: 0, skipped: 0, refused });
    // The night went on: the window was judged and reported.
    expect(result).toMatchObject({ version: 1, predictions: 5, labelled: 0 });
    expect(result.reportId).toBeGreaterThan(0);
    expect(await outcomeCount(hostile.name)).toBe(0);

    const audit = await auditTrail(bed.db.pool, hostile.name);
    const refusal = audit.find((entry) => entry.action === 'outcomes-query-refused');
    expect(refusal).toMatchObject({
      actor: 'kerf-nightly',
      version: 1,
      details: { field: 'outcomes.query', runId: workflowId, reason: refused },
    });
    // A person hears of it: the night's announcement carries the refusal.
    const announced = audit.filter((entry) => entry.action === 'nightly-announcement').at(-1);
    expect(announced?.details).toMatchObject({ model: hostile.name, outcomes: { refused } });
  });

  it('refuses other hostile queries on the reader pool, and changes nothing', async () => {
    const before = await outcomeCount(booked.name);
    const { rows: bookedBefore } = await bed.db.ownerPool.query(`SELECT * FROM ${BOOKED} ORDER BY job_id`);
    const refusal = (sql: string, statementTimeoutMs?: number) =>
      recordOutcomesFromQuery(bed.db.pool, booked.name, sql, { readerPool, statementTimeoutMs }).then(
        () => new Error('the query should have been refused'),
        (error: unknown) => error,
      );

    // A second statement hidden from a lexical check by a quote: PostgreSQL takes one statement only.
    const smuggled = await refusal(
      `SELECT E'\\'' AS key, 1.0 AS actual) AS s; COMMIT; DELETE FROM ${BOOKED}; SELECT * FROM (SELECT 'x' AS key, 1.0 AS actual`,
    );
    expect(smuggled).toBeInstanceOf(OutcomeQueryError);
    expect((smuggled as Error).message).toBe(
      'PostgreSQL refused the outcome query (cannot insert multiple commands into a prepared statement): ' +
        'it must be one SELECT statement: remove the ";" and what follows',
    );
    // Writing through a function: the reader may not touch serving's sequence at all.
    const sequence = await refusal(
      "SELECT 'k' AS key, nextval('serving.outcomes_outcome_id_seq')::float8 AS actual",
    );
    expect((sequence as Error).message).toMatch(
      /^PostgreSQL refused the outcome query \(permission denied for (schema serving|sequence outcomes_outcome_id_seq)\)/,
    );
    // A query that runs too long is stopped by its statement timeout.
    const slow = await refusal("SELECT 'k' AS key, 1.0::float8 AS actual FROM pg_sleep(5)", 300);
    expect((slow as Error).message).toBe(
      'PostgreSQL refused the outcome query (canceling statement due to statement timeout): ' +
        'it ran past its statement timeout (0.3 s): narrow it, or raise the statement timeout',
    );
    // Columns it cannot use.
    const columns = await refusal(`SELECT job_id FROM ${BOOKED}`);
    expect((columns as Error).message).toMatch(/returns no key or actual column \(it returns job_id\)/);

    expect(await outcomeCount(booked.name)).toBe(before);
    expect((await bed.db.ownerPool.query(`SELECT * FROM ${BOOKED} ORDER BY job_id`)).rows).toEqual(
      bookedBefore,
    );
  });
});
