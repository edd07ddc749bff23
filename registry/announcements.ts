/**
 * The announcement log: each announcement once (by its dedupe key, so a retried activity does not
 * announce twice) and every attempt to deliver it to a webhook.
 */
import type { Queryable } from './sql';
import type { JsonObject } from './json';

export interface AnnouncementRecord {
  announcementId: number;
  event: string;
  model: string;
  version: number | null;
  body: JsonObject;
  createdAt: Date;
}

/**
 * Records an announcement, or finds the one recorded under the same key.
 *
 * @returns the announcement and the URLs it was already delivered to
 */
export async function recordAnnouncement(
  db: Queryable,
  input: { event: string; model: string; version: number | null; dedupeKey: string; body: JsonObject },
): Promise<{ announcement: AnnouncementRecord; deliveredTo: Set<string> }> {
  const { rows } = await db.query<{
    announcement_id: string;
    event: string;
    model: string;
    version: number | null;
    body: JsonObject;
    created_at: Date;
  }>(
    `WITH added AS (
       INSERT INTO registry.announcements (event, model, version, dedupe_key, body)
       VALUES ($1, $2, $3, $4, $5::jsonb) ON CONFLICT (dedupe_key) DO NOTHING
       RETURNING announcement_id, event, model, version, body, created_at)
     SELECT * FROM added
     UNION ALL
     SELECT announcement_id, event, model, version, body, created_at FROM registry.announcements
     WHERE dedupe_key = $4 AND NOT EXISTS (SELECT 1 FROM added)`,
    [input.event, input.model, input.version, input.dedupeKey, JSON.stringify(input.body)],
  );
  const row = rows[0];
  if (!row) throw new Error(`the announcement ${input.dedupeKey} was neither recorded nor found`);
  const announcement: AnnouncementRecord = {
    announcementId: Number(row.announcement_id),
    event: row.event,
    model: row.model,
    version: row.version,
    body: row.body,
    createdAt: row.created_at,
  };
  const delivered = await db.query<{ url: string }>(
    'SELECT DISTINCT url FROM registry.announcement_deliveries WHERE announcement_id = $1 AND delivered',
    [announcement.announcementId],
  );
  return { announcement, deliveredTo: new Set(delivered.rows.map((entry) => entry.url)) };
}

/** One attempt to post an announcement to a webhook. */
export async function recordDeliveryAttempt(
  db: Queryable,
  attempt: {
    announcementId: number;
    url: string;
    attempt: number;
    delivered: boolean;
    httpStatus?: number;
    error?: string;
  },
): Promise<void> {
  await db.query(
    `INSERT INTO registry.announcement_deliveries (announcement_id, url, attempt, delivered, http_status, error)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [
      attempt.announcementId,
      attempt.url,
      attempt.attempt,
      attempt.delivered,
      attempt.httpStatus ?? null,
      attempt.error?.slice(0, 500) ?? null,
    ],
  );
}

/** The delivery attempts of a model's announcements, oldest first (for `kerf audit` and tests). */
export async function announcementDeliveries(
  db: Queryable,
  model: string,
): Promise<
  {
    event: string;
    version: number | null;
    url: string;
    attempt: number;
    delivered: boolean;
    httpStatus: number | null;
  }[]
> {
  const { rows } = await db.query<{
    event: string;
    version: number | null;
    url: string;
    attempt: number;
    delivered: boolean;
    http_status: number | null;
  }>(
    `SELECT a.event, a.version, d.url, d.attempt, d.delivered, d.http_status
     FROM registry.announcement_deliveries d JOIN registry.announcements a USING (announcement_id)
     WHERE a.model = $1 ORDER BY d.delivery_id`,
    [model],
  );
  return rows.map((row) => ({
    event: row.event,
    version: row.version,
    url: row.url,
    attempt: row.attempt,
    delivered: row.delivered,
    httpStatus: row.http_status,
  }));
}

/** An announcement some webhook has not taken yet, with the attempts made to post it there. */
export interface UndeliveredAnnouncement {
  announcementId: number;
  event: string;
  model: string;
  body: JsonObject;
  /** The webhook as logged (`shownUrl`). */
  url: string;
  attempts: number;
  /** The last attempt, epoch ms. */
  lastAttemptAt: number;
}

/**
 * The announcements made since `since` (epoch ms) that one of `urls` (as logged) has not taken in
 * any attempt, oldest first, at most `limit`.
 */
export async function undeliveredAnnouncements(
  db: Queryable,
  options: { urls: string[]; since: number; limit: number },
): Promise<UndeliveredAnnouncement[]> {
  if (options.urls.length === 0) return [];
  const { rows } = await db.query<{
    announcement_id: string;
    event: string;
    model: string;
    body: JsonObject;
    url: string;
    attempts: number;
    last_at: Date;
  }>(
    `SELECT a.announcement_id, a.event, a.model, a.body, d.url, count(*)::int AS attempts, max(d.at) AS last_at
     FROM registry.announcements a JOIN registry.announcement_deliveries d USING (announcement_id)
     WHERE a.created_at >= $2 AND d.url = ANY($1::text[])
     GROUP BY a.announcement_id, d.url
     HAVING NOT bool_or(d.delivered)
     ORDER BY a.announcement_id, d.url
     LIMIT $3`,
    [options.urls, new Date(options.since), options.limit],
  );
  return rows.map((row) => ({
    announcementId: Number(row.announcement_id),
    event: row.event,
    model: row.model,
    body: row.body,
    url: row.url,
    attempts: row.attempts,
    lastAttemptAt: row.last_at.getTime(),
  }));
}
