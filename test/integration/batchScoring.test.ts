/**
 * Batch scoring on the stack: a deployed version scores 50,000 rows of an imported table in several
 * chunks through the `batchScoring` workflow (an in-process worker on the test's own queues), every
 * row once, with the version and a prediction id; the numbers are the ones the prediction API answers
 * for the same rows; a classifier writes labels and probabilities; a second run into the same table
 * keeps the first's rows; a spec's scheduled scoring is a Temporal Schedule; and `kerf score` starts
 * and follows a run as an operator (a reader is refused, and the refusal audited).
 *
 * With KERF_RECORD_HISTORIES=1 the first run's history is kept as the replay fixture
 * `test/replay/histories/batch-scoring.json`.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client, type Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditTrail } from '../../registry';
import type { PredictResponse, RunningServing } from '../../serving';
import { connectTemporalClient } from '../../platform/temporalConnection';
import { heavyQueueOf } from '../../platform/taskQueues';
import { locateTool, TEMPORAL_CLI } from '../../scripts/stack/tools';
import { startBatchScoring } from '../../workflows/client/batchScoringRuns';
import { ensureScoringSchedules, scoringScheduleId } from '../../workflows/client/scoringSchedules';
import type { batchScoring } from '../../workflows/batchScoring';
import type { BatchScoringInput } from '../../workflows/batchScoringTypes';
import { createKerfWorker, type KerfWorker } from '../../workers/kerfWorker';
import { runKerf, testConfig, uniqueName } from '../helpers';
import { addTestPeople, historiesDir } from '../lifecycleTestbed';
import {
  answerOf,
  createServingWorld,
  modelName,
  type RegisteredVersion,
  registerVersion,
  SERVING_TOKEN,
  type ServingWorld,
  startWorldServing,
} from '../servingFixtures';
import { trustWorkerSigningKey } from '../trustedKeys';

const ROWS = 50_000;
const CHUNK_ROWS = 7_000;
const model = modelName('batch-cut');
const classifier = modelName('batch-slow');
const taskQueue = uniqueName('batch_scoring');
const source = uniqueName('parts');

let world: ServingWorld;
let regression: RegisteredVersion;
let binary: RegisteredVersion;
let worker: KerfWorker;
let running: Promise<void>;
let connection: Connection;
let client: Client;
let serving: RunningServing;
let people: Record<string, string>;
let config: ReturnType<typeof testConfig>;

/** The columns the fixtures' versions take, and part_id, the key. */
const QUERY = `SELECT part_id, thickness_mm, cut_length_mm, material_family, machine_id FROM imported.${source}`;

beforeAll(async () => {
  world = await createServingWorld('batch_scoring');
  regression = await registerVersion(world, { model, iterations: 30, alias: 'production' });
  binary = await registerVersion(world, {
    model: classifier,
    iterations: 20,
    alias: 'production',
    task: 'binary',
  });
  // Parts like the fixtures' (some in titanium, which no version saw; some without a laser), as the
  // owner loads an imported table; the spec reader may read it.
  await world.db.ownerPool.query(
    `CREATE TABLE imported.${source} AS
     SELECT g AS part_id,
            (1 + (g * 37 % 191) / 10.0)::float8 AS thickness_mm,
            (100 + (g * 7919 % 4900))::float8 AS cut_length_mm,
            CASE WHEN g % 50 = 0 THEN 'titanium'
                 ELSE (ARRAY['mild_steel', 'stainless_steel', 'aluminium'])[1 + g % 3] END AS material_family,
            CASE WHEN g % 97 = 0 THEN NULL ELSE (ARRAY['LAS-1', 'LAS-2'])[1 + g % 2] END AS machine_id
       FROM generate_series(1, ${ROWS}) AS g`,
  );
  config = testConfig({ ...world.db.env, TEMPORAL_TASK_QUEUE: taskQueue });
  await trustWorkerSigningKey(world.db.ownerPool, config);
  people = await addTestPeople(world.db.pool);
  worker = await createKerfWorker(config, { taskQueue });
  running = worker.run();
  connection = await connectTemporalClient(config.temporal);
  client = new Client({ connection, namespace: config.temporal.namespace });
  serving = await startWorldServing(world);
}, 240_000);

