/**
 * Starting and following batch scoring runs from outside the worker (`kerf score`, tests, the
 * bench): one input shape for every starter, and a follower that reports each chunk as it finishes.
 */
import { type Client, ServiceError, type WorkflowHandle } from '@temporalio/client';
import type { KerfConfig } from '../../platform/config';
import { heavyQueueOf } from '../../platform/taskQueues';
import type { batchScoring } from '../batchScoring';
import {
  type BatchScoringInput,
  type BatchScoringStatus,
  batchScoringStatusQuery,
  type ChunkSummary,
} from '../batchScoringTypes';

export type BatchScoringHandle = WorkflowHandle<typeof batchScoring>;

/** A readable, unique workflow id for a batch scoring run of a model. */
export function batchScoringWorkflowId(model: string, at = new Date()): string {
  const stamp = at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `score-${model}-${stamp}-${Math.random().toString(36).slice(2, 6)}`;
}

export interface StartBatchScoringOptions {
  /** The light queue the run's workflow runs on. @default the configured one */
  taskQueue?: string;
  /** @default `score-<model>-<time>` */
  workflowId?: string;
}

/** Starts a batch scoring run; its chunks go to the heavy queue beside the run's light one. */
export async function startBatchScoring(
  client: Client,
  config: Pick<KerfConfig, 'temporal'>,
  input: BatchScoringInput,
  options: StartBatchScoringOptions = {},
): Promise<BatchScoringHandle> {
  const taskQueue = options.taskQueue ?? config.temporal.taskQueue;
  const heavyTaskQueue =
    input.heavyTaskQueue ??
    (options.taskQueue ? heavyQueueOf(options.taskQueue) : config.temporal.heavyTaskQueue);
  return client.workflow.start<typeof batchScoring>('batchScoring', {
    taskQueue,
    workflowId: options.workflowId ?? batchScoringWorkflowId(input.model),
    args: [{ ...input, heavyTaskQueue }],
    memo: { model: input.model, startedBy: input.startedBy },
    staticSummary: `${input.model}: batch scoring into ${input.into} (started by ${input.startedBy})`,
  });
}

/** Asks a run where it is; a moment without an answer (no worker right now) is asked again. */
async function statusOf(handle: BatchScoringHandle, pollMs: number): Promise<BatchScoringStatus | undefined> {
  try {
    return await handle.query(batchScoringStatusQuery);
  } catch (error) {
    const transient =
      error instanceof ServiceError &&
      /FAILED_PRECONDITION|DEADLINE_EXCEEDED|UNAVAILABLE|no poller seen/i.test(
        `${error.message} ${String(error.cause)}`,
      );
    if (!transient) throw error;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
    return undefined;
  }
}

/**
 * Follows a run until it ends: `onChunk` for each chunk as it finishes (in the order they finished),
 * `onPlan` once its rows are staged. Resolves with the run's result; a failed run throws its failure.
 */
export async function followBatchScoring(
  handle: BatchScoringHandle,
  callbacks: {
    onPlan?: (status: BatchScoringStatus) => void;
    onChunk?: (chunk: ChunkSummary, status: BatchScoringStatus) => void;
  },
  options: { pollMs?: number } = {},
): Promise<Awaited<ReturnType<typeof batchScoring>>> {
  const pollMs = options.pollMs ?? 250;
  const result = handle.result();
  const run = { ended: false };
  void result.then(
    () => (run.ended = true),
    () => (run.ended = true),
  );
  let shown = 0;
  let planned = false;
  const report = (status: BatchScoringStatus) => {
    if (!planned && status.plan) {
      planned = true;
      callbacks.onPlan?.(status);
    }
    for (; shown < status.finished.length; shown++) {
      callbacks.onChunk?.(status.finished[shown] as ChunkSummary, status);
    }
  };
  while (!run.ended) {
    const status = await statusOf(handle, pollMs).catch(() => undefined);
    if (status) report(status);
    await Promise.race([
      result.catch(() => undefined),
      new Promise((resolve) => setTimeout(resolve, pollMs)),
    ]);
  }
  // The last chunks may have finished between two polls: a closed run still answers its Query.
  const last = await handle.query(batchScoringStatusQuery).catch(() => undefined);
  if (last) report(last);
  return result;
}
