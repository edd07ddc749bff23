/**
 * Announcements people receive: the lifecycle's (approval requested, reminder, deadline reached,
 * deployed, rolled back) and the nightly check's news, each recorded once in the announcement log
 * and posted, signed with HMAC-SHA256 (`platform/webhooks.ts`), to every configured webhook, with
 * retries and backoff; every attempt is in the delivery log. A webhook that fails never fails the
 * run that announces: the log says who was not reached, and an audit row says what was announced.
 * What a webhook did not take is posted again for a day, with growing waits, by the redelivery
 * schedule's workflow (`workflows/announcementRedelivery.ts`).
 */
import { Context, log } from '@temporalio/activity';
import type pg from 'pg';
import { postSigned, shownUrl } from '../platform/webhooks';
import {
  appendAudit,
  recordAnnouncement,
  recordDeliveryAttempt,
  undeliveredAnnouncements,
} from '../registry';
import type { JsonObject } from '../registry/json';
import type { ActivityDeps } from './deps';

/** The events Kerf announces. */
export const ANNOUNCED_EVENTS = [
  'approval-requested',
  'approval-reminder',
  'approval-deadline-reached',
  'deployed',
  'rolled-back',
  'canary-promoted',
  'canary-aborted',
  'nightly-check',
] as const;
export type AnnouncedEvent = (typeof ANNOUNCED_EVENTS)[number];

/** What an announcement says: its event and model, and whatever else the reader needs. */
export type AnnouncementMessage = Record<string, unknown> & {
  event: AnnouncedEvent;
  model: string;
  version?: number | null;
};

export interface AnnouncementResult {
  /** Webhooks that took it (now or on an earlier attempt of this activity). */
  delivered: number;
  /** Webhooks that did not answer 2xx within the attempts. */
  failed: number;
}

/** Who announces, in the audit log. */
const ACTOR: Record<AnnouncedEvent, string> = {
  'approval-requested': 'kerf',
  'approval-reminder': 'kerf',
  'approval-deadline-reached': 'kerf',
  deployed: 'kerf',
  'rolled-back': 'kerf',
  'canary-promoted': 'kerf',
  'canary-aborted': 'kerf',
  'nightly-check': 'kerf-nightly',
};

/**
 * Records and posts one announcement. Keyed by the event, the model, the version and the workflow
 * that announces it, so a retried activity posts only to the webhooks that did not take it yet.
 */
export async function announceTo(
  pool: pg.Pool,
  webhooks: ActivityDeps['webhooks'],
  message: AnnouncementMessage,
  /** What makes it one announcement beside its event, model and version: the announcing workflow's id. */
  announcedBy: string,
  hooks: {
    heartbeat?: (details: unknown) => void;
    warn?: (message: string, details: Record<string, unknown>) => void;
  } = {},
): Promise<AnnouncementResult> {
  const version = typeof message.version === 'number' ? message.version : null;
  const body: JsonObject = JSON.parse(
    JSON.stringify({ source: 'kerf', ...message, at: new Date().toISOString() }),
  ) as JsonObject;
  const { announcement, deliveredTo } = await recordAnnouncement(pool, {
    event: message.event,
    model: message.model,
    version,
    dedupeKey: `${message.event}:${message.model}:${version ?? '-'}:${announcedBy}`,
    body,
  });
  if (deliveredTo.size === 0) {
    await appendAudit(pool, {
      actor: ACTOR[message.event],
      action: message.event === 'nightly-check' ? 'nightly-announcement' : 'announcement',
      model: message.model,
      details: { ...(JSON.parse(JSON.stringify(message)) as JsonObject), webhooks: webhooks.urls.length },
    });
  }
  // No webhook configured (KERF_WEBHOOK_URL): the announcement is in the audit log only.
  if (webhooks.urls.length === 0) return { delivered: 0, failed: 0 };
  const text = JSON.stringify(announcement.body);
  let delivered = 0;
  let failed = 0;
  for (const url of webhooks.urls) {
    const shown = shownUrl(url);
    if (deliveredTo.has(shown)) {
      delivered++;
      continue;
    }
    const attempts = await postSigned(
      url,
      text,
      { secret: webhooks.secret(), delivery: String(announcement.announcementId), event: message.event },
      {
        onAttempt: async (attempt) => {
          hooks.heartbeat?.({ url: shown, attempt: attempt.attempt });
          await recordDeliveryAttempt(pool, {
            announcementId: announcement.announcementId,
            url: shown,
            ...attempt,
          });
        },
      },
    );
    if (attempts.at(-1)?.delivered) delivered++;
    else {
      failed++;
      hooks.warn?.('a webhook did not take an announcement; the delivery log has every attempt', {
        url: shown,
        event: message.event,
        model: message.model,
        error: attempts.at(-1)?.error,
      });
    }
  }
  return { delivered, failed };
}

