/**
 * The Temporal server is restarted while a run waits for approval: the run, its timers and its state
 * are in the server's SQLite file, so after the restart the same run takes the approval and deploys.
 *
 * Only Temporal is this file's own (free ports, its own data folder); PostgreSQL and S3 are the shared
 * test stack's, with a database of this file's own, so the other test files keep their servers.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KerfConfig } from '../../platform/config';
import {
  type LifecycleHandle,
  lifecycleStatus,
  startLifecycle,
  waitForStage,
} from '../../workflows/client/lifecycleRuns';
import { applyMigrations } from '../../platform/migrations';
import { defaultPaths, migrationsDir } from '../../platform/paths';
import { type PipelineSpec } from '../../lifecycle/spec';
import { buildSpec, shippedSpecInput, uniqueSpecName } from '../specBuilder';
import { listVersions } from '../../registry';
import { checkTemporal } from '../../scripts/stack/health';
import { stackDown, stackUp } from '../../scripts/stack/control';
import { readState } from '../../scripts/stack/state';
import { generateShop } from '../../shop/load';
import type { modelLifecycle } from '../../workflows/modelLifecycle';
import { createKerfWorker, type KerfWorker } from '../../workers/kerfWorker';
import { createOwnDatabase, freePort, type OwnDatabase, testConfig, uniqueName } from '../helpers';
import { trustWorkerSigningKey } from '../trustedKeys';
import { addTestPeople, signalWithCode } from '../lifecycleTestbed';
import { connectTemporalClient } from '../../platform/temporalConnection';

const name = uniqueName('temporal_restart');
const dataDir = path.join(defaultPaths.dataDir, 'test-stacks', name);
const taskQueue = uniqueName('temporal_restart');
const quiet = () => undefined;

/** What afterAll undoes, in reverse order: whatever beforeAll and the test got to. */
const cleanups: (() => Promise<void> | void)[] = [];
let db: OwnDatabase;
let people: Record<string, string>;
let config: KerfConfig;
let spec: PipelineSpec;

