/**
 * A worker dies mid-training (SIGKILL, as an OOM kill or a pulled plug would): the training activity
 * stops heartbeating, the server times it out after the training profile's default heartbeat timeout
 * and retries it on the other worker already polling the queue, which knows how far the dead one got.
 * The run still ends with one version and one copy of each artifact. Prints the time from the kill to
 * the retry starting (the goal is 15 s; the test only guards a loose 30 s bound).
 */
import { Client, type Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifactKeys } from '../../registry/artifactKeys';
import { startLifecycle, waitForStage } from '../../workflows/client/lifecycleRuns';
import { applyMigrations } from '../../platform/migrations';
import { ObjectStore } from '../../platform/objectStore';
import { migrationsDir } from '../../platform/paths';
import { type PipelineSpec } from '../../lifecycle/spec';
import { buildSpec, shippedSpecInput, uniqueSpecName } from '../specBuilder';
import { nightlyScheduleId } from '../../workflows/client/schedules';
import { listVersions } from '../../registry';
import { generateShop } from '../../shop/load';
import { activityRuns, historyEvents } from '../activityHistory';
import { createOwnDatabase, type OwnDatabase, testConfig, uniqueName } from '../helpers';
import { trustWorkerSigningKey } from '../trustedKeys';
import { addTestPeople, signalWithCode } from '../lifecycleTestbed';
import {
  killWorkerProcesses,
  type PendingTraining,
  startWorkerProcess,
  waitForTraining,
  type WorkerProcess,
} from '../lifecycleProcesses';
import { connectTemporalClient } from '../../platform/temporalConnection';

/**
 * Rounds of boosting, never stopped early: about 13 s of training on 20 000 jobs on a two-core
 * machine, well past the first heartbeat with an iteration (the worker sends one at least every 2 s).
 */
const ITERATIONS = 5000;
const config = testConfig();
const taskQueue = uniqueName('worker_kill');
/** What afterAll undoes, in reverse order: whatever beforeAll got to before a failure. */
const cleanups: (() => Promise<void> | void)[] = [];
let db: OwnDatabase;
let people: Record<string, string>;
let connection: Connection;
let client: Client;
let store: ObjectStore;
let spec: PipelineSpec;

beforeAll(async () => {
  db = await createOwnDatabase('worker_kill');
  cleanups.push(() => db.drop());
  await applyMigrations(db.pool, migrationsDir);
  // The worker processes sign with the worktree's development key: an admin trusts it first.
  await trustWorkerSigningKey(db.ownerPool, config);
  people = await addTestPeople(db.pool);
  // Enough jobs, and enough rounds without early stopping, that training lasts well past the first
  // recorded heartbeat on a two-core machine.
  await generateShop(db.ownerPool, { jobs: 20_000, seed: 11 });
  spec = buildSpec(
    {
      name: uniqueSpecName('cut-time'),
      split: { validationFraction: undefined },
      trainer: { params: { iterations: ITERATIONS, learningRate: 0.05, earlyStoppingRounds: undefined } },
    },
    shippedSpecInput('cut-time'),
  );
  connection = await connectTemporalClient(config.temporal);
  cleanups.push(() => connection.close());
  client = new Client({ connection, namespace: config.temporal.namespace });
  // Deploy sets a nightly schedule on the shared server: take it away at the end.
  cleanups.push(() =>
    client.schedule
      .getHandle(nightlyScheduleId(spec.name))
      .delete()
      .catch(() => undefined),
  );
  store = ObjectStore.fromConfig(config.s3);
  cleanups.push(() => store.destroy());
});

