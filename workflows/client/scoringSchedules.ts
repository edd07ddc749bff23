/**
 * A spec's scheduled batch scorings (`scoring`) run on Temporal Schedules, one per entry,
 * `scoring-<model>-<name>`, which deploy sets from the spec like the nightly check's: created or
 * updated (idempotently), and those the spec no longer lists deleted. Each run scores with the
 * production version of the moment it starts.
 */
import {
  type Client,
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
} from '@temporalio/client';
import type { ScoringJob } from '../../lifecycle/spec/scoring';
import type { BatchScoringInput } from '../batchScoringTypes';

export const scoringScheduleId = (model: string, job: string) => `scoring-${model}-${job}`;

/** What marks a schedule as one of a model's scheduled scorings (its memo). */
const SCHEDULE_KIND = 'batch-scoring';

export interface ScoringSchedulesOptions {
  model: string;
  /** The spec's `scoring` entries (none: every scheduled scoring of the model is removed). */
  jobs: readonly ScoringJob[];
  /** The light queue the runs' workflows go to. */
  taskQueue: string;
  /** The queue their chunks are scored on. */
  heavyTaskQueue: string;
  /** Who or what set them, for the schedules' note. */
  setBy: string;
}

/** What `ensureScoringSchedules` did, by schedule id. */
export interface ScoringSchedulesResult {
  created: string[];
  updated: string[];
  removed: string[];
}

/** Creates or updates one schedule per scoring entry, and removes the model's others. */
export async function ensureScoringSchedules(
  client: Client,
  options: ScoringSchedulesOptions,
): Promise<ScoringSchedulesResult> {
  const result: ScoringSchedulesResult = { created: [], updated: [], removed: [] };
  const wanted = new Set<string>();
  for (const job of options.jobs) {
    const scheduleId = scoringScheduleId(options.model, job.name);
    wanted.add(scheduleId);
    const input: BatchScoringInput = {
      model: options.model,
      query: job.query,
      into: job.into,
      ...(job.chunkRows === undefined ? {} : { chunkRows: job.chunkRows }),
      startedBy: `schedule:${scheduleId}`,
      heavyTaskQueue: options.heavyTaskQueue,
    };
    const action = {
      type: 'startWorkflow' as const,
      workflowType: 'batchScoring',
      workflowId: scheduleId,
      taskQueue: options.taskQueue,
      args: [input],
    };
    const spec = { cronExpressions: [job.schedule] };
    const note = `${options.model}: ${job.name} into ${job.into}, set by ${options.setBy}`;
    const handle = client.schedule.getHandle(scheduleId);
    try {
      await handle.describe();
      await handle.update((previous) => ({ ...previous, spec, action, state: { ...previous.state, note } }));
      result.updated.push(scheduleId);
      continue;
    } catch (error) {
      if (!(error instanceof ScheduleNotFoundError)) throw error;
    }
    try {
      await client.schedule.create({
        scheduleId,
        spec,
        action,
        // A run still going when the next is due: the next is skipped, never run beside it.
        policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
        state: { note },
        memo: { model: options.model, kind: SCHEDULE_KIND },
      });
    } catch (error) {
      // Another deploy created it a moment ago: the same schedule.
      if (!(error instanceof ScheduleAlreadyRunning)) throw error;
    }
    result.created.push(scheduleId);
  }
  for await (const entry of client.schedule.list()) {
    const memo = entry.memo ?? {};
    if (memo.kind !== SCHEDULE_KIND || memo.model !== options.model || wanted.has(entry.scheduleId)) continue;
    await client.schedule
      .getHandle(entry.scheduleId)
      .delete()
      .catch((error: unknown) => {
        if (!(error instanceof ScheduleNotFoundError)) throw error;
      });
    result.removed.push(entry.scheduleId);
  }
  return result;
}