beforeAll(async () => {
  db = await createOwnDatabase('temporal_restart');
  cleanups.push(() => db.drop());
  await applyMigrations(db.pool, migrationsDir);
  people = await addTestPeople(db.pool);
  await generateShop(db.ownerPool, { jobs: 6000, seed: 5 });

  const shared = testConfig();
  // Empty means unset: Temporal is embedded here whatever the shared stack uses; PostgreSQL and S3
  // are given as external addresses, so the stack below starts (and stops) only Temporal.
  config = testConfig({
    KERF_DATA_DIR: dataDir,
    TEMPORAL_ADDRESS: '',
    TEMPORAL_UI_URL: '',
    KERF_TEMPORAL_PORT: String(await freePort()),
    KERF_TEMPORAL_UI_PORT: String(await freePort()),
    ...db.env,
    S3_ENDPOINT: shared.s3.endpoint ?? '',
    S3_ACCESS_KEY_ID: shared.s3.credentials?.accessKeyId ?? '',
    S3_SECRET_ACCESS_KEY: shared.s3.credentials?.secretAccessKey ?? '',
    S3_BUCKET: shared.s3.bucket,
    S3_REGION: shared.s3.region ?? '',
    S3_FORCE_PATH_STYLE: String(shared.s3.forcePathStyle),
  });
  // This file's own data folder holds its own development key: trust it as an admin would.
  await trustWorkerSigningKey(db.ownerPool, config);
  cleanups.push(async () => {
    await stackDown(config, quiet);
    await rm(dataDir, { recursive: true, force: true });
  });
  expect((await stackUp(config, quiet)).started).toBe(true);
  expect(Object.keys((await readState(dataDir))?.parts ?? {})).toEqual(['temporal']);

  spec = buildSpec(
    { name: uniqueSpecName('cut-time'), trainer: { params: { iterations: 150 } } },
    shippedSpecInput('cut-time'),
  );
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** A worker on this file's Temporal and queue, shut down by afterAll if the test does not. */
async function startWorker(): Promise<{ stop(): Promise<void> }> {
  const kerfWorker: KerfWorker = await createKerfWorker(config, { taskQueue });
  const running = kerfWorker.run();
  const stop = async () => {
    await kerfWorker.shutdown();
    await running;
  };
  cleanups.push(() => stop().catch(() => undefined));
  return { stop };
}

async function connect(): Promise<Client> {
  const connection = await connectTemporalClient(config.temporal);
  cleanups.push(() => connection.close());
  return new Client({ connection, namespace: config.temporal.namespace });
}

/** The run's history events, as `[type, name]` for activities and signals. */
async function historyEvents(handle: LifecycleHandle): Promise<string[]> {
  const history = await handle.fetchHistory();
  return (history.events ?? []).flatMap((event) => {
    const activity = event.activityTaskScheduledEventAttributes?.activityType?.name;
    if (activity) return [`activity ${activity}`];
    const signal = event.workflowExecutionSignaledEventAttributes?.signalName;
    if (signal) return [`signal ${signal}`];
    return [];
  });
}

describe('a Temporal restart while a run waits for approval', () => {
  it('keeps the run, and the approval sent after the restart deploys it', async () => {
    const firstWorker = await startWorker();
    const before = await connect();
    const started = await startLifecycle(before, config, spec, {
      startedBy: 'shop-manager',
      taskQueue,
      rollbackWindowMs: 1,
      approvalDeadlineMs: 600_000,
    });
    const { runId } = await started.describe();
    const waiting = await waitForStage(started, 'awaiting-approval', { timeoutMs: 180_000 });
    expect(waiting.version).toBe(1);
    const deadlineAt = waiting.approval?.deadlineAt;

    // Everything that held the run in memory goes: the worker, then the server (its SQLite file stays).
    await firstWorker.stop();
    const stoppedAt = Date.now();
    expect(await stackDown(config, quiet)).toBe(true);
    expect((await checkTemporal(config)).healthy).toBe(false);
    expect((await stackUp(config, quiet)).started).toBe(true);
    const restartSeconds = (Date.now() - stoppedAt) / 1000;

    const after = await connect();
    const handle = after.workflow.getHandle<typeof modelLifecycle>(started.workflowId, runId);
    const described = await handle.describe();
    expect(described.runId).toBe(runId);
    expect(described.status.name).toBe('RUNNING');

    await startWorker();
    const resumed = await lifecycleStatus(handle);
    expect(resumed.stage).toBe('awaiting-approval');
    expect(resumed.approval?.deadlineAt).toBe(deadlineAt);
    expect(resumed.approval?.decision).toBeUndefined();

    await signalWithCode(
      db.pool,
      people,
      handle,
      'production-planner',
      'approve',
      'approved after the restart',
    );
    expect(await handle.result()).toEqual({ outcome: 'deployed', pipeline: spec.name, version: 1 });
    const final = await lifecycleStatus(handle);
    expect(final.approval).toMatchObject({ decision: 'approved', approver: 'production-planner' });
    expect(final.deployed).toEqual({ alias: 'production', version: 1 });
    expect((await handle.describe()).runId).toBe(runId);

    // The same run went on where it stood: nothing before the approval ran twice.
    const events = await historyEvents(handle);
    expect(events.filter((event) => event === 'activity trainModel')).toHaveLength(1);
    expect(events.filter((event) => event === 'activity registerVersion')).toHaveLength(1);
    expect(events.filter((event) => event.startsWith('signal '))).toEqual(['signal approve']);
    expect(events.slice(-3)).toEqual([
      'activity recordDecision',
      'activity deployVersion',
      'activity announce',
    ]);
    const versions = await listVersions(db.pool, spec.name);
    expect(versions.map((version) => [version.version, version.status, version.runId])).toEqual([
      [1, 'deployed', started.workflowId],
    ]);

    console.log(`temporal restart: the server was down and up again in ${restartSeconds.toFixed(1)} s`);
  }, 300_000);
});
