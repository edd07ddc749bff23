/**
 * What the Temporal server records of a run's activities, read the way the tests that kill workers,
 * restart servers or move work between queues check it: each activity scheduled in the history (its
 * input, queue, the attempt and worker of its recorded start, whether and with what it completed),
 * and the activities pending now with their last heartbeat. Both come from the server alone, so they
 * answer while no worker is alive.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { defaultDataConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';

export type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** A payload's value (undefined for none). */
export function decodePayload(payload: temporal.api.common.v1.IPayload | null | undefined): unknown {
  return payload ? defaultDataConverter.payloadConverter.fromPayload(payload) : undefined;
}

/** One activity of a run's history, from its scheduled event. */
export interface ActivityRun<Input = unknown, Result = unknown> {
  /** The scheduled event's id: one per activity, whatever its attempts. */
  id: string;
  type: string;
  input: Input | undefined;
  taskQueue: string;
  /**
   * The attempt and worker identity (`pid@host`) of its recorded start, 0 and '' while none is: the
   * server writes the start of the attempt that ended it, once it has ended.
   */
  attempt: number;
  worker: string;
  completed: boolean;
  result: Result | undefined;
}

/** The activities of `types` (every type when omitted) in `events`, in the order they were scheduled. */
export function activityRuns<Input = unknown, Result = unknown>(
  events: readonly HistoryEvent[],
  types?: readonly string[],
): ActivityRun<Input, Result>[] {
  const byId = new Map<string, ActivityRun<Input, Result>>();
  for (const event of events) {
    const scheduled = event.activityTaskScheduledEventAttributes;
    const type = scheduled?.activityType?.name;
    if (scheduled && type && (!types || types.includes(type))) {
      const id = String(event.eventId);
      byId.set(id, {
        id,
        type,
        input: decodePayload(scheduled.input?.payloads?.[0]) as Input | undefined,
        taskQueue: scheduled.taskQueue?.name ?? '',
        attempt: 0,
        worker: '',
        completed: false,
        result: undefined,
      });
    }
    const started = event.activityTaskStartedEventAttributes;
    const startedRun = started && byId.get(String(started.scheduledEventId));
    if (startedRun) {
      startedRun.attempt = started.attempt ?? 0;
      startedRun.worker = started.identity ?? '';
    }
    const completed = event.activityTaskCompletedEventAttributes;
    const completedRun = completed && byId.get(String(completed.scheduledEventId));
    if (completedRun) {
      completedRun.completed = true;
      completedRun.result = decodePayload(completed.result?.payloads?.[0]) as Result | undefined;
    }
  }
  return [...byId.values()];
}

/** The run's history events. */
export async function historyEvents(handle: Pick<WorkflowHandle, 'fetchHistory'>): Promise<HistoryEvent[]> {
  return (await handle.fetchHistory()).events ?? [];
}

/** An activity pending now, as the server sees it. */
export interface PendingActivity<Heartbeat = unknown> {
  attempt: number;
  /** The identity of the worker running (or last running) it. */
  worker: string;
  heartbeat: Heartbeat | undefined;
  /** When the server handed the current attempt to a worker (epoch ms), if it has. */
  lastStartedAtMs: number | undefined;
}

/** The run's status, and its pending activities of `type`. */
export async function pendingActivities<Heartbeat = unknown>(
  handle: Pick<WorkflowHandle, 'describe'>,
  type: string,
): Promise<{ status: string; pending: PendingActivity<Heartbeat>[] }> {
  const description = await handle.describe();
  const pending = (description.raw.pendingActivities ?? [])
    .filter((activity) => activity.activityType?.name === type)
    .map((activity) => ({
      attempt: activity.attempt ?? 0,
      worker: activity.lastWorkerIdentity ?? '',
      heartbeat: decodePayload(activity.heartbeatDetails?.payloads?.[0]) as Heartbeat | undefined,
      lastStartedAtMs: timestampMs(activity.lastStartedTime),
    }));
  return { status: description.status.name, pending };
}

/** A protobuf Timestamp as epoch milliseconds. */
function timestampMs(
  time: { seconds?: { toNumber(): number } | number | null; nanos?: number | null } | null | undefined,
): number | undefined {
  if (!time?.seconds) return undefined;
  const seconds = typeof time.seconds === 'number' ? time.seconds : time.seconds.toNumber();
  return seconds * 1000 + Math.floor((time.nanos ?? 0) / 1e6);
}
