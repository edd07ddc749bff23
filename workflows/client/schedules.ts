/**
 * The nightly check of each production model runs on a Temporal Schedule, `nightly-<model>`, which
 * deploy creates or updates (idempotently) from the spec's `monitoring.schedule` cron expression.
 */
import {
  type Client,
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
} from '@temporalio/client';
import type { NightlyInput } from '../monitoringTypes';

export const nightlyScheduleId = (model: string) => `nightly-${model}`;

export interface NightlyScheduleOptions {
  model: string;
  /** 5-field cron expression, UTC. */
  cron: string;
  taskQueue: string;
  /** Who or what set it, for the schedule's note. */
  setBy: string;
}

/** Creates the model's nightly schedule, or sets its time and queue again; returns which. */
export async function ensureNightlySchedule(
  client: Client,
  options: NightlyScheduleOptions,
): Promise<'created' | 'updated'> {
  const scheduleId = nightlyScheduleId(options.model);
  const input: NightlyInput = { model: options.model };
  const action = {
    type: 'startWorkflow' as const,
    workflowType: 'nightlyEvaluation',
    workflowId: `nightly-${options.model}`,
    taskQueue: options.taskQueue,
    args: [input],
  };
  const handle = client.schedule.getHandle(scheduleId);
  try {
    await handle.describe();
    // Setting the same time and action again changes nothing; a new cron or queue takes effect.
    await handle.update((previous) => ({
      ...previous,
      spec: { cronExpressions: [options.cron] },
      action,
      state: { ...previous.state, note: `set by ${options.setBy}` },
    }));
    return 'updated';
  } catch (error) {
    if (!(error instanceof ScheduleNotFoundError)) throw error;
  }
  try {
    await client.schedule.create({
      scheduleId,
      spec: { cronExpressions: [options.cron] },
      action,
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
      state: { note: `set by ${options.setBy}` },
    });
    return 'created';
  } catch (error) {
    // Another deploy created it a moment ago: the same schedule, so nothing to do.
    if (error instanceof ScheduleAlreadyRunning) return 'created';
    throw error;
  }
}

/** The redelivery schedule of a light task queue: its workers post what webhooks did not take. */
export const redeliveryScheduleId = (taskQueue: string) => `announcement-redelivery-${taskQueue}`;

/** How often the redelivery schedule runs. */
export const REDELIVERY_EVERY = '5 minutes';

/**
 * Creates the schedule that runs `announcementRedelivery` on `taskQueue` every few minutes, unless it
 * exists; a worker with webhooks configured ensures it when it starts.
 */
export async function ensureRedeliverySchedule(
  client: Client,
  taskQueue: string,
): Promise<'created' | 'exists'> {
  const scheduleId = redeliveryScheduleId(taskQueue);
  try {
    await client.schedule.getHandle(scheduleId).describe();
    return 'exists';
  } catch (error) {
    if (!(error instanceof ScheduleNotFoundError)) throw error;
  }
  try {
    await client.schedule.create({
      scheduleId,
      spec: { intervals: [{ every: REDELIVERY_EVERY }] },
      action: {
        type: 'startWorkflow',
        workflowType: 'announcementRedelivery',
        workflowId: scheduleId,
        taskQueue,
        args: [],
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '10 minutes' },
      state: { note: 'posts again what the webhooks did not take (set by a worker at start)' },
    });
    return 'created';
  } catch (error) {
    if (error instanceof ScheduleAlreadyRunning) return 'exists';
    throw error;
  }
}
