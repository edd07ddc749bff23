/**
 * Chaos on the local cluster, on a stack of its own: a real Temporal server on PostgreSQL, one light
 * and two heavy `kerf worker` processes, 20 lifecycles for 4 models started at once. One heavy
 * worker is SIGKILLed in the middle of a training, and the Temporal server's processes are
 * restarted while the runs wait for approval. Every run still reaches approval, where each model
 * keeps one open candidate (its newest version; the others end superseded); each model has one
 * version per distinct snapshot and spec; the bucket's access log shows no object written twice;
 * then the four waiting candidates are approved and deployed.
 *
 * `npm run test:chaos` (its own CI step: minutes of training on two cores).
 */
import { readFile, rm } from 'node:fs/promises';
import { Client, type Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordRunStarter } from '../../access';
import { type PipelineSpec, specHash } from '../../lifecycle/spec';
import { ObjectStore } from '../../platform/objectStore';
import { connectTemporalClient } from '../../platform/temporalConnection';
import { artifactKeys } from '../../registry/artifactKeys';
import { listVersions } from '../../registry';
import { s3AccessLog } from '../../scripts/stack/s3Server';
import { stackDown, stackRestart, stackUp } from '../../scripts/stack/control';
import { readState } from '../../scripts/stack/state';
import { generateShop } from '../../shop/load';
import {
  type LifecycleHandle,
  lifecycleStatus,
  lifecycleWorkflowId,
  startLifecycle,
} from '../../workflows/client/lifecycleRuns';
import type { LifecycleStatus } from '../../workflows/lifecycleTypes';
import { activityRuns, historyEvents } from '../activityHistory';
import { createOwnDatabase, ownStackEnvironment, type OwnDatabase, testConfig, uniqueName } from '../helpers';
import { addTestPeople, identityOf, signalWithCode } from '../lifecycleTestbed';
import {
  killWorkerProcesses,
  startWorkerProcess,
  waitForTraining,
  type WorkerProcess,
} from '../lifecycleProcesses';
import { buildSpec, shippedSpecInput, uniqueSpecName } from '../specBuilder';
import { trustWorkerSigningKey } from '../trustedKeys';

/**
 * The stack of this file, set in this process's environment in beforeAll so every helper
 * (testConfig, createOwnDatabase, the worker processes) uses it.
 */
const quiet = () => undefined;

/** The shipped specs the four models are made from: each model is one of them under its own name. */
const MODELS = ['cut-time', 'bend-time', 'job-energy', 'quote-price'];
/** Rounds of boosting of each model's five runs: five distinct specs, so five versions. */
const ROUNDS = [30, 40, 50, 60, 70];
/**
 * The run whose training is killed: long enough (rounds without early stopping) that the server
 * records a heartbeat from inside its training loop before the kill.
 */
const VICTIM_ROUNDS = 3000;

const taskQueue = uniqueName('chaos');
const cleanups: (() => Promise<unknown>)[] = [];
let db: OwnDatabase;
let people: Record<string, string>;
let connection: Connection;
let client: Client;
let store: ObjectStore;
let light: WorkerProcess;
let heavy: WorkerProcess[];

interface Run {
  spec: PipelineSpec;
  handle: LifecycleHandle;
}
let runs: Run[] = [];

beforeAll(async () => {
  Object.assign(process.env, await ownStackEnvironment('test-stacks', uniqueName('chaos'), 'cluster'));
  const config = testConfig();
  cleanups.push(async () => {
    await stackDown(testConfig(), quiet);
    await rm(config.dataDir, { recursive: true, force: true });
  });
  await stackUp(config, quiet);
  db = await createOwnDatabase('chaos');
  cleanups.push(() => db.drop());
  await trustWorkerSigningKey(db.ownerPool, config);
  people = await addTestPeople(db.pool);
  await generateShop(db.ownerPool, { jobs: 6000, seed: 13 });
  connection = await connectTemporalClient(config.temporal);
  cleanups.push(() => connection.close());
  client = new Client({ connection, namespace: config.temporal.namespace });
  store = ObjectStore.fromConfig(config.s3);
  cleanups.push(() => Promise.resolve(store.destroy()));

  const workerEnv = { ...db.env, TEMPORAL_TASK_QUEUE: taskQueue };
  [light, ...heavy] = await Promise.all([
    startWorkerProcess(workerEnv, { args: ['--queues', 'light'] }),
    startWorkerProcess(workerEnv, { args: ['--queues', 'heavy'] }),
    startWorkerProcess(workerEnv, { args: ['--queues', 'heavy'] }),
  ]);
}, 600_000);

