/**
 * Work split by weight, and a run that carries its spec: a light-only worker and a heavy-only
 * `kerf worker --queues heavy` process started in an empty folder (no pipelines/) take a lifecycle
 * to approval and on to deploy; training and evaluation ran on the heavy queue in that process, the
 * run's input holds only the spec's hash, and a spec changed after the start is refused.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson, type PipelineSpec, specHash } from '../../lifecycle/spec';
import { specKey } from '../../registry/artifactKeys';
import { waitForStage } from '../../workflows/client/lifecycleRuns';
import type { LifecycleInput } from '../../workflows/lifecycleTypes';
import { createKerfWorker, type KerfWorker } from '../../workers/kerfWorker';
import type { ActivityDeps } from '../../activities/deps';
import { createRetrainingActivities } from '../../activities/monitoring/retraining';
import { activityRuns, decodePayload, historyEvents } from '../activityHistory';
import { createLifecycleTestbed, type LifecycleTestbed, runFailureOf } from '../lifecycleTestbed';
import { uniqueName } from '../helpers';
import { startWorkerProcess, type WorkerProcess } from '../lifecycleProcesses';

let bed: LifecycleTestbed;
let heavy: KerfWorker;
let heavyRunning: Promise<void>;
let heavyProcess: WorkerProcess | undefined;
let noPipelines: string;
let spec: PipelineSpec;

beforeAll(async () => {
  // The workers' KERF_PIPELINES_DIR is an empty folder: no spec file to read anywhere.
  noPipelines = await mkdtemp(path.join(os.tmpdir(), 'kerf-no-pipelines-'));
  bed = await createLifecycleTestbed(
    'queues',
    { jobs: 3000, seed: 5 },
    { KERF_PIPELINES_DIR: noPipelines },
    { queues: 'light' },
  );
  heavy = await createKerfWorker(bed.config, { taskQueue: bed.taskQueue, queues: 'heavy' });
  heavyRunning = heavy.run();
  // A second heavy worker as a real `kerf worker --queues heavy` process, started from the empty
  // folder: what a training machine without a checkout of pipelines/ runs.
  heavyProcess = await startWorkerProcess(
    { ...bed.db.env, TEMPORAL_TASK_QUEUE: bed.taskQueue, KERF_PIPELINES_DIR: noPipelines },
    { args: ['--queues', 'heavy'], cwd: noPipelines },
  );
  spec = await bed.spec('cut-time.json', { trainer: { params: { iterations: 60 } } });
});
let heavyStopped = false;
async function stopInProcessHeavy(): Promise<void> {
  if (heavyStopped) return;
  heavyStopped = true;
  await heavy.shutdown();
  await heavyRunning.catch(() => undefined);
}

afterAll(async () => {
  await heavyProcess?.kill('SIGTERM');
  await stopInProcessHeavy();
  await bed.close();
  await rm(noPipelines, { recursive: true, force: true });
});

describe('a light worker and a heavy worker, without pipelines/', () => {
  it('poll one queue each, the heavy one with at most one activity per core', () => {
    expect(bed.worker.taskQueues).toEqual({ light: bed.taskQueue });
    expect(heavy.taskQueues).toEqual({ heavy: `${bed.taskQueue}-heavy` });
    // The compiled options keep maxConcurrentActivityTaskExecutions as a fixed number of slots.
    const slots = heavy.workers.heavy?.options.tuner.activityTaskSlotSupplier;
    expect(slots).toMatchObject({ type: 'fixed-size' });
    const heavySlots = (slots as { numSlots: number }).numSlots;
    expect(heavySlots).toBe(bed.config.temporal.heavyConcurrency);
    expect(heavySlots).toBeGreaterThan(0);
    expect(heavySlots).toBeLessThanOrEqual(os.availableParallelism());
    expect(bed.worker.workers.light?.options.tuner.activityTaskSlotSupplier).toMatchObject({
      type: 'fixed-size',
      numSlots: bed.config.temporal.lightConcurrency,
    });
  });

  it('run a lifecycle to approval and deploy, training and evaluating on the heavy queue', async () => {
    // From here on only the `kerf worker --queues heavy` process, started in the empty folder, trains.
    await stopInProcessHeavy();
    const handle = await bed.start(spec, { approvalDeadlineMs: 600_000 });
    const waiting = await waitForStage(handle, 'awaiting-approval', { timeoutMs: 240_000 });
    expect(waiting.verdicts.every((verdict) => verdict.passed)).toBe(true);

    const events = await historyEvents(handle);
    // The run's input carries the spec's hash, not the spec; the spec is stored under that hash.
    const input = decodePayload(events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]) as
      LifecycleInput | undefined;
    expect(input?.spec).toBeUndefined();
    expect(input?.specHash).toBe(specHash(spec));
    expect(input?.heavyTaskQueue).toBe(`${bed.taskQueue}-heavy`);
    const stored = Buffer.from(await bed.store.get(specKey(specHash(spec)))).toString('utf8');
    expect(stored).toBe(canonicalJson(spec));

    const activities = activityRuns(events);
    const queues = (type: string) =>
      activities.filter((activity) => activity.type === type).map((activity) => activity.taskQueue);
    const heavyQueue = `${bed.taskQueue}-heavy`;
    expect(queues('trainModel')).toEqual([heavyQueue]);
    expect(queues('evaluateCandidate')).toEqual([heavyQueue]);
    // ...and the worker process that took them is the one started without pipelines/.
    const heavyIdentities = activities
      .filter(
        (activity) => ['trainModel', 'evaluateCandidate'].includes(activity.type) && activity.attempt > 0,
      )
      .map((activity) => activity.worker);
    expect(heavyIdentities.length).toBeGreaterThanOrEqual(2);
    for (const identity of heavyIdentities) expect(identity).toMatch(new RegExp(`^${heavyProcess?.pid}@`));
    for (const light of [
      'resolveRunSpec',
      'ingestSnapshot',
      'validateSnapshot',
      'registerVersion',
      'checkFairness',
      'packageCandidate',
    ]) {
      expect(queues(light), light).toEqual([bed.taskQueue]);
    }

    await bed.signalDecision(handle, 'production-planner');
    expect(await handle.result()).toMatchObject({ outcome: 'deployed', pipeline: spec.name });

    // The nightly check of a worker without pipelines/ retrains a stale model from production's spec.
    const retraining = createRetrainingActivities({
      pool: bed.db.pool,
      objectStore: bed.store,
      pipelinesDir: noPipelines,
      temporal: { heavyTaskQueue: 'gpu-box' },
      webhooks: { urls: [], secret: () => 'unused-webhook-secret' },
    } as unknown as ActivityDeps);
    const plan = await retraining.planRetraining({
      model: spec.name,
      stale: true,
      staleReasons: ['decayed'],
      startedBy: 'kerf-nightly',
    });
    expect(plan).toMatchObject({
      kind: 'retrain',
      lifecycle: { specHash: specHash(spec), pipeline: spec.name, heavyTaskQueue: 'gpu-box' },
    });
    expect(plan.lifecycle?.spec).toBeUndefined();
  }, 300_000);

  it("refuse a spec whose stored bytes no longer match the run's hash", async () => {
    const hash = 'f'.repeat(64);
    await bed.store.put(specKey(hash), canonicalJson(spec), 'application/json');
    const handle = await bed.client.workflow.start('modelLifecycle', {
      taskQueue: bed.taskQueue,
      workflowId: uniqueName('tampered-spec'),
      args: [
        { specHash: hash, startedBy: 'planner-bot', approvalDeadlineMs: 60_000 } satisfies LifecycleInput,
      ],
    });
    const failure = await runFailureOf(handle.result());
    expect(failure.type).toBe('TamperedArtifactError');
    expect(failure.message).toMatch(new RegExp(`hashes to ${specHash(spec)}, not ${hash}`));
  }, 60_000);
});
