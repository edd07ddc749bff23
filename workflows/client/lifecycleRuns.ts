/**
 * Starting and steering lifecycle runs from outside the worker (the CLI, `npm start`, tests): the
 * workflow's input is built from a validated spec here, so every starter gets the same one.
 */
import { type Client, ServiceError, type WorkflowHandle } from '@temporalio/client';
import { defaultDataConverter } from '@temporalio/common';
import type { KerfConfig } from '../../platform/config';
import { ObjectStore } from '../../platform/objectStore';
import { heavyQueueOf } from '../../platform/taskQueues';
import { approvalDeadlineMs, type PipelineSpec, specStore } from '../../lifecycle/spec';
import type { modelLifecycle } from '../modelLifecycle';
import { statusQuery } from '../lifecycleMessages';
import type { LifecycleInput, LifecycleStage, LifecycleStatus } from '../lifecycleTypes';

export type LifecycleHandle = WorkflowHandle<typeof modelLifecycle>;

export interface StartLifecycleOptions {
  /** Who starts the run; they may not approve it. */
  startedBy: string;
  /** Overrides of the input's durations (tests, demos). */
  approvalDeadlineMs?: number;
  rollbackWindowMs?: number;
  trainingHeartbeatSeconds?: number;
  /** The light queue the run's workflow (and its quick activities) runs on. @default the configured one */
  taskQueue?: string;
  /**
   * The queue of its training and evaluation.
   * @default the configured heavy queue, or `<taskQueue>-heavy` when `taskQueue` is given
   */
  heavyTaskQueue?: string;
  /** Where the spec is stored by its hash. @default a client of the configured bucket, for this call */
  objectStore?: ObjectStore;
  /** @default `lifecycle-<pipeline>-<time>` */
  workflowId?: string;
}

/** A readable, unique workflow id for a run of a pipeline. */
export function lifecycleWorkflowId(pipeline: string, at = new Date()): string {
  const stamp = at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `lifecycle-${pipeline}-${stamp}-${Math.random().toString(36).slice(2, 6)}`;
}

/**
 * The workflow's input for a spec already stored by its hash (`specStore(...).store`): the hash, never
 * the spec, so the run reads the very spec it was started with wherever it runs.
 */
export function lifecycleInput(
  stored: { spec: PipelineSpec; specHash: string },
  options: Omit<StartLifecycleOptions, 'objectStore' | 'taskQueue' | 'workflowId'>,
): LifecycleInput {
  return {
    specHash: stored.specHash,
    pipeline: stored.spec.name,
    startedBy: options.startedBy,
    approvalDeadlineMs: options.approvalDeadlineMs ?? approvalDeadlineMs(stored.spec),
    rollbackWindowMs: options.rollbackWindowMs,
    trainingHeartbeatSeconds: options.trainingHeartbeatSeconds,
    heavyTaskQueue: options.heavyTaskQueue,
  };
}

/** Stores the spec by its hash in the bucket and starts a run that carries the hash. */
export async function startLifecycle(
  client: Client,
  config: KerfConfig,
  spec: PipelineSpec,
  options: StartLifecycleOptions,
): Promise<LifecycleHandle> {
  const objectStore = options.objectStore ?? ObjectStore.fromConfig(config.s3);
  let stored: { spec: PipelineSpec; specHash: string };
  try {
    stored = await specStore(objectStore).store(spec);
  } finally {
    if (!options.objectStore) objectStore.destroy();
  }
  const taskQueue = options.taskQueue ?? config.temporal.taskQueue;
  const heavyTaskQueue =
    options.heavyTaskQueue ??
    (options.taskQueue ? heavyQueueOf(options.taskQueue) : config.temporal.heavyTaskQueue);
  return client.workflow.start<typeof modelLifecycle>('modelLifecycle', {
    taskQueue,
    workflowId: options.workflowId ?? lifecycleWorkflowId(spec.name),
    args: [lifecycleInput(stored, { ...options, heavyTaskQueue })],
    memo: { pipeline: spec.name, startedBy: options.startedBy },
    // Shown on the run's page in the Web UI.
    staticSummary: `${spec.name}: a new version, from its data to a deployed model (started by ${options.startedBy})`,
    staticDetails: spec.description,
  });
}

