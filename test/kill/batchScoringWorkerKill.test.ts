/**
 * A worker dies in the middle of a batch scoring chunk (SIGKILL, as an OOM kill would): the chunk's
 * transaction dies with its connection, the server times the chunk out after its heartbeat timeout
 * and retries it on the other worker, and the run goes on from there. The chunks finished before the
 * kill are not scored again, the killed one is scored once more from its start, and every row ends in
 * the result table exactly once.
 */
import { Client, type Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectTemporalClient } from '../../platform/temporalConnection';
import { startBatchScoring } from '../../workflows/client/batchScoringRuns';
import { batchScoringStatusQuery } from '../../workflows/batchScoringTypes';
import { activityRuns, historyEvents, pendingActivities } from '../activityHistory';
import { testConfig, uniqueName } from '../helpers';
import { killWorkerProcesses, startWorkerProcess, type WorkerProcess } from '../lifecycleProcesses';
import { createServingWorld, modelName, registerVersion, type ServingWorld } from '../servingFixtures';
import { trustWorkerSigningKey } from '../trustedKeys';

const ROWS = 500_000;
const CHUNK_ROWS = 100_000;
/**
 * Trees enough that a chunk takes seconds on a two-core machine: the kill lands inside one. (Scoring
 * categories as codes made each tree cheaper: 1,600 keep a chunk at least as long as 800 did.)
 */
const ITERATIONS = 1600;
const model = modelName('batch-kill');
const taskQueue = uniqueName('batch_kill');
const source = uniqueName('parts');

let world: ServingWorld;
let version: number;
let connection: Connection;
let client: Client;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  world = await createServingWorld('batch_kill');
  cleanups.push(() => world.close());
  version = (await registerVersion(world, { model, iterations: ITERATIONS, alias: 'production' })).version;
  await world.db.ownerPool.query(
    `CREATE TABLE imported.${source} AS
     SELECT g AS part_id,
            (1 + (g * 37 % 191) / 10.0)::float8 AS thickness_mm,
            (100 + (g::bigint * 7919 % 4900))::float8 AS cut_length_mm,
            (ARRAY['mild_steel', 'stainless_steel', 'aluminium'])[1 + g % 3] AS material_family,
            (ARRAY['LAS-1', 'LAS-2'])[1 + g % 2] AS machine_id
       FROM generate_series(1, ${ROWS}) AS g`,
  );
  const config = testConfig(world.db.env);
  await trustWorkerSigningKey(world.db.ownerPool, config);
  connection = await connectTemporalClient(config.temporal);
  cleanups.push(() => connection.close());
  client = new Client({ connection, namespace: config.temporal.namespace });
}, 240_000);

afterAll(async () => {
  // The workers first: a live one would keep using the database being dropped.
  await killWorkerProcesses();
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

describe('a worker killed during a batch scoring chunk', () => {
  it('leaves the finished chunks alone, scores the killed one again elsewhere, and writes every row once', async () => {
    const workerEnv = { ...world.db.env, TEMPORAL_TASK_QUEUE: taskQueue };
    const workers: WorkerProcess[] = [
      await startWorkerProcess(workerEnv),
      await startWorkerProcess(workerEnv),
    ];
    const handle = await startBatchScoring(
      client,
      testConfig(),
      {
        model,
        query: `SELECT part_id, thickness_mm, cut_length_mm, material_family, machine_id FROM imported.${source}`,
        into: 'killed_parts',
        chunkRows: CHUNK_ROWS,
        parallelChunks: 1,
        startedBy: 'shop-manager',
      },
      { taskQueue },
    );
    cleanups.push(() => handle.terminate('test finished'));

    // At least one chunk done, and the server has a heartbeat from inside the next one.
    const deadline = Date.now() + 180_000;
    const midChunk = async () => {
      for (;;) {
        // The finished chunks first, then the pending one: asked the other way round, the pending
        // activity could be one that finished between the two answers (the first failure seen).
        const finished = await handle
          .query(batchScoringStatusQuery)
          .then((status) => status.finished.map((done) => done.chunk))
          .catch(() => [] as number[]);
        const seen = await pendingActivities<{ chunk: number; rows: number }>(handle, 'scoreBatchChunk');
        expect(seen.status).toBe('RUNNING');
        const chunk = seen.pending[0];
        // Early in the chunk, so the kill lands before it ends.
        const heartbeat = chunk?.heartbeat;
        const rowsDone = heartbeat?.rows ?? 0;
        const running = heartbeat !== undefined && !finished.includes(heartbeat.chunk);
        if (
          chunk &&
          heartbeat &&
          running &&
          finished.length >= 1 &&
          rowsDone > 0 &&
          rowsDone <= CHUNK_ROWS / 2
        ) {
          if (chunk.attempt === 1) return { ...chunk, heartbeat };
        }
        if (Date.now() > deadline) throw new Error(`no chunk seen mid-way: ${JSON.stringify(seen)}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    const target = await midChunk();
    const scorer = workers.find((worker) => target.worker.startsWith(`${worker.pid}@`));
    if (!scorer) throw new Error(`the chunk runs on ${target.worker}, not on a test worker`);
    const killedChunk = target.heartbeat.chunk;
    const killedAt = Date.now();
    await scorer.kill('SIGKILL');

    const result = await handle.result();
    console.log(
      `batch scoring worker kill: chunk ${killedChunk} killed after ${target.heartbeat.rows} of its rows; ` +
        `the run ended ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill`,
    );
    expect(result).toMatchObject({ model, version, rows: ROWS, chunks: ROWS / CHUNK_ROWS });

    // Every part once, all under this run and version.
    const { rows } = await world.db.pool.query<Record<string, number>>(
      `SELECT count(*)::int AS rows, count(DISTINCT part_id)::int AS parts,
              count(*) FILTER (WHERE run = $1 AND version = $2)::int AS tagged
         FROM scoring.killed_parts`,
      [result.run, version],
    );
    expect(rows[0]).toEqual({ rows: ROWS, parts: ROWS, tagged: ROWS });
    const { rows: marks } = await world.db.pool.query<{ chunk: number; rows: string }>(
      'SELECT chunk, rows FROM batch_scoring.chunks WHERE run = $1 ORDER BY chunk',
      [result.run],
    );
    expect(marks).toEqual(
      Array.from({ length: ROWS / CHUNK_ROWS }, (_, chunk) => ({ chunk, rows: String(CHUNK_ROWS) })),
    );

    // One activity per chunk; only the killed one took a second attempt.
    const chunks = activityRuns<{ chunk: number }>(await historyEvents(handle), ['scoreBatchChunk']);
    expect(chunks.map((run) => run.input?.chunk ?? -1).sort((a, b) => a - b)).toEqual(
      Array.from({ length: ROWS / CHUNK_ROWS }, (_, chunk) => chunk),
    );
    for (const { input, attempt } of chunks) {
      if (input?.chunk === killedChunk) expect(attempt).toBeGreaterThanOrEqual(2);
      else expect(attempt, `chunk ${input?.chunk}`).toBe(1);
    }
  }, 400_000);
});
