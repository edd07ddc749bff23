/**
 * Announcements people receive: the lifecycle's (approval requested, reminder, deadline reached,
 * deployed, rolled back) and the nightly check's news, each recorded once in the announcement log
 * and posted, signed with HMAC-SHA256 (`platform/webhooks.ts`), to every configured webhook, with
 * retries and backoff; every attempt is in the delivery log. A webhook that fails never fails the
 * run that announces: the log says who was not reached, and an audit row says what was announced.
 */
import { Context, log } from '@temporalio/activity';
import type pg from 'pg';
import { postSigned, shownUrl } from '../platform/webhooks';
import { appendAudit, recordAnnouncement, recordDeliveryAttempt } from '../registry';
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

export function createAnnouncementActivities({ pool, webhooks }: ActivityDeps) {
  return {
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
