/**
 * What garbage collection removed from the object store (`registry.collected_objects`, migration
 * 000016): one row per object, with the version it belonged to, why and by whom. Rollback, serving and
 * the model card ask `versionCollection` so that they refuse a collected version by saying so,
 * instead of reporting a missing file.
 */
import { checkModelName, checkVersionNumber } from './inputs';
import type { Queryable } from './sql';
import { versionLabel } from './versions';

/** One removed object, as recorded. */
export interface CollectedObject {
  model: string;
  /** The version it belonged to; null for an object no version was made from. */
  version: number | null;
  key: string;
  bytes: number;
  reason: string;
}

/** A version whose objects were collected, as rollback, serving and the card report it. */
export interface VersionCollection {
  model: string;
  version: number;
  /** When the last of its objects went. */
  collectedAt: Date;
  /** Who ran the collection: a person's name or `run:<workflow id>`. */
  collectedBy: string;
  objects: number;
  bytes: number;
  /** Why its objects went, as the collection said (`v3 was superseded 41 days ago ...`). */
  reason: string;
}

/** Records objects just removed; pass the client of the transaction that audits the removal. */
export async function recordCollected(
  db: Queryable,
  objects: readonly CollectedObject[],
  collectedBy: string,
): Promise<void> {
  if (objects.length === 0) return;
  await db.query(
    `INSERT INTO registry.collected_objects (model, version, object_key, bytes, reason, collected_by)
     SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::bigint[], $5::text[], $6::text[])`,
    [
      objects.map((object) => object.model),
      objects.map((object) => object.version),
      objects.map((object) => object.key),
      objects.map((object) => object.bytes),
      objects.map((object) => object.reason),
      objects.map(() => collectedBy),
    ],
  );
}

interface CollectionRow {
  collected_at: Date;
  collected_by: string;
  objects: string;
  bytes: string;
  reason: string;
}

/**
 * Whether the version's objects were collected: the collection later than its last status change
 * (a failed version trained again has new objects). Undefined when they were not.
 */
export async function versionCollection(
  db: Queryable,
  model: string,
  version: number,
): Promise<VersionCollection | undefined> {
  checkModelName(model);
  checkVersionNumber(version);
  const { rows } = await db.query<CollectionRow>(
    `SELECT max(c.collected_at) AS collected_at,
            (array_agg(c.collected_by ORDER BY c.collected_at DESC))[1] AS collected_by,
            count(*) AS objects, coalesce(sum(c.bytes), 0) AS bytes,
            -- The reason its own folder went (a shared snapshot's says less about the version).
            (array_agg(c.reason ORDER BY c.collected_at DESC, c.object_key LIKE 'models/%' DESC, c.collected_id))[1] AS reason
       FROM registry.collected_objects c
       JOIN registry.versions v ON v.model = c.model AND v.version = c.version
      WHERE c.model = $1 AND c.version = $2 AND c.collected_at >= v.status_changed_at`,
    [model, version],
  );
  const row = rows[0];
  if (!row || Number(row.objects) === 0) return undefined;
  return {
    model,
    version,
    collectedAt: row.collected_at,
    collectedBy: row.collected_by,
    objects: Number(row.objects),
    bytes: Number(row.bytes),
    reason: row.reason,
  };
}

/** `cut-time v3 was collected by kerf gc on 2025-06-01 (run:nightly-cut-time: v3 was superseded ...)`. */
export function collectedMessage(collection: VersionCollection): string {
  return (
    `${versionLabel(collection.model, collection.version)} was collected by garbage collection on ` +
    `${collection.collectedAt.toISOString().slice(0, 10)} (by ${collection.collectedBy}: ${collection.reason}); ` +
    `its ${collection.objects} object${collection.objects === 1 ? '' : 's'} are gone from the store`
  );
}
