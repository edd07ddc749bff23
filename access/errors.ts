/** The one error type of the access layer: what kind of refusal, and a message safe to show. */

/**
 * - `unauthenticated`: no key or token, or one that does not verify (or is revoked, or disabled).
 * - `forbidden`: a known identity that may not do this.
 * - `invalid-input`: a malformed name, role, scope or model list.
 * - `not-found`, `conflict`: the user, token or run is missing, or already exists.
 */
export type AccessErrorKind = 'unauthenticated' | 'forbidden' | 'invalid-input' | 'not-found' | 'conflict';

/** A refusal of the access layer; its message is safe to show (no secret, no database text). */
export class AccessError extends Error {
  constructor(
    readonly kind: AccessErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'AccessError';
  }
}
