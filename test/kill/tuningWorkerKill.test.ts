/**
 * A worker dies in the middle of the tune stage (SIGKILL, as an OOM kill would): the trials it was
 * running stop heartbeating and the server gives them to the other worker after the training
 * heartbeat timeout; the trials finished before the kill are in the run's history and never run
 * again. Every trial ends with one result, and the run goes on to its candidate.
 */
import { Client, type Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PipelineSpec } from '../../lifecycle/spec';
import type { TuningRecord } from '../../lifecycle/tuning/plan';
import { applyMigrations } from '../../platform/migrations';
import { ObjectStore } from '../../platform/objectStore';
import { migrationsDir } from '../../platform/paths';
import { connectTemporalClient } from '../../platform/temporalConnection';
import { artifactKeys } from '../../registry/artifactKeys';
import { generateShop } from '../../shop/load';
import { type LifecycleHandle, startLifecycle, waitForStage } from '../../workflows/client/lifecycleRuns';
import { activityRuns, historyEvents, pendingActivities } from '../activityHistory';
import { createOwnDatabase, type OwnDatabase, testConfig, uniqueName } from '../helpers';
import { killWorkerProcesses, startWorkerProcess, type WorkerProcess } from '../lifecycleProcesses';
import { buildSpec, shippedSpecInput, uniqueSpecName } from '../specBuilder';
import { trustWorkerSigningKey } from '../trustedKeys';

const TRIALS = 8;
const config = testConfig();
const taskQueue = uniqueName('tuning_kill');
const cleanups: (() => Promise<unknown>)[] = [];
let db: OwnDatabase;
let connection: Connection;
let client: Client;
let store: ObjectStore;
let spec: PipelineSpec;

beforeAll(async () => {
  db = await createOwnDatabase('tuning_kill');
  cleanups.push(() => db.drop());
  await applyMigrations(db.pool, migrationsDir);
  await trustWorkerSigningKey(db.ownerPool, config);
  await generateShop(db.ownerPool, { jobs: 8000, seed: 13 });
  // Random search, every trial on all of its rounds (never stopped early): seconds per trial on a
  // two-core machine, so the kill lands while trials train and after some have finished.
  spec = buildSpec(
    {
      name: uniqueSpecName('cut-time'),
      split: { validationFraction: undefined },
      trainer: { params: { iterations: 600, learningRate: 0.05, earlyStoppingRounds: undefined } },
      tuning: {
        space: {
          maxLeaves: { min: 16, max: 64, integer: true },
          minSamplesLeaf: { min: 5, max: 30, integer: true },
        },
        strategy: 'random',
        trials: TRIALS,
        folds: 2,
        budget: '20m',
      },
    },
    shippedSpecInput('cut-time'),
  );
  connection = await connectTemporalClient(config.temporal);
  cleanups.push(() => connection.close());
  client = new Client({ connection, namespace: config.temporal.namespace });
  store = ObjectStore.fromConfig(config.s3);
  cleanups.push(() => Promise.resolve(store.destroy()));
}, 240_000);

afterAll(async () => {
  await killWorkerProcesses();
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

/** Each tuneTrial activity of the run's history, with the trial it was scheduled for. */
async function trialRuns(handle: LifecycleHandle) {
  return activityRuns<{ trial: { trial: number } }>(await historyEvents(handle), ['tuneTrial']);
}

describe('a worker killed during tuning', () => {
  it('costs only the trials it was running: the finished ones are not run again, and the run goes on', async () => {
    const workerEnv = { ...db.env, TEMPORAL_TASK_QUEUE: taskQueue };
    const workers: WorkerProcess[] = [
      await startWorkerProcess(workerEnv),
      await startWorkerProcess(workerEnv),
    ];
    const handle = await startLifecycle(client, config, spec, {
      startedBy: 'shop-manager',
      taskQueue,
      approvalDeadlineMs: 600_000,
    });
    cleanups.push(() => handle.terminate('test finished').catch(() => undefined));

    // Wait until some trials have finished and a worker is inside a trial's rounds.
    const deadline = Date.now() + 240_000;
    let victim: WorkerProcess | undefined;
    let finishedBeforeKill = new Set<string>();
    while (!victim) {
      if (Date.now() > deadline)
        throw new Error(
          `no trial was seen running after others finished:\n${workers[0]?.output().slice(-3000)}`,
        );
      const finished = (await trialRuns(handle)).filter((run) => run.completed).map((run) => run.id);
      const { pending } = await pendingActivities<{ iteration?: number }>(handle, 'tuneTrial');
      const running = pending.filter((trial) => (trial.heartbeat?.iteration ?? 0) > 0);
      const target = running[0];
      if (finished.length > 0 && finished.length < TRIALS - 1 && target) {
        victim = workers.find((worker) => target.worker.startsWith(`${worker.pid}@`));
        finishedBeforeKill = new Set(finished);
      } else {
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    await victim.kill('SIGKILL');

    const waiting = await waitForStage(handle, 'awaiting-approval', { timeoutMs: 300_000 });
    expect(waiting.tuning?.chosen?.trialsRun).toBe(TRIALS);

    const runs = await trialRuns(handle);
    // One activity per trial, each completed; none scheduled again.
    expect(runs.map((run) => run.input?.trial.trial ?? -1).sort((a, b) => a - b)).toEqual([
      ...Array(TRIALS).keys(),
    ]);
    expect(runs.every((run) => run.completed)).toBe(true);
    // The trials finished before the kill completed on their first attempt; at least one of those
    // the victim was running completed on a later attempt elsewhere.
    for (const run of runs) if (finishedBeforeKill.has(run.id)) expect(run.attempt).toBe(1);
    expect(runs.some((run) => run.attempt >= 2)).toBe(true);
    const record = await store.getJson<TuningRecord>(artifactKeys(spec.name, 1).tuning);
    expect(record.results.map((result) => result.trial).sort((a, b) => a - b)).toEqual([
      ...Array(TRIALS).keys(),
    ]);
    expect(record.results.every((result) => result.score !== undefined)).toBe(true);
  }, 600_000);
});