/** Asks a run where it is. */
export async function lifecycleStatus(handle: LifecycleHandle): Promise<LifecycleStatus> {
  return handle.query(statusQuery);
}

/**
 * The status, asked again while the server cannot answer for a moment: a Query needs a worker, and
 * right after a worker dies the server may still route it to that worker's queue ("no poller seen"),
 * or time it out. Other errors, and the same ones past `deadline`, are thrown.
 */
async function statusWhenAnswered(
  handle: LifecycleHandle,
  deadline: number,
  pollMs: number,
): Promise<LifecycleStatus> {
  for (;;) {
    try {
      return await lifecycleStatus(handle);
    } catch (error) {
      const transient =
        error instanceof ServiceError &&
        /FAILED_PRECONDITION|DEADLINE_EXCEEDED|UNAVAILABLE|no poller seen/i.test(
          `${error.message} ${String(error.cause)}`,
        );
      if (!transient || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }
}

/**
 * Waits until a run reaches `stage` (or stops somewhere else), polling its status query.
 *
 * @throws when the run ends or fails elsewhere, or the time runs out, naming where it stands
 */
export async function waitForStage(
  handle: LifecycleHandle,
  stage: LifecycleStage,
  options: { timeoutMs?: number; pollMs?: number } = {},
): Promise<LifecycleStatus> {
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  for (;;) {
    const status = await statusWhenAnswered(handle, deadline, options.pollMs ?? 300);
    if (status.stage === stage) return status;
    if (['failed', 'rejected', 'superseded', 'unchanged', 'rolled-back'].includes(status.stage)) {
      throw new Error(
        `run ${handle.workflowId} stopped at ${status.stage} (${status.reason ?? 'no reason'}), not ${stage}`,
      );
    }
    if (Date.now() > deadline) {
      throw new Error(`run ${handle.workflowId} did not reach ${stage} in time; it is at ${status.stage}`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 300));
  }
}

/** Stages where a run waits for a person or has stopped. */
export const RESTING_STAGES: readonly LifecycleStage[] = [
  'awaiting-approval',
  'deployed',
  'rolled-back',
  'rejected',
  'superseded',
  'unchanged',
  'failed',
];

/**
 * Follows a run until it waits for a person or stops, reporting each stage it enters.
 *
 * @throws when the time runs out, naming the stage it is at
 */
export async function followRun(
  handle: LifecycleHandle,
  options: {
    timeoutMs?: number;
    pollMs?: number;
    onStage?: (status: LifecycleStatus) => void;
    /** Called with each new training heartbeat while the run trains. */
    onTraining?: (progress: TrainingProgress) => void;
  } = {},
): Promise<LifecycleStatus> {
  const deadline = Date.now() + (options.timeoutMs ?? 30 * 60_000);
  let last: LifecycleStage | undefined;
  for (;;) {
    const status = await statusWhenAnswered(handle, deadline, options.pollMs ?? 500);
    if (status.stage !== last) {
      last = status.stage;
      options.onStage?.(status);
    }
    if (RESTING_STAGES.includes(status.stage)) return status;
    if (status.stage === 'train' && options.onTraining) {
      const progress = await trainingProgress(handle).catch(() => undefined);
      if (progress?.iteration !== undefined) options.onTraining(progress);
    }
    if (Date.now() > deadline) throw new Error(`run ${handle.workflowId} is still at ${status.stage}`);
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 500));
  }
}

/** Where a run's training is, from the last heartbeat of its pending training activity. */
export interface TrainingProgress {
  iteration?: number;
  totalIterations?: number;
  trainLoss?: number;
  validationLoss?: number;
  attempt: number;
}

/**
 * The training progress of a run, read from its pending `trainModel` activity's heartbeat through
 * `describe()` (answered by the server alone); undefined when it is not training.
 */
export async function trainingProgress(handle: LifecycleHandle): Promise<TrainingProgress | undefined> {
  const description = await handle.describe();
  const pending = (description.raw.pendingActivities ?? []).find(
    (activity) => activity.activityType?.name === 'trainModel',
  );
  if (!pending) return undefined;
  const payload = pending.heartbeatDetails?.payloads?.[0];
  const heartbeat = payload
    ? defaultDataConverter.payloadConverter.fromPayload<Partial<TrainingProgress>>(payload)
    : {};
  return { ...heartbeat, attempt: pending.attempt ?? 1 };
}