afterAll(async () => {
  // The workers first: a live one would keep using the database being dropped.
  await killWorkerProcesses();
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe('a worker killed during training', () => {
  it('is retried on the other worker within seconds, and the run completes with one version and no duplicate artifacts', async () => {
    const workerEnv = { ...db.env, TEMPORAL_TASK_QUEUE: taskQueue };
    // Two workers poll from the start, as in a deployment: the survivor takes the retry.
    const workers: WorkerProcess[] = [
      await startWorkerProcess(workerEnv),
      await startWorkerProcess(workerEnv),
    ];
    // The default training heartbeat timeout: what a real run gets.
    const handle = await startLifecycle(client, config, spec, {
      startedBy: 'shop-manager',
      taskQueue,
      rollbackWindowMs: 1,
      approvalDeadlineMs: 600_000,
    });
    // A failed test leaves no run behind on the shared server.
    cleanups.push(() =>
      handle.terminate('test finished').then(
        () => undefined,
        () => undefined,
      ),
    );
    const quoting = (worker: WorkerProcess, name: string) => (error: unknown) => {
      throw new Error(`${String(error)}\n${name} worker's output:\n${worker.output().slice(-4000)}`);
    };

    // The server has recorded a heartbeat from inside the training loop: the kill lands mid-training.
    const inTheLoop = (training: PendingTraining | undefined) => (training?.heartbeat?.iteration ?? 0) > 0;
    const beforeKill = await waitForTraining(handle, inTheLoop, { timeoutMs: 150_000 }).catch(
      quoting(workers[0] as WorkerProcess, 'first'),
    );
    expect(beforeKill?.attempt).toBe(1);
    const trainer = workers.find((worker) => beforeKill?.worker.startsWith(`${worker.pid}@`));
    const survivor = workers.find((worker) => worker !== trainer);
    if (!trainer || !survivor) {
      throw new Error(`training runs on ${beforeKill?.worker}, not on a worker this test started`);
    }
    const iterationAtKill = beforeKill?.heartbeat?.iteration ?? 0;
    expect(iterationAtKill).toBeLessThan(ITERATIONS);
    const killedAt = Date.now();
    await trainer.kill('SIGKILL');
    // Nothing of the candidate was written yet: training writes only after its last round.
    expect(await store.list(`models/${spec.name}/`)).toEqual([]);

    // The retry (attempt 2) runs on the surviving worker and carries the dead attempt's progress
    // forward. (The server keeps the last heartbeat across attempts: wait for one the retry sent.)
    const retried = await waitForTraining(
      handle,
      (training) =>
        (training?.heartbeat?.attempt ?? 0) >= 2 &&
        (training?.worker.startsWith(`${survivor.pid}@`) ?? false),
      { timeoutMs: 60_000, pollMs: 100 },
    ).catch(quoting(survivor, 'surviving'));
    expect(retried?.attempt).toBe(2);
    expect(retried?.heartbeat?.previousAttemptIteration).toBeGreaterThanOrEqual(iterationAtKill);
    // When the server handed attempt 2 to the survivor (same machine, same clock as the kill).
    const retryStartedMs = (retried?.lastStartedAtMs ?? Number.NaN) - killedAt;
    console.log(
      `worker kill: SIGKILL to the retry (attempt 2) starting on the other worker: ${(retryStartedMs / 1000).toFixed(1)} s`,
    );
    // The goal is 15 s; this bound only catches a regression to the old minute-long timeout.
    expect(retryStartedMs).toBeGreaterThan(0);
    expect(retryStartedMs).toBeLessThan(30_000);
    const second = survivor;

    // For a while after the kill the server may route Queries to the dead worker's sticky queue
    // ("no poller seen for task queue recently"); waitForStage asks again until it is answered.
    const waiting = await waitForStage(handle, 'awaiting-approval', { timeoutMs: 180_000 }).catch(
      quoting(second, 'second'),
    );
    expect(waiting.version).toBe(1);
    expect(waiting.training?.iterationsRun).toBe(ITERATIONS);

    await signalWithCode(db.pool, people, handle, 'production-planner', 'approve', 'survived a crash');
    expect(await handle.result()).toEqual({ outcome: 'deployed', pipeline: spec.name, version: 1 });

    const versions = await listVersions(db.pool, spec.name);
    expect(versions.map((version) => [version.version, version.status, version.runId])).toEqual([
      [1, 'deployed', handle.workflowId],
    ]);

    // Exactly the version's artifacts, each once: the retry left nothing under another name.
    const keys = (await store.list(`models/${spec.name}/`)).map((object) => object.key).sort();
    // (A regression model without tuning has every artifact but a forecast's state and a tuning record.)
    const notHere = [artifactKeys(spec.name, 1).forecastState, artifactKeys(spec.name, 1).tuning];
    expect(keys).toEqual(
      Object.values(artifactKeys(spec.name, 1))
        .filter((key) => !notHere.includes(key))
        .sort(),
    );
    expect(new Set(keys).size).toBe(keys.length);

    const training = JSON.parse(
      new TextDecoder().decode(await store.get(artifactKeys(spec.name, 1).training)),
    ) as { attempt: number; previousAttemptIteration: number | null; iterationsRun: number };
    expect(training.attempt).toBeGreaterThanOrEqual(2);
    expect(training.previousAttemptIteration).toBeGreaterThan(0);
    expect(training.previousAttemptIteration).toBeGreaterThanOrEqual(iterationAtKill);
    expect(training.iterationsRun).toBe(ITERATIONS);

    // One training activity and one registration in the history; its last attempt ran on the survivor.
    const activities = activityRuns(await historyEvents(handle), ['trainModel', 'registerVersion']);
    expect(activities.filter((activity) => activity.type === 'registerVersion')).toHaveLength(1);
    expect(
      activities
        .filter((activity) => activity.type === 'trainModel')
        .map(({ attempt, worker }) => ({ attempt, worker })),
    ).toEqual([
      { attempt: training.attempt, worker: expect.stringMatching(new RegExp(`^${second.pid}@`)) as string },
    ]);

    console.log(
      `worker kill: killed at iteration ${iterationAtKill}/${ITERATIONS}, retry on the other worker ` +
        `${(retryStartedMs / 1000).toFixed(1)} s after the kill, training took ${waiting.training?.seconds.toFixed(1)} s, ` +
        `attempt ${training.attempt} (previous got to ${training.previousAttemptIteration})`,
    );
  }, 400_000);
});
