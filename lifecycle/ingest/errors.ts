/**
 * Why a snapshot could not be taken or loaded. Each of these is about the data or the spec, not a
 * passing hiccup: running again gives the same answer, so the lifecycle workflow must not retry
 * (`nonRetryable`). Connection and network failures are left as they are, for Temporal to retry.
 */

/** What went wrong, for code that reacts to it (the activity wrapper, tests). */
export type SnapshotFailure =
  /** PostgreSQL refused the source: a missing table, an SQL error, a failed cast. */
  | 'source'
  /** The spec asks for something the snapshot cannot hold (a time column that is a category). */
  | 'spec'
  /** The source returned no rows. */
  | 'no_rows'
  /** A snapshot key that is not `<prefix>/<pipeline>/<sha256>.arrow`, or a bad pipeline name. */
  | 'key'
  /** No object at the key. */
  | 'not_found'
  /** The bytes in S3 do not hash to the key: the object was changed or damaged. */
  | 'integrity'
  /** The object is not a snapshot Kerf wrote (not Arrow, or without Kerf's column metadata). */
  | 'format'
  /** A feature column holds personal data (by its name or its values): refused before S3. */
  | 'personal_data';

/** A snapshot that cannot be taken or loaded as asked; the message says what to do. */
export class SnapshotError extends Error {
  /** Running the same step again cannot help. */
  readonly nonRetryable = true;

  constructor(
    readonly failure: SnapshotFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SnapshotError';
  }
}
