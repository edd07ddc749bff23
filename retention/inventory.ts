/**
 * The facts a collection plan needs about one model: its versions from the registry (status, how
 * they ended, whether a person ever approved them, the snapshot and the built feature table they
 * use) and the objects under its folders in the store.
 */
import { ObjectNotFoundError, type ObjectStore } from '../platform/objectStore';
import { checkModelName } from '../registry/inputs';
import type { Queryable } from '../registry/sql';
import type { VersionStatus } from '../registry/status';
import type { ModelInventory, VersionFacts } from './plan';

interface VersionFactsRow {
  version: number;
  status: VersionStatus;
  status_changed_at: Date;
  snapshot_hash: string;
  manifest_key: string | null;
  ever_approved: boolean;
  superseded: boolean;
  rejected_by: string | null;
}

/** A version was ever approved when a person approved it or an alias ever pointed at it. */
const VERSION_FACTS_SQL = `
SELECT v.version, v.status, v.status_changed_at, v.snapshot_hash, v.manifest_key,
       (v.status IN ('approved', 'deployed', 'retired')
        OR EXISTS (SELECT 1 FROM registry.approvals a
                    WHERE a.model = v.model AND a.version = v.version AND a.decision = 'approved')
        OR EXISTS (SELECT 1 FROM registry.aliases al WHERE al.model = v.model AND al.version = v.version)
        OR EXISTS (SELECT 1 FROM registry.alias_history h WHERE h.model = v.model AND h.version = v.version)
       ) AS ever_approved,
       EXISTS (SELECT 1 FROM registry.audit_log l
                WHERE l.model = v.model AND l.version = v.version AND l.action = 'candidate-superseded') AS superseded,
       (SELECT a.approver FROM registry.approvals a
         WHERE a.model = v.model AND a.version = v.version AND a.decision = 'rejected') AS rejected_by
  FROM registry.versions v
 WHERE v.model = $1
 ORDER BY v.version`;

/** The models in the registry, by name. */
export async function registeredModelNames(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>('SELECT name FROM registry.models ORDER BY name');
  return rows.map((row) => row.name);
}

/** How a closed version ended, in words. */
function closedAs(row: VersionFactsRow): string {
  if (row.status === 'failed') return 'failed';
  if (row.status !== 'rejected') return row.status;
  if (row.superseded) return 'superseded';
  return row.rejected_by === null ? 'rejected' : `rejected by ${row.rejected_by}`;
}

/**
 * The built feature table a manifest names; null when it names none, undefined when the manifest is
 * not in the store (so nothing is known of the table).
 */
async function featureTableOf(
  store: Pick<ObjectStore, 'getJson'>,
  manifestKey: string | null,
): Promise<string | null | undefined> {
  if (manifestKey === null) return undefined;
  let manifest: unknown;
  try {
    manifest = await store.getJson<unknown>(manifestKey);
  } catch (error) {
    if (error instanceof ObjectNotFoundError || error instanceof SyntaxError) return undefined;
    throw error;
  }
  const key = (manifest as { featureBuild?: { table?: { key?: unknown } } } | null)?.featureBuild?.table?.key;
  return typeof key === 'string' ? key : null;
}

/** Gathers what `planCollection` needs about one model. */
export async function modelInventory(
  db: Queryable,
  store: Pick<ObjectStore, 'list' | 'getJson'>,
  model: string,
): Promise<ModelInventory> {
  checkModelName(model);
  const [{ rows }, versionObjects, snapshots, featureTables] = await Promise.all([
    db.query<VersionFactsRow>(VERSION_FACTS_SQL, [model]),
    store.list(`models/${model}/`),
    store.list(`snapshots/${model}/`),
    store.list(`features/${model}/`),
  ]);
  const versions: VersionFacts[] = [];
  for (const row of rows) {
    versions.push({
      version: row.version,
      status: row.status,
      statusChangedAt: row.status_changed_at,
      snapshotHash: row.snapshot_hash,
      everApproved: row.ever_approved,
      closedAs: closedAs(row),
      // Only a model with built features needs to know which table each version uses.
      featureTable: featureTables.length === 0 ? null : await featureTableOf(store, row.manifest_key),
    });
  }
  return { model, versions, versionObjects, snapshots, featureTables };
}
