/**
 * Which objects of a model garbage collection removes, and why: pure code over the registry's facts
 * and the store's listing (`inventory.ts` gathers them, `collect.ts` removes what this plans).
 *
 * - A version is collectible when it is rejected (a gate, a person, the deadline, a newer candidate
 *   superseding it) or failed, was never approved (no approval, never behind an alias), and has been
 *   so for `afterDays`. Its folder (`models/<model>/v<N>/`) goes whole.
 * - Its snapshot (`snapshots/<model>/<sha256>.arrow`) and built feature table
 *   (`features/<model>/<sha256>.arrow`) go only when no kept version uses them: versions of the same
 *   data share a snapshot, and of the same data and derivation a feature table.
 * - Objects no version names (a run that stopped before registering its version, or before signing
 *   its manifest) go once they are `afterDays` old, unless a version of the model is still training
 *   or a kept version's feature table is unknown (its manifest is missing): its run may use them.
 * - A snapshot's record (`snapshots/<model>/<sha256>.json`: rows, columns, statistics, a few
 *   kilobytes) stays: the validate stage compares the next snapshot with it, and it is lineage.
 */
import type { StoredObject } from '../platform/objectStore';
import type { VersionStatus } from '../registry/status';

/** What the plan needs to know of one version. */
export interface VersionFacts {
  version: number;
  status: VersionStatus;
  statusChangedAt: Date;
  snapshotHash: string;
  /** Approved by a person, or ever behind an alias: its objects are never collected. */
  everApproved: boolean;
  /** How it ended, in words: `superseded`, `rejected by shop-manager`, `failed`... */
  closedAs: string;
  /**
   * The built feature table its signed manifest names; null when it has none; undefined when no
   * manifest could be read (not written yet, or missing), so which table it uses is unknown.
   */
  featureTable: string | null | undefined;
}

/** A model's versions and the objects under its three folders. */
export interface ModelInventory {
  model: string;
  versions: VersionFacts[];
  /** Everything under `models/<model>/`. */
  versionObjects: StoredObject[];
  /** Everything under `snapshots/<model>/`. */
  snapshots: StoredObject[];
  /** Everything under `features/<model>/`. */
  featureTables: StoredObject[];
}

/** An object the collection removes. */
export interface Removal {
  model: string;
  /** The version it belongs to (for a shared one, the newest collectible version using it); null for none. */
  version: number | null;
  key: string;
  bytes: number;
  kind: 'version-object' | 'snapshot' | 'feature-table';
  /** Why it goes, for people and the audit log. */
  why: string;
}

/** A decision to keep something that a person might expect to go. */
export interface Keeping {
  model: string;
  version: number | null;
  key: string | null;
  why: string;
}

/** A collectible version, as the collection checks it again before removing anything. */
export interface CollectibleVersion {
  version: number;
  status: VersionStatus;
  statusChangedAt: Date;
  closedAs: string;
}

export interface ModelPlan {
  model: string;
  collectible: CollectibleVersion[];
  removals: Removal[];
  kept: Keeping[];
}

export interface PlanOptions {
  now: Date;
  /** Days a version stays rejected or failed, or an unnamed object stays, before it goes. */
  afterDays: number;
}

const DAY_MS = 86_400_000;
const CLOSED_STATUSES: readonly VersionStatus[] = ['rejected', 'failed'];
const SNAPSHOT = /^snapshots\/[^/]+\/([0-9a-f]{64})\.arrow$/;
const FEATURE_TABLE = /^features\/[^/]+\/[0-9a-f]{64}\.arrow$/;

/** Whole days from `then` to `now`. */
function daysSince(then: Date, now: Date): number {
  return Math.floor((now.getTime() - then.getTime()) / DAY_MS);
}

/** `v2`, `v2, v3`. */
function versionList(versions: readonly VersionFacts[]): string {
  return versions
    .map((facts) => facts.version)
    .sort((a, b) => a - b)
    .map((version) => `v${version}`)
    .join(', ');
}

/** The newest of some versions (they are never empty where this is called). */
function newest(versions: readonly VersionFacts[]): number {
  return Math.max(...versions.map((facts) => facts.version));
}

