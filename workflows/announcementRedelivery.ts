/**
 * Posting again what a webhook did not take: run every few minutes by the redelivery schedule of the
 * light task queue (`ensureRedeliverySchedule`), it posts each announcement of the last day whose
 * next attempt is due, once, and leaves the rest for a later run. A webhook down for hours still gets
 * the approval request it missed, with the waits growing to two hours, for a day.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import { announcing } from './activityProfiles';

type Activities = ReturnType<typeof createActivities>;

export async function announcementRedelivery(): Promise<{ due: number; delivered: number; failed: number }> {
  const announcer = proxyActivities<Activities>(announcing);
  return announcer.redeliverAnnouncements({ now: Date.now() });
}
