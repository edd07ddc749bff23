/**
 * The staging sweep: what a stopped ingest left in the snapshots' staging folder goes once older
 * than any ingest runs; what is younger, of unknown age, or outside the folder stays.
 */
import { describe, expect, it } from 'vitest';
import type { OpenUpload, StoredObject } from '../../../platform/objectStore';
import { STAGING_MAX_AGE_HOURS, sweepStaging, type StagingStore } from '../../../retention/staging';

const now = new Date('2026-12-07T12:00:00Z');
const hoursAgo = (hours: number) => new Date(now.getTime() - hours * 3_600_000);

/** A store holding `uploads` and `objects`, recording what is aborted and deleted. */
function fakeStore(uploads: OpenUpload[], objects: StoredObject[]) {
  const aborted: string[] = [];
  const deleted: string[] = [];
  const under = <T extends { key: string }>(items: T[], prefix: string) =>
    items.filter((item) => item.key.startsWith(prefix));
  const store: StagingStore = {
    listUploads: (prefix) => Promise.resolve(under(uploads, prefix)),
    list: (prefix) => Promise.resolve(under(objects, prefix)),
    abortUpload: (key, uploadId) => {
      aborted.push(`${key} ${uploadId}`);
      return Promise.resolve();
    },
    delete: (key) => {
      deleted.push(key);
      return Promise.resolve();
    },
  };
  return { store, aborted, deleted };
}

const uploads: OpenUpload[] = [
  { key: 'snapshots-staging/cut-time/old.arrow', uploadId: 'u1', initiated: hoursAgo(30) },
  { key: 'snapshots-staging/cut-time/running.arrow', uploadId: 'u2', initiated: hoursAgo(0.2) },
  { key: 'snapshots-staging/bend-time/unknown.arrow', uploadId: 'u3', initiated: undefined },
];
const objects: StoredObject[] = [
  { key: 'snapshots-staging/bend-time/left.arrow', size: 9_000_000, lastModified: hoursAgo(48) },
  { key: 'snapshots-staging/bend-time/copying.arrow', size: 9_000_000, lastModified: hoursAgo(0.01) },
];

describe('sweepStaging', () => {
  it('aborts old open uploads and removes old staging objects, and leaves the rest', async () => {
    const { store, aborted, deleted } = fakeStore(uploads, objects);
    const removals = await sweepStaging(store, { now, dryRun: false });
    expect(aborted).toEqual(['snapshots-staging/cut-time/old.arrow u1']);
    expect(deleted).toEqual(['snapshots-staging/bend-time/left.arrow']);
    expect(removals.map(({ key, kind, bytes }) => ({ key, kind, bytes }))).toEqual([
      { key: 'snapshots-staging/cut-time/old.arrow', kind: 'open-upload', bytes: null },
      { key: 'snapshots-staging/bend-time/left.arrow', kind: 'staging-object', bytes: 9_000_000 },
    ]);
    expect(removals[0]?.why).toBe(
      `a snapshot upload started 30 hours ago and never completed (more than ${STAGING_MAX_AGE_HOURS}): its ingest stopped`,
    );
  });

  it('only says what would go in a dry run, and keeps to the prefix it is given', async () => {
    const { store, aborted, deleted } = fakeStore(uploads, objects);
    const removals = await sweepStaging(store, {
      now,
      dryRun: true,
      prefix: 'snapshots-staging/cut-time/',
    });
    expect(removals.map((removal) => removal.key)).toEqual(['snapshots-staging/cut-time/old.arrow']);
    expect([...aborted, ...deleted]).toEqual([]);
  });
});