/** Plans the collection of one model's objects. */
export function planCollection(inventory: ModelInventory, options: PlanOptions): ModelPlan {
  const { model } = inventory;
  const cutoff = options.now.getTime() - options.afterDays * DAY_MS;
  const closed = (facts: VersionFacts) => CLOSED_STATUSES.includes(facts.status) && !facts.everApproved;
  const collectible = inventory.versions.filter(
    (facts) => closed(facts) && facts.statusChangedAt.getTime() <= cutoff,
  );
  const collectibleNumbers = new Set(collectible.map((facts) => facts.version));
  const kept = inventory.versions.filter((facts) => !collectibleNumbers.has(facts.version));
  const removals: Removal[] = [];
  const keeping: Keeping[] = [];
  const note = (version: number | null, key: string | null, why: string) =>
    keeping.push({ model, version, key, why });
  const ended = (facts: VersionFacts) =>
    `v${facts.version} ${facts.closedAs} ${daysSince(facts.statusChangedAt, options.now)} days ago`;

  for (const facts of inventory.versions) {
    if (closed(facts) && !collectibleNumbers.has(facts.version)) {
      const left = options.afterDays - daysSince(facts.statusChangedAt, options.now);
      note(
        facts.version,
        null,
        `${ended(facts)}: kept ${left} more day${left === 1 ? '' : 's'} (it goes after ${options.afterDays})`,
      );
    }
  }
  const approved = inventory.versions.filter((facts) => facts.everApproved);
  if (approved.length > 0) {
    note(
      null,
      null,
      `${versionList(approved)} kept: approved, deployed or retired versions are never collected`,
    );
  }

  // A version's own folder: its keys depend only on the model and the version.
  const prefix = `models/${model}/v`;
  for (const object of inventory.versionObjects) {
    if (!object.key.startsWith(prefix)) continue;
    const number = Number(/^(\d+)\//.exec(object.key.slice(prefix.length))?.[1]);
    const facts = collectible.find((candidate) => candidate.version === number);
    if (!facts) continue;
    removals.push({
      model,
      version: facts.version,
      key: object.key,
      bytes: object.size,
      kind: 'version-object',
      why: `${ended(facts)} (more than ${options.afterDays})`,
    });
  }

  const training = inventory.versions.filter((facts) => facts.status === 'training');
  const old = (object: StoredObject) =>
    object.lastModified !== undefined && object.lastModified.getTime() <= cutoff;
  const age = (object: StoredObject) =>
    object.lastModified
      ? `written ${daysSince(object.lastModified, options.now)} days ago`
      : 'of unknown age';

  for (const object of inventory.snapshots) {
    const hash = SNAPSHOT.exec(object.key)?.[1];
    if (hash === undefined) continue; // a snapshot's record, or not Kerf's: stays
    const users = inventory.versions.filter((facts) => facts.snapshotHash === hash);
    const keptUsers = users.filter((facts) => !collectibleNumbers.has(facts.version));
    const collectedUsers = users.filter((facts) => collectibleNumbers.has(facts.version));
    if (keptUsers.length > 0) {
      if (collectedUsers.length > 0) {
        note(
          newest(collectedUsers),
          object.key,
          `snapshot of ${versionList(collectedUsers)} kept: ${versionList(keptUsers)} ${keptUsers.length === 1 ? 'uses' : 'use'} it too`,
        );
      }
    } else if (collectedUsers.length > 0) {
      removals.push({
        model,
        version: newest(collectedUsers),
        key: object.key,
        bytes: object.size,
        kind: 'snapshot',
        why: `snapshot only ${versionList(collectedUsers)} used, and no kept version uses it`,
      });
    } else if (training.length > 0) {
      if (old(object))
        note(null, object.key, `snapshot no version names kept: ${versionList(training)} is training`);
    } else if (old(object)) {
      removals.push({
        model,
        version: null,
        key: object.key,
        bytes: object.size,
        kind: 'snapshot',
        why: `snapshot no version was made from (its run stopped before registering), ${age(object)}`,
      });
    }
  }

  const unknownTables = kept.filter((facts) => facts.featureTable === undefined);
  for (const object of inventory.featureTables) {
    if (!FEATURE_TABLE.test(object.key)) continue;
    const users = inventory.versions.filter((facts) => facts.featureTable === object.key);
    const keptUsers = users.filter((facts) => !collectibleNumbers.has(facts.version));
    const collectedUsers = users.filter((facts) => collectibleNumbers.has(facts.version));
    if (keptUsers.length > 0) {
      if (collectedUsers.length > 0) {
        note(
          newest(collectedUsers),
          object.key,
          `built features of ${versionList(collectedUsers)} kept: ${versionList(keptUsers)} ${keptUsers.length === 1 ? 'uses' : 'use'} them too`,
        );
      }
    } else if (collectedUsers.length > 0) {
      removals.push({
        model,
        version: newest(collectedUsers),
        key: object.key,
        bytes: object.size,
        kind: 'feature-table',
        why: `built features only ${versionList(collectedUsers)} used, and no kept version uses them`,
      });
    } else if (unknownTables.length > 0) {
      if (old(object)) {
        note(
          null,
          object.key,
          `built features no manifest names kept: ${versionList(unknownTables)} has no manifest yet and may use them`,
        );
      }
    } else if (old(object)) {
      removals.push({
        model,
        version: null,
        key: object.key,
        bytes: object.size,
        kind: 'feature-table',
        why: `built features no version's manifest names (its run stopped before signing), ${age(object)}`,
      });
    }
  }

  removals.sort(
    (a, b) =>
      (a.version ?? Infinity) - (b.version ?? Infinity) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0),
  );
  return {
    model,
    collectible: collectible.map(({ version, status, statusChangedAt, closedAs }) => ({
      version,
      status,
      statusChangedAt,
      closedAs,
    })),
    removals,
    kept: keeping,
  };
}

/** `1.2 MB`, `340 kB`, `12 B`: sizes for people. */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit] ?? 'TB'}`;
}