afterAll(async () => {
  // The workers first: a live one would keep using the database being dropped.
  await killWorkerProcesses();
  for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => console.error(error));
}, 300_000);

/** The four models' twenty specs: model i's first run is the victim's, with many more rounds. */
function chaosSpecs(): PipelineSpec[] {
  return MODELS.flatMap((shipped, modelIndex) => {
    const name = uniqueSpecName(shipped);
    return ROUNDS.map((rounds, runIndex) => {
      const victim = modelIndex === 0 && runIndex === 0;
      return buildSpec(
        {
          name,
          trainer: {
            params: victim
              ? { iterations: VICTIM_ROUNDS, earlyStoppingRounds: undefined }
              : { iterations: rounds },
          },
          ...(victim ? { split: { validationFraction: undefined } } : {}),
          // A few thousand generated jobs and a few dozen rounds: the chaos is the test, not the fit.
          gates: { quality: { thresholds: [{ metric: 'r2', min: 0.2 }] } },
        },
        shippedSpecInput(shipped),
      );
    });
  });
}

/** Successful writes (PUT, status 200) per object key, from the embedded S3's access log. */
async function writesByKey(): Promise<Map<string, number>> {
  const text = await readFile(s3AccessLog(testConfig().dataDir), 'utf8');
  const writes = new Map<string, number>();
  for (const line of text.split('\n')) {
    // owner bucket [time] ip requester request-id operation key request-uri status ...
    const match = /^\S+ \S+ \[[^\]]+\] \S+ \S+ \S+ (\S+) (\S+) \S+ (\d{3}) /.exec(line);
    if (!match || match[1] !== 's3_PutObject' || match[3] !== '200') continue;
    const key = match[2] ?? '';
    writes.set(key, (writes.get(key) ?? 0) + 1);
  }
  return writes;
}

/** Where every run stands, by stage, for a failure message. */
async function stages(): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const { handle } of runs) {
    const stage = await lifecycleStatus(handle).then(
      (status) => status.stage,
      () => 'unanswered',
    );
    counts[stage] = (counts[stage] ?? 0) + 1;
  }
  return counts;
}

/**
 * Waits until every run has trained and rests at approval: waiting for a person, or superseded by a
 * newer candidate of its model. With `settled`, also until each model has exactly one run waiting.
 */
