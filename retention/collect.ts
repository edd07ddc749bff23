/**
 * Removes what a collection plan names, one version at a time: the version's row is locked and its
 * facts checked again (still rejected or failed since the same moment, never approved), a shared
 * object is checked again against the versions now registered, and only then are the objects deleted,
 * recorded in `registry.collected_objects` and audited (`version-collected`, or `object-collected` for
 * an object no version names) in the same transaction.
 */
import type pg from 'pg';
import type { ObjectStore } from '../platform/objectStore';
import { inTransaction } from '../platform/database';
import { appendAudit } from '../registry/audit';
import { recordCollected } from '../registry/collected';
import type { CollectibleVersion, Keeping, ModelPlan, Removal } from './plan';

export interface CollectOptions {
  /** Who collects, for the records and the audit log: a person's name or `run:<workflow id>`. */
  actor: string;
  /** The age the plan used, for the audit log. */
  afterDays: number;
  /** Called after each object removed (an activity heartbeats). */
  onProgress?: () => void;
}

export interface CollectResult {
  removed: Removal[];
  /** Planned removals left alone because the registry changed since the plan. */
  skipped: Keeping[];
}

const SNAPSHOT_HASH = /^snapshots\/[^/]+\/([0-9a-f]{64})\.arrow$/;

/** The registry moved under the plan: leave the object, say why. */
function skip(removal: Removal, why: string): Keeping {
  return { model: removal.model, version: removal.version, key: removal.key, why };
}

/**
 * Why a shared object (a snapshot, a built feature table) must stay after all, checked in the
 * removal's transaction; undefined when it may go.
 */
async function stillUsed(
  client: pg.PoolClient,
  removal: Removal,
  collectible: readonly CollectibleVersion[],
): Promise<string | undefined> {
  if (removal.kind === 'version-object') return undefined;
  const planned = collectible.map((facts) => facts.version);
  const { rows: training } = await client.query<{ version: number }>(
    `SELECT version FROM registry.versions WHERE model = $1 AND status = 'training' AND NOT (version = ANY($2::int[]))`,
    [removal.model, planned],
  );
  if (training.length > 0) {
    return `kept: v${training.map((row) => row.version).join(', v')} began training since the plan and may use it`;
  }
  const hash = removal.kind === 'snapshot' ? SNAPSHOT_HASH.exec(removal.key)?.[1] : undefined;
  if (hash === undefined) return undefined;
  const { rows } = await client.query<{ version: number }>(
    'SELECT version FROM registry.versions WHERE model = $1 AND snapshot_hash = $2 AND NOT (version = ANY($3::int[]))',
    [removal.model, hash, planned],
  );
  return rows.length > 0
    ? `kept: v${rows.map((row) => row.version).join(', v')} was made from it since the plan`
    : undefined;
}

/** Deletes removals in order; stops at the first failure and returns it with what went. */
async function deleteAll(
  store: Pick<ObjectStore, 'delete'>,
  removals: readonly Removal[],
  onProgress: (() => void) | undefined,
): Promise<{ deleted: Removal[]; failure: Error | undefined }> {
  const deleted: Removal[] = [];
  for (const removal of removals) {
    try {
      await store.delete(removal.key);
    } catch (failure) {
      return {
        deleted,
        failure: failure instanceof Error ? failure : new Error(`the store did not delete ${removal.key}`),
      };
    }
    deleted.push(removal);
    onProgress?.();
  }
  return { deleted, failure: undefined };
}

/**
 * Removes one version's planned objects in a transaction holding its row.
 *
 * @returns what went and what stayed; the store's failure, if one stopped it (what went before it
 *   is recorded and audited all the same)
 */