afterAll(async () => {
  await client.schedule
    .getHandle(scoringScheduleId(model, 'nightly-parts'))
    .delete()
    .catch(() => undefined);
  await serving.close();
  await worker.shutdown();
  await running.catch(() => undefined);
  await connection.close();
  await world.close();
});

/** With KERF_RECORD_HISTORIES=1, keeps a finished run's history as a replay fixture. */
async function keepHistory(workflowId: string, name: string): Promise<void> {
  if (process.env.KERF_RECORD_HISTORIES !== '1') return;
  const cli = await locateTool(TEMPORAL_CLI, {
    toolsDir: config.toolsDir,
    explicitPath: config.temporal.cliPath,
    pathVariable: process.env.PATH,
  });
  if (!cli) throw new Error('KERF_RECORD_HISTORIES needs the Temporal CLI: run `npm run tools`');
  const { stdout } = await promisify(execFile)(
    cli,
    [
      'workflow',
      'show',
      '--workflow-id',
      workflowId,
      '--output',
      'json',
      '--address',
      config.temporal.address,
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  await writeFile(path.join(historiesDir, `${name}.json`), stdout);
}

function score(input: Omit<BatchScoringInput, 'startedBy'>) {
  return startBatchScoring(client, config, { startedBy: 'shop-manager', ...input }, { taskQueue });
}

describe('batch scoring', () => {
  it('scores every row once in chunks, with the version and a prediction id, as the API answers them', async () => {
    const handle = await score({ model, query: QUERY, into: 'part_cut_seconds', chunkRows: CHUNK_ROWS });
    const result = await handle.result();
    await keepHistory(handle.workflowId, 'batch-scoring');
    const chunks = Math.ceil(ROWS / CHUNK_ROWS);
    expect(result).toMatchObject({
      model,
      version: regression.version,
      into: 'scoring.part_cut_seconds',
      rows: ROWS,
      chunks,
    });
    // Every part once, with this run's number and version, and ids of their own.
    const { rows: counts } = await world.db.pool.query<Record<string, number>>(
      `SELECT count(*)::int AS rows, count(DISTINCT part_id)::int AS parts, count(DISTINCT prediction_id)::int AS ids,
              count(*) FILTER (WHERE run = $1 AND version = $2)::int AS tagged,
              min(part_id)::int AS first, max(part_id)::int AS last
         FROM scoring.part_cut_seconds`,
      [result.run, regression.version],
    );
    expect(counts[0]).toEqual({ rows: ROWS, parts: ROWS, ids: ROWS, tagged: ROWS, first: 1, last: ROWS });
    // Each chunk marked once, and together they wrote every row.
    const { rows: marks } = await world.db.pool.query<{ chunk: number; rows: string }>(
      'SELECT chunk, rows FROM batch_scoring.chunks WHERE run = $1 ORDER BY chunk',
      [result.run],
    );
    expect(marks.map((mark) => mark.chunk)).toEqual(Array.from({ length: chunks }, (_, index) => index));
    expect(marks.reduce((sum, mark) => sum + Number(mark.rows), 0)).toBe(ROWS);
    const { rows: runs } = await world.db.pool.query<{ status: string; staged: string | null }>(
      `SELECT status, to_regclass('batch_scoring.rows_' || run) AS staged FROM batch_scoring.runs WHERE run = $1`,
      [result.run],
    );
    expect(runs).toEqual([{ status: 'scored', staged: null }]);
    // Titanium (every 50th part) is a category the version never saw: counted, scored as missing.
    expect(result.unseen).toEqual({ material_family: ROWS / 50 });
    const audit = await auditTrail(world.db.pool, model);
    expect(audit.map((entry) => entry.action)).toContain('batch-scored');

    // The same numbers as the prediction API for a sample, titanium and missing lasers included.
    const { rows: sample } = await world.db.pool.query<{ part_id: number; prediction: number }>(
      'SELECT part_id::int, prediction FROM scoring.part_cut_seconds WHERE part_id % 997 = 0 OR part_id IN (50, 97, 100) ORDER BY part_id',
    );
    const { rows: inputs } = await world.db.ownerPool.query<Record<string, unknown>>(
      `SELECT thickness_mm, cut_length_mm, material_family, machine_id FROM imported.${source}
        WHERE part_id = ANY($1::int[]) ORDER BY part_id`,
      [sample.map((row) => row.part_id)],
    );
    const answer = await answerOf(
      await fetch(`${serving.url}/v1/models/${model}/predict`, {
        method: 'POST',
        headers: { authorization: `Bearer ${SERVING_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ rows: inputs }),
      }),
    );
    expect(answer.status).toBe(200);
    const served = (answer.json as unknown as PredictResponse).predictions.map(
      (prediction) => prediction.value,
    );
    expect(sample.length).toBeGreaterThan(50);
    expect(sample.map((row) => row.prediction)).toEqual(served);
  }, 180_000);

  it('writes a classifier label and class probabilities as the API answers them', async () => {
    const handle = await score({ model: classifier, query: QUERY, into: 'part_slow', chunkRows: 20_000 });
    const result = await handle.result();
    expect(result).toMatchObject({ rows: ROWS, chunks: 3, version: binary.version });
    const { rows: labels } = await world.db.pool.query<{ class_labels: string[] }>(
      'SELECT class_labels FROM batch_scoring.runs WHERE run = $1',
      [result.run],
    );
    const classLabels = labels[0]?.class_labels ?? [];
    expect([...classLabels].sort()).toEqual(['fast', 'slow']);
    const { rows: sample } = await world.db.pool.query<{ label: string; probabilities: number[] }>(
      'SELECT label, probabilities FROM scoring.part_slow WHERE part_id <= 40 ORDER BY part_id',
    );
    const { rows: inputs } = await world.db.ownerPool.query<Record<string, unknown>>(
      `SELECT thickness_mm, cut_length_mm, material_family, machine_id FROM imported.${source}
        WHERE part_id <= 40 ORDER BY part_id`,
    );
    const answer = await answerOf(
      await fetch(`${serving.url}/v1/models/${classifier}/predict`, {
        method: 'POST',
        headers: { authorization: `Bearer ${SERVING_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ rows: inputs }),
      }),
    );
    const served = (answer.json as unknown as PredictResponse).predictions.map(
      (prediction) => prediction.value as { label: string; probabilities: Record<string, number> },
    );
    expect(
      sample.map((row) => ({
        label: row.label,
        probabilities: Object.fromEntries(classLabels.map((label, k) => [label, row.probabilities[k]])),
      })),
    ).toEqual(served);
  }, 120_000);

  it('keeps earlier runs in the table: a second run adds its rows under its own number', async () => {
    const first = await (
      await score({ model, query: `${QUERY} WHERE part_id <= 3000`, into: 'part_repeat' })
    ).result();
    const second = await (
      await score({
        model,
        version: regression.version,
        query: `${QUERY} WHERE part_id <= 2000`,
        into: 'scoring.part_repeat',
      })
    ).result();
    expect(second.run).not.toBe(first.run);
    const { rows } = await world.db.pool.query<{ run: string; rows: number }>(
      'SELECT run, count(*)::int AS rows FROM scoring.part_repeat GROUP BY run ORDER BY run',
    );
    expect(rows).toEqual([
      { run: String(first.run), rows: 3000 },
      { run: String(second.run), rows: 2000 },
    ]);
  }, 120_000);

  it('refuses another model into a table that holds one, naming both, and writes nothing', async () => {
    const handle = await score({ model: classifier, query: QUERY, into: 'part_cut_seconds' });
    const failure = await handle.result().then(
      () => undefined,
      (error: unknown) => error as Error & { cause?: { cause?: Error } },
    );
    expect(failure?.cause?.cause?.message).toBe(
      `into: scoring.part_cut_seconds holds predictions of ${model}, not ${classifier}: write to another table`,
    );
    const { rows } = await world.db.pool.query<{ rows: number }>(
      'SELECT count(*)::int AS rows FROM scoring.part_cut_seconds',
    );
    expect(rows[0]?.rows).toBe(ROWS);
  }, 60_000);

  it("a spec's scheduled scoring is a Temporal Schedule that scores with production, kept in step with the spec", async () => {
    const job = {
      name: 'nightly-parts',
      query: `${QUERY} WHERE part_id <= 1000`,
      into: 'part_nightly',
      schedule: '0 3 * * *',
    };
    const scheduleId = scoringScheduleId(model, job.name);
    const options = { model, taskQueue, heavyTaskQueue: heavyQueueOf(taskQueue), setBy: 'run:test' };
    expect(await ensureScoringSchedules(client, { ...options, jobs: [job] })).toEqual({
      created: [scheduleId],
      updated: [],
      removed: [],
    });
    const schedule = client.schedule.getHandle(scheduleId);
    const described = await schedule.describe();
    expect(described.action).toMatchObject({
      type: 'startWorkflow',
      workflowType: 'batchScoring',
      taskQueue,
      args: [
        {
          model,
          query: job.query,
          into: job.into,
          startedBy: `schedule:${scheduleId}`,
          heavyTaskQueue: heavyQueueOf(taskQueue),
        },
      ],
    });
    expect(described.info.nextActionTimes[0]?.getUTCHours()).toBe(3);
    // Setting it again changes nothing but the note.
    expect(await ensureScoringSchedules(client, { ...options, jobs: [job] })).toMatchObject({
      created: [],
      updated: [scheduleId],
    });

    await schedule.trigger();
    const started = await waitForAction(scheduleId);
    const result = await client.workflow.getHandle<typeof batchScoring>(started).result();
    expect(result).toMatchObject({
      model,
      version: regression.version,
      rows: 1000,
      into: 'scoring.part_nightly',
    });

    // A spec without the entry takes the schedule away.
    const removed = await ensureScoringSchedules(client, { ...options, jobs: [] });
    expect(removed.removed).toEqual([scheduleId]);
  }, 120_000);

  it('`kerf score` runs as an operator, one line per chunk and a final line with rows and rows/s', async () => {
    const env = {
      ...world.db.env,
      TEMPORAL_TASK_QUEUE: taskQueue,
      KERF_KEY: people['production-planner'] ?? '',
    };
    const outcome = await runKerf(
      [
        'score',
        model,
        '--query',
        `${QUERY} WHERE part_id <= 12000`,
        '--into',
        'part_cli',
        '--chunk-rows',
        '5000',
      ],
      env,
    );
    expect(outcome.stderr).toBe('');
    expect(outcome.code).toBe(0);
    const lines = outcome.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^Started score-/);
    expect(
      lines.filter((line) => /^ {2}chunk \d\/3: \d+ rows in \d+\.\d\d s \(\d+ rows\/s\)$/.test(line)),
    ).toHaveLength(3);
    expect(lines.at(-1)).toMatch(
      new RegExp(
        `^scored 12000 rows with ${model} v${regression.version} into scoring\\.part_cli \\(run \\d+, 3 chunks\\) in \\d+\\.\\d\\d s: \\d+ rows/s`,
      ),
    );
  }, 120_000);

  it('`kerf score` refuses a reader and audits the refusal', async () => {
    const env = { ...world.db.env, TEMPORAL_TASK_QUEUE: taskQueue, KERF_KEY: people.intern ?? '' };
    const outcome = await runKerf(['score', model, '--query', QUERY, '--into', 'part_intern'], env);
    expect(outcome.code).toBe(1);
    expect(outcome.stderr.trim()).toBe(
      'kerf: user intern has roles reader, not operator: only an operator may score',
    );
    const { rows } = await world.db.pool.query<{ actor: string; details: Record<string, unknown> }>(
      "SELECT actor, details FROM registry.audit_log WHERE action = 'batch-scoring-refused' AND actor = 'intern'",
    );
    expect(rows).toEqual([
      {
        actor: 'intern',
        details: {
          model,
          stage: 'cli',
          reason: 'user intern has roles reader, not operator: only an operator may score',
          authenticatedBy: 'cli-key',
        },
      },
    ]);
    const { rows: tables } = await world.db.pool.query("SELECT to_regclass('scoring.part_intern') AS found");
    expect(tables).toEqual([{ found: null }]);
  }, 60_000);
});

/** The id of the workflow a schedule started, once it has. */
async function waitForAction(scheduleId: string): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const described = await client.schedule.getHandle(scheduleId).describe();
    const action = described.info.recentActions.at(-1);
    if (action) return action.action.workflow.workflowId;
    if (Date.now() > deadline) throw new Error(`schedule ${scheduleId} started nothing within 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