async function restingAtApproval(timeoutMs: number, settled: boolean): Promise<LifecycleStatus[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const statuses = await Promise.all(runs.map(({ handle }) => lifecycleStatus(handle)));
    const stopped = statuses.find((status) => ['failed', 'rejected', 'unchanged'].includes(status.stage));
    if (stopped) throw new Error(`a run stopped at ${stopped.stage}: ${stopped.reason ?? ''}`);
    const resting = statuses.every((status) => ['awaiting-approval', 'superseded'].includes(status.stage));
    const waitingPerModel = new Map<string, number>();
    statuses.forEach((status, index) => {
      const model = runs[index]?.spec.name ?? '';
      if (status.stage === 'awaiting-approval')
        waitingPerModel.set(model, (waitingPerModel.get(model) ?? 0) + 1);
    });
    const oneEach =
      MODELS.length === waitingPerModel.size && [...waitingPerModel.values()].every((n) => n === 1);
    if (resting && (!settled || oneEach)) return statuses;
    if (Date.now() > deadline) {
      throw new Error(`the runs did not rest at approval in time: ${JSON.stringify(await stages())}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

const outputs = () =>
  [light, ...heavy]
    .map((worker, index) => `--- worker ${index} (pid ${worker.pid}):\n${worker.output().slice(-3000)}`)
    .join('\n');

describe('the local cluster under chaos', () => {
  it('takes 20 lifecycles to approval through a worker kill and a server restart, then deploys them all', async () => {
    const config = testConfig();
    const specs = chaosSpecs();
    expect(new Set(specs.map((spec) => spec.name)).size).toBe(MODELS.length);
    expect(new Set(specs.map((spec) => specHash(spec))).size).toBe(specs.length);

    // Twenty starts at once, each by an authenticated starter, as `kerf run` does.
    const starter = await identityOf(db.pool, people, 'planner-bot');
    runs = await Promise.all(
      specs.map(async (spec) => {
        const workflowId = lifecycleWorkflowId(spec.name);
        await recordRunStarter(db.pool, workflowId, starter);
        const handle = await startLifecycle(client, config, spec, {
          startedBy: 'planner-bot',
          workflowId,
          taskQueue,
          rollbackWindowMs: 1,
          approvalDeadlineMs: 3_600_000,
        });
        return { spec, handle };
      }),
    );
    cleanups.push(() =>
      Promise.all(runs.map(({ handle }) => handle.terminate('chaos test finished').catch(() => undefined))),
    );

    // SIGKILL the heavy worker in the middle of the victim's training: the server has recorded a
    // heartbeat from inside its training loop.
    const victim = runs[0] as Run;
    const training = await waitForTraining(
      victim.handle,
      (pending) => (pending?.heartbeat?.iteration ?? 0) > 0,
      {
        timeoutMs: 400_000,
      },
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}\n${outputs()}`);
    });
    const trainer = heavy.find((worker) => training?.worker.startsWith(`${worker.pid}@`));
    if (!trainer) throw new Error(`the victim trains on ${training?.worker}, not a heavy worker`);
    const iterationAtKill = training?.heartbeat?.iteration ?? 0;
    expect(iterationAtKill).toBeLessThan(VICTIM_ROUNDS);
    await trainer.kill('SIGKILL');
    const survivor = heavy.find((worker) => worker !== trainer) as WorkerProcess;
    console.log(
      `chaos: heavy worker ${trainer.pid} SIGKILLed at round ${iterationAtKill} of the victim's training`,
    );

    // Every run reaches approval; the victim's training was retried on the survivor.
    await restingAtApproval(900_000, false).catch((error: unknown) => {
      throw new Error(`${String(error)}\n${outputs()}`);
    });
    const retries = activityRuns(await historyEvents(victim.handle), ['trainModel']).filter(
      (training) => training.attempt > 1,
    );
    expect(retries.map((training) => training.worker.split('@')[0])).toEqual([String(survivor.pid)]);
    console.log('chaos: all 20 runs await approval');

    // Restart the Temporal server's processes (all four services and the Web UI) while they wait.
    const before = (await readState(config.dataDir))?.parts.temporal;
    await stackRestart(config, 'temporal', quiet);
    const after = (await readState(config.dataDir))?.parts.temporal;
    const pids = (part: typeof before) => [part?.pid, ...(part?.otherPids ?? [])];
    expect(pids(after).filter((pid) => pids(before).includes(pid))).toEqual([]);
    expect(pids(after)).toHaveLength(5);
    console.log('chaos: Temporal server restarted');

    // After the restart the runs still rest at approval, one candidate waiting per model (its newest
    // version), with their versions: one per distinct snapshot and spec.
    const waiting = await restingAtApproval(180_000, true);
    for (const model of new Set(specs.map((spec) => spec.name))) {
      const ofModel = waiting.filter((_, index) => runs[index]?.spec.name === model);
      const newest = Math.max(...ofModel.map((status) => status.version ?? 0));
      expect(ofModel.find((status) => status.stage === 'awaiting-approval')?.version).toBe(newest);
    }
    for (const model of new Set(specs.map((spec) => spec.name))) {
      const versions = await listVersions(db.pool, model);
      const mine = runs.flatMap((run, index) => {
        const status = waiting[index];
        return run.spec.name === model && status ? [{ run, status }] : [];
      });
      expect(versions).toHaveLength(mine.length);
      const identities = versions.map((version) => `${version.snapshotHash}/${version.specHash}`);
      expect(new Set(identities).size).toBe(versions.length);
      for (const { run, status } of mine) {
        const version = versions.find((candidate) => candidate.version === status.version);
        expect(version?.specHash).toBe(specHash(run.spec));
        expect(version?.snapshotHash).toBe(status.snapshot?.sha256);
        expect(version?.runId).toBe(run.handle.workflowId);
      }
      expect(new Set(mine.map(({ status }) => status.snapshot?.sha256)).size).toBe(1);
    }

    // No object was written twice: not the shared snapshots, not any version's artifacts.
    const writes = await writesByKey();
    const twice = [...writes].filter(([, count]) => count > 1);
    expect(twice).toEqual([]);
    for (const [index, { spec }] of runs.entries()) {
      const version = waiting[index]?.version ?? 0;
      for (const key of [artifactKeys(spec.name, version).onnx, artifactKeys(spec.name, version).training]) {
        expect(writes.get(key), key).toBe(1);
      }
    }

    // Approve and deploy the four waiting candidates; the sixteen older ones ended superseded.
    for (const [index, { handle, spec }] of runs.entries()) {
      const version = waiting[index]?.version;
      if (waiting[index]?.stage === 'superseded') {
        expect(await handle.result()).toMatchObject({ outcome: 'superseded', pipeline: spec.name, version });
        continue;
      }
      await signalWithCode(db.pool, people, handle, 'shop-manager', 'approve', 'after the chaos');
      expect(await handle.result()).toEqual({ outcome: 'deployed', pipeline: spec.name, version });
    }
    console.log('chaos: the 4 newest candidates approved and deployed, 16 superseded');
  }, 1_800_000);
});