async function collectVersion(
  pool: pg.Pool,
  store: Pick<ObjectStore, 'delete'>,
  plan: ModelPlan,
  facts: CollectibleVersion,
  removals: readonly Removal[],
  options: CollectOptions,
): Promise<CollectResult & { failure: Error | undefined }> {
  return inTransaction(pool, async (client) => {
    const { rows } = await client.query<{ status: string; status_changed_at: Date; approved: boolean }>(
      `SELECT v.status, v.status_changed_at,
              (EXISTS (SELECT 1 FROM registry.approvals a
                        WHERE a.model = v.model AND a.version = v.version AND a.decision = 'approved')
               OR EXISTS (SELECT 1 FROM registry.alias_history h WHERE h.model = v.model AND h.version = v.version)
              ) AS approved
         FROM registry.versions v WHERE v.model = $1 AND v.version = $2 FOR NO KEY UPDATE`,
      [plan.model, facts.version],
    );
    const now = rows[0];
    if (
      !now ||
      now.status !== facts.status ||
      now.approved ||
      now.status_changed_at.getTime() !== facts.statusChangedAt.getTime()
    ) {
      const why = `kept: v${facts.version} is ${now?.status ?? 'gone'} now, not as planned`;
      return { removed: [], skipped: removals.map((removal) => skip(removal, why)), failure: undefined };
    }
    const going: Removal[] = [];
    const skipped: Keeping[] = [];
    for (const removal of removals) {
      const why = await stillUsed(client, removal, plan.collectible);
      if (why) skipped.push(skip(removal, why));
      else going.push(removal);
    }
    const { deleted, failure } = await deleteAll(store, going, options.onProgress);
    if (deleted.length > 0) {
      await recordCollected(
        client,
        deleted.map(({ model, version, key, bytes, why }) => ({ model, version, key, bytes, reason: why })),
        options.actor,
      );
      const folder = deleted.find((removal) => removal.kind === 'version-object') ?? deleted[0];
      await appendAudit(client, {
        actor: options.actor,
        action: 'version-collected',
        model: plan.model,
        version: facts.version,
        details: {
          why: folder?.why ?? '',
          afterDays: options.afterDays,
          objects: deleted.length,
          bytes: deleted.reduce((sum, removal) => sum + removal.bytes, 0),
          keys: deleted.map((removal) => removal.key),
          ...(failure === undefined ? {} : { stoppedBy: failure.message }),
        },
      });
    }
    return { removed: deleted, skipped, failure };
  });
}

/** Removes the planned objects no version names, each audited. */
async function collectUnnamed(
  pool: pg.Pool,
  store: Pick<ObjectStore, 'delete'>,
  plan: ModelPlan,
  removals: readonly Removal[],
  options: CollectOptions,
): Promise<CollectResult & { failure: Error | undefined }> {
  return inTransaction(pool, async (client) => {
    const going: Removal[] = [];
    const skipped: Keeping[] = [];
    for (const removal of removals) {
      const why = await stillUsed(client, removal, plan.collectible);
      if (why) skipped.push(skip(removal, why));
      else going.push(removal);
    }
    const { deleted, failure } = await deleteAll(store, going, options.onProgress);
    await recordCollected(
      client,
      deleted.map(({ model, key, bytes, why }) => ({ model, version: null, key, bytes, reason: why })),
      options.actor,
    );
    for (const removal of deleted) {
      await appendAudit(client, {
        actor: options.actor,
        action: 'object-collected',
        model: plan.model,
        details: { key: removal.key, bytes: removal.bytes, why: removal.why, afterDays: options.afterDays },
      });
    }
    return { removed: deleted, skipped, failure };
  });
}

/**
 * Removes what `plan` names, version by version.
 *
 * @throws the object store's error when a removal failed; what went before it is recorded and audited
 */
export async function collectPlan(
  pool: pg.Pool,
  store: Pick<ObjectStore, 'delete'>,
  plan: ModelPlan,
  options: CollectOptions,
): Promise<CollectResult> {
  const removed: Removal[] = [];
  const skipped: Keeping[] = [];
  const units: { facts: CollectibleVersion | undefined; removals: Removal[] }[] = [];
  for (const facts of plan.collectible) {
    const removals = plan.removals.filter((removal) => removal.version === facts.version);
    if (removals.length > 0) units.push({ facts, removals });
  }
  const unnamed = plan.removals.filter((removal) => removal.version === null);
  if (unnamed.length > 0) units.push({ facts: undefined, removals: unnamed });
  for (const unit of units) {
    const result = unit.facts
      ? await collectVersion(pool, store, plan, unit.facts, unit.removals, options)
      : await collectUnnamed(pool, store, plan, unit.removals, options);
    removed.push(...result.removed);
    skipped.push(...result.skipped);
    if (result.failure !== undefined) throw result.failure;
  }
  return { removed, skipped };
}