/** How long an announcement is posted again to a webhook that has not taken it. */
export const REDELIVERY_WINDOW_MS = 24 * 3_600_000;
/** The most attempts an announcement gets at one webhook, the first activity's four included. */
export const MAX_DELIVERY_ATTEMPTS = 16;
/** The wait after the fourth attempt; each later wait doubles, up to {@link LONGEST_REDELIVERY_WAIT_MS}. */
const FIRST_REDELIVERY_WAIT_MS = 60_000;
const LONGEST_REDELIVERY_WAIT_MS = 2 * 3_600_000;

/**
 * When a webhook that failed `attempts` times, the last at `lastAttemptAt`, is tried again: a minute
 * after the announcing activity's attempts, then twice as long each time up to two hours; undefined
 * once it had {@link MAX_DELIVERY_ATTEMPTS} (about a day).
 */
export function nextDeliveryAt(attempts: number, lastAttemptAt: number): number | undefined {
  if (attempts >= MAX_DELIVERY_ATTEMPTS) return undefined;
  const doublings = Math.max(0, attempts - 4);
  return lastAttemptAt + Math.min(LONGEST_REDELIVERY_WAIT_MS, FIRST_REDELIVERY_WAIT_MS * 2 ** doublings);
}

export interface RedeliveryResult {
  /** Posts that were due and made. */
  due: number;
  delivered: number;
  failed: number;
}

/**
 * Posts again, once each, the announcements of the last day that a configured webhook has not taken
 * and whose next attempt is due at `now` (the same body and delivery id, newly signed); every attempt
 * joins the delivery log. A webhook no longer configured is not posted to.
 */
export async function redeliverAnnouncements(
  pool: pg.Pool,
  webhooks: ActivityDeps['webhooks'],
  now: number,
  hooks: { heartbeat?: (details: unknown) => void } = {},
): Promise<RedeliveryResult> {
  const byShown = new Map(webhooks.urls.map((url) => [shownUrl(url), url]));
  const pending = await undeliveredAnnouncements(pool, {
    urls: [...byShown.keys()],
    since: now - REDELIVERY_WINDOW_MS,
    limit: 500,
  });
  const result: RedeliveryResult = { due: 0, delivered: 0, failed: 0 };
  for (const announcement of pending) {
    const dueAt = nextDeliveryAt(announcement.attempts, announcement.lastAttemptAt);
    const url = byShown.get(announcement.url);
    if (dueAt === undefined || dueAt > now || url === undefined) continue;
    result.due++;
    const attempt = announcement.attempts + 1;
    hooks.heartbeat?.({ url: announcement.url, announcement: announcement.announcementId, attempt });
    const [posted] = await postSigned(
      url,
      JSON.stringify(announcement.body),
      { secret: webhooks.secret(), delivery: String(announcement.announcementId), event: announcement.event },
      { attempts: 1 },
    );
    const delivered = posted?.delivered === true;
    await recordDeliveryAttempt(pool, {
      announcementId: announcement.announcementId,
      url: announcement.url,
      attempt,
      delivered,
      ...(posted?.httpStatus === undefined ? {} : { httpStatus: posted.httpStatus }),
      ...(posted?.error === undefined ? {} : { error: posted.error }),
    });
    if (delivered) result.delivered++;
    else result.failed++;
  }
  return result;
}

export function createAnnouncementActivities({ pool, webhooks }: ActivityDeps) {
  return {
    /**
     * Posts again what a webhook has not taken and is due (the redelivery schedule's workflow, every
     * few minutes); `now` is the workflow's time.
     */
    async redeliverAnnouncements(input: { now: number }): Promise<RedeliveryResult> {
      const now = typeof input.now === 'number' && Number.isFinite(input.now) ? input.now : Date.now();
      return redeliverAnnouncements(pool, webhooks, now, {
        heartbeat: (details) => {
          Context.current().heartbeat(details);
        },
      });
    },
    /** Records an announcement and posts it, signed, to every configured webhook (never throws for them). */
    async announce(message: AnnouncementMessage): Promise<AnnouncementResult> {
      const execution = Context.current().info.workflowExecution as { workflowId: string } | undefined;
      return announceTo(pool, webhooks, message, execution?.workflowId ?? 'outside-a-workflow', {
        heartbeat: (details) => {
          Context.current().heartbeat(details);
        },
        warn: (text, details) => {
          log.warn(text, details);
        },
      });
    },
  };
}
