/**
 * The bearer token that protects the API. Callers send `Authorization: Bearer <token>`; the token
 * comes from configuration. Compared in constant time (over SHA-256 digests, so the length of the
 * token does not leak either).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
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

/** A check of `Authorization` headers against the token. */
export function bearerAuthenticator(token: string): (authorization: string | undefined) => void {
  const expected = digest(checkServingToken(token));
  return (authorization) => {
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match?.[1]) {
      throw new ServingHttpError(
        401,
        'unauthorized',
        authorization === undefined
          ? 'No bearer token: send the header "Authorization: Bearer <token>" with the serving token from configuration'
          : 'The Authorization header is not "Bearer <token>": send the serving token from configuration that way',
      );
    }
    if (!timingSafeEqual(digest(match[1]), expected)) {
      throw new ServingHttpError(
        401,
        'unauthorized',
        'The bearer token is not the serving token: check the configured token',
      );
    }
  };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
