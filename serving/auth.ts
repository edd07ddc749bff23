/**
 * Who may call the API. Callers send `Authorization: Bearer <token>`: either the configured token
 * (KERF_API_TOKEN, or the development token file), which acts as an admin token, or a service token
 * from `access.service_tokens` (`kerf tokens add NAME --scopes predict,outcomes`), whose scopes
 * decide the routes: predict -> POST predict, outcomes -> POST outcomes, read -> GET models, cards,
 * status and metrics, admin -> anything. Compared in constant time (over SHA-256 digests, so the
 * length of the token does not leak either); a service token's scrypt check runs once per process.
 */
import { hash, timingSafeEqual } from 'node:crypto';
import type pg from 'pg';
import {
  findServiceToken,
  scopeAllows,
  scopeForRequest,
  tokenSecretMatches,
  touchServiceToken,
} from '../access';
import { ServingHttpError } from './errors';

/** The shortest token accepted: a guessable token protects nothing. */
export const MIN_TOKEN_LENGTH = 16;

/**
 * Checks a configured token.
 *
 * @throws naming `token` and how to make a good one
 */
export function checkServingToken(token: unknown): string {
  if (typeof token !== 'string' || token.length < MIN_TOKEN_LENGTH || /\s/.test(token)) {
    throw new Error(
      `token must be a bearer token of at least ${MIN_TOKEN_LENGTH} characters without spaces ` +
        '(make one with `openssl rand -hex 32`)',
    );
  }
  return token;
}

/**
 * The token of an `Authorization: Bearer <token>` header.
 *
 * @throws ServingHttpError 401 naming what is wrong with a missing or malformed header
 */
export function bearerTokenOf(authorization: string | undefined): string {
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization ?? '');
  if (!match?.[1]) {
    throw new ServingHttpError(
      401,
      'unauthorized',
      authorization === undefined
        ? 'No bearer token: send the header "Authorization: Bearer <token>" with the serving token or a service token'
        : 'The Authorization header is not "Bearer <token>": send the serving token or a service token that way',
    );
  }
  return match[1];
}

/** SHA-256 in one call: no Hash object per request. */
function digest(text: string): Buffer {
  return hash('sha256', text, 'buffer');
}

/** What the request authenticator needs to know of a request. */
export interface RequestToAuthenticate {
  method: string;
  /** The route pattern, e.g. `/v1/models/:name/predict`. */
  route: string;
  authorization: string | undefined;
}

export interface RequestAuthenticatorOptions {
  /** The configured token: an admin token. */
  token: string;
  /** Where service tokens live (`access.service_tokens`). */
  pool: pg.Pool;
}

/** Wrong secrets tried against one token id per minute before it is refused without checking. */
const MAX_FAILURES_PER_MINUTE = 10;
/** How often a token's `last_used_at` is written, at most. */
const TOUCH_EVERY_MS = 60_000;
/** Verified tokens remembered (by id), so scrypt does not run on every request. */
const MAX_REMEMBERED = 1000;

const NOT_A_TOKEN =
  'The bearer token is not accepted: send the configured serving token or a service token from `kerf tokens add`';

/**
 * A check of each request's bearer token and of the scope the route needs. The configured token is
 * checked at once (undefined is returned); a service token is looked up (a promise is returned).
 *
 * @throws (from the returned function, or its promise) ServingHttpError 401 without a valid token,
 *   403 when the token's scopes do not cover the route, 503 when the token store cannot be read
 */
export function requestAuthenticator(
  options: RequestAuthenticatorOptions,
): (request: RequestToAuthenticate) => void | Promise<void> {
  const expected = digest(checkServingToken(options.token));
  const verified = new Map<string, Buffer>();
  const failures = new Map<string, { count: number; since: number }>();
  const touched = new Map<string, number>();
  const serviceToken = async (
    { method, route }: RequestToAuthenticate,
    presented: string,
    presentedDigest: Buffer,
  ): Promise<void> => {
    let found: Awaited<ReturnType<typeof findServiceToken>>;
    try {
      found = await findServiceToken(options.pool, presented);
    } catch {
      // Never the database's text to a caller.
      throw new ServingHttpError(
        503,
        'unavailable',
        'The token store cannot be read right now: try again shortly',
      );
    }
    if (!found) throw new ServingHttpError(401, 'unauthorized', NOT_A_TOKEN);
    const { record, secret } = found;
    const now = Date.now();
    const failed = failures.get(record.tokenId);
    if (failed && now - failed.since < 60_000 && failed.count >= MAX_FAILURES_PER_MINUTE) {
      throw new ServingHttpError(401, 'unauthorized', NOT_A_TOKEN);
    }
    const known = verified.get(record.tokenId);
    const matches = known
      ? timingSafeEqual(known, presentedDigest)
      : await tokenSecretMatches(secret, record);
    if (!matches) {
      const window = failed && now - failed.since < 60_000 ? failed : { count: 0, since: now };
      failures.set(record.tokenId, { count: window.count + 1, since: window.since });
      throw new ServingHttpError(401, 'unauthorized', NOT_A_TOKEN);
    }
    if (!known) {
      if (verified.size >= MAX_REMEMBERED) verified.clear();
      verified.set(record.tokenId, presentedDigest);
    }
    // Revocation is read from the database on every request: it takes effect at once.
    if (record.revoked) {
      throw new ServingHttpError(
        401,
        'unauthorized',
        `The token ${record.name} was revoked: ask an admin for a new one (kerf tokens add)`,
      );
    }
    const needed = scopeForRequest(method, route);
    if (!scopeAllows(record.scopes, needed)) {
      throw new ServingHttpError(
        403,
        'forbidden',
        `The token ${record.name} has the scopes ${record.scopes.join(', ')}; ${method} ${route} needs ${needed}: ask an admin for a token with the ${needed} scope`,
      );
    }
    if (now - (touched.get(record.tokenId) ?? 0) > TOUCH_EVERY_MS) {
      touched.set(record.tokenId, now);
      touchServiceToken(options.pool, record.tokenId).catch(() => undefined);
    }
  };
  return (request) => {
    const presented = bearerTokenOf(request.authorization);
    const presentedDigest = digest(presented);
    if (timingSafeEqual(presentedDigest, expected)) return undefined;
    return serviceToken(request, presented, presentedDigest);
  };
}
