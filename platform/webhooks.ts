/**
 * Signed webhook posts. Each POST carries its body as JSON and a signature a receiver checks with
 * the shared secret (KERF_WEBHOOK_SECRET):
 *
 *   Kerf-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the secret>
 *
 * The timestamp is inside the MAC, so a receiver refuses a replayed post by its age (Kerf signs each
 * attempt afresh), and the body is the exact bytes sent. `Kerf-Delivery` names the announcement, so
 * a receiver that sees it twice (a retried attempt it did answer) can drop the second.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The signature header's name. */
export const SIGNATURE_HEADER = 'kerf-signature';
/** The header naming the announcement (the same on every attempt). */
export const DELIVERY_HEADER = 'kerf-delivery';

/** The `Kerf-Signature` value for `body` sent at `timestamp` (unix seconds). */
export function webhookSignature(secret: string, timestamp: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return `t=${timestamp},v1=${mac}`;
}

/**
 * Checks a received post as a receiver would: the signature over the timestamp and the body, and
 * the timestamp no older than `toleranceSeconds`.
 */
export function verifyWebhookSignature(
  secret: string,
  header: string,
  body: string,
  nowSeconds: number,
  toleranceSeconds = 300,
): boolean {
  const parts = new Map(
    header.split(',').map((part) => {
      const at = part.indexOf('=');
      return [part.slice(0, at).trim(), part.slice(at + 1).trim()] as const;
    }),
  );
  const timestamp = Number(parts.get('t'));
  const given = parts.get('v1') ?? '';
  if (!Number.isInteger(timestamp) || Math.abs(nowSeconds - timestamp) > toleranceSeconds) return false;
  const expected = webhookSignature(secret, timestamp, body).split('v1=')[1] ?? '';
  return given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected));
}

/** One attempt to post, as the delivery log records it. */
export interface WebhookAttempt {
  attempt: number;
  delivered: boolean;
  /** The receiver's status code, when it answered. */
  httpStatus?: number;
  /** Why it failed: a status, a timeout, a refused connection. */
  error?: string;
}

export interface PostOptions {
  /** Attempts at most. @default 4 */
  attempts?: number;
  /** The wait before the second attempt; each later wait is four times longer. @default 1000 */
  firstBackoffMs?: number;
  /** Per attempt. @default 10000 */
  timeoutMs?: number;
  /** Called after each attempt (to log it as it happens). */
  onAttempt?: (attempt: WebhookAttempt) => Promise<void>;
  /** For tests of the backoff. @default real timers */
  sleep?: (ms: number) => Promise<void>;
}

/** The URL as it may be shown and logged: without credentials or query (they may hold a token). */
export function shownUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return 'an unreadable URL';
  }
}

/**
 * Posts `body` to `url`, signed, until a 2xx answer or the attempts run out, waiting 1 s, 4 s,
 * 16 s... between attempts. Never throws for the receiver's failures: the attempts say what happened.
 */
export async function postSigned(
  url: string,
  body: string,
  headers: { secret: string; delivery: string; event: string },
  options: PostOptions = {},
): Promise<WebhookAttempt[]> {
  const attempts = options.attempts ?? 4;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const log: WebhookAttempt[] = [];
  let wait = options.firstBackoffMs ?? 1000;
  // fetch refuses a URL with credentials: they go as HTTP basic authentication instead.
  const target = new URL(url);
  const credentials: Record<string, string> =
    target.username || target.password
      ? {
          authorization: `Basic ${Buffer.from(
            `${decodeURIComponent(target.username)}:${decodeURIComponent(target.password)}`,
          ).toString('base64')}`,
        }
      : {};
  target.username = '';
  target.password = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    let result: WebhookAttempt;
    try {
      const response = await fetch(target, {
        method: 'POST',
        headers: {
          ...credentials,
          'content-type': 'application/json',
          [SIGNATURE_HEADER]: webhookSignature(headers.secret, Math.floor(Date.now() / 1000), body),
          [DELIVERY_HEADER]: headers.delivery,
          'kerf-event': headers.event,
        },
        body,
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
        redirect: 'error',
      });
      await response.body?.cancel();
      result = response.ok
        ? { attempt, delivered: true, httpStatus: response.status }
        : { attempt, delivered: false, httpStatus: response.status, error: `answered ${response.status}` };
    } catch (error) {
      const cause =
        error instanceof Error
          ? ((error.cause as Error | undefined)?.message ?? error.message)
          : String(error);
      result = { attempt, delivered: false, error: cause.slice(0, 200) };
    }
    log.push(result);
    await options.onAttempt?.(result);
    if (result.delivered) break;
    if (attempt < attempts) {
      await sleep(wait);
      wait *= 4;
    }
  }
  return log;
}
