/**
 * What a stopped ingest left in the snapshots' staging folder (`lifecycle/ingest/upload.ts`): a
 * process killed while its snapshot went up leaves an open multipart upload (parts the store keeps,
 * and bills, but no object), one killed between completing it and copying it to its content key a
 * staging object. Nothing names either; both go once they are older than any ingest runs.
 */
import type { ObjectStore } from '../platform/objectStore';
import { DEFAULT_KEY_PREFIX } from '../lifecycle/ingest';
import { stagingPrefix } from '../lifecycle/ingest/upload';

/**
 * How old staging must be to go. An ingest attempt has 30 minutes (`dataMovement` in
 * `workflows/activityProfiles.ts`), and its upload lives no longer; a day leaves a wide margin.
 */
export const STAGING_MAX_AGE_HOURS = 24;

/** The store operations the sweep uses. */
export type StagingStore = Pick<ObjectStore, 'list' | 'delete' | 'listUploads' | 'abortUpload'>;

/** A staging object or open upload that goes. */
export interface StagingRemoval {
  key: string;
  kind: 'open-upload' | 'staging-object';
  /** The object's size; null for an open upload (its parts are not listed). */
  bytes: number | null;
  /** Why it goes, for people. */
  why: string;
}

export interface StagingSweepOptions {
  now: Date;
  /** Only say what would go. */
  dryRun: boolean;
  /** @default STAGING_MAX_AGE_HOURS */
  olderThanHours?: number;
  /** @default the staging folder of `snapshots/` */
  prefix?: string;
}

/**
 * Aborts the open uploads and removes the objects of the staging folder older than the cutoff
 * (unless `dryRun`). An upload or object of unknown age stays.
 *
 * @returns what went (or would go)
 */
export async function sweepStaging(
  store: StagingStore,
  options: StagingSweepOptions,
): Promise<StagingRemoval[]> {
  const prefix = options.prefix ?? stagingPrefix(DEFAULT_KEY_PREFIX);
  const hours = options.olderThanHours ?? STAGING_MAX_AGE_HOURS;
  const cutoff = options.now.getTime() - hours * 3_600_000;
  const old = (date: Date | undefined) => date !== undefined && date.getTime() < cutoff;
  const age = (date: Date) => `${Math.floor((options.now.getTime() - date.getTime()) / 3_600_000)} hours`;
  const [uploads, objects] = await Promise.all([store.listUploads(prefix), store.list(prefix)]);
  const removals: StagingRemoval[] = [];
  for (const upload of uploads) {
    if (!upload.initiated || !old(upload.initiated)) continue;
    if (!options.dryRun) await store.abortUpload(upload.key, upload.uploadId);
    removals.push({
      key: upload.key,
      kind: 'open-upload',
      bytes: null,
      why: `a snapshot upload started ${age(upload.initiated)} ago and never completed (more than ${hours}): its ingest stopped`,
    });
  }
  for (const object of objects) {
    if (!object.lastModified || !old(object.lastModified)) continue;
    if (!options.dryRun) await store.delete(object.key);
    removals.push({
      key: object.key,
      kind: 'staging-object',
      bytes: object.size,
      why: `a staged snapshot written ${age(object.lastModified)} ago and never moved to its content key (more than ${hours}): its ingest stopped`,
    });
  }
  return removals;
}
