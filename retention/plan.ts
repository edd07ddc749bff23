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

  const old = (object: StoredObject) =>
    object.lastModified !== undefined && object.lastModified.getTime() <= cutoff;
  const age = (object: StoredObject) =>
    object.lastModified
      ? `written ${daysSince(object.lastModified, options.now)} days ago`
      : 'of unknown age';

  const shared = { model, collectibleNumbers, removals, note, old, age };
  const training = inventory.versions.filter((facts) => facts.status === 'training');
  planSharedObjects(inventory.snapshots, shared, {
    kind: 'snapshot',
    usersOf: (key) => {
      const hash = SNAPSHOT.exec(key)?.[1];
      // A snapshot's record, or not Kerf's: stays.
      return hash === undefined ? null : inventory.versions.filter((facts) => facts.snapshotHash === hash);
    },
    noun: 'snapshot',
    them: 'it',
    mayNeedUnnamed: training,
    mayNeedBecause: 'is training',
    unnamedBecause: 'no version was made from (its run stopped before registering)',
    unnamedKeptBecause: 'no version names',
  });
  planSharedObjects(inventory.featureTables, shared, {
    kind: 'feature-table',
    usersOf: (key) =>
      FEATURE_TABLE.test(key) ? inventory.versions.filter((facts) => facts.featureTable === key) : null,
    noun: 'built features',
    them: 'them',
    mayNeedUnnamed: kept.filter((facts) => facts.featureTable === undefined),
    mayNeedBecause: 'has no manifest yet and may use them',
    unnamedBecause: "no version's manifest names (its run stopped before signing)",
    unnamedKeptBecause: 'no manifest names',
  });

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

/** What the plan of a model's shared objects works with (see `planCollection`). */
interface SharedPlan {
  model: string;
  collectibleNumbers: ReadonlySet<number>;
  removals: Removal[];
  note: (version: number | null, key: string | null, why: string) => void;
  /** Written before the cutoff. */
  old: (object: StoredObject) => boolean;
  /** `written 12 days ago`, `of unknown age`. */
  age: (object: StoredObject) => string;
}

/** One kind of object several versions may share (snapshots, built feature tables), in the plan's words. */
interface SharedKind {
  kind: 'snapshot' | 'feature-table';
  /** The versions that use the object at `key`; null when it is not one of this kind (it stays). */
  usersOf: (key: string) => VersionFacts[] | null;
  /** `snapshot`, `built features`, and how the sentences name it again. */
  noun: string;
  them: 'it' | 'them';
  /** Versions that may still come to use an object no version names: while any, such objects stay. */
  mayNeedUnnamed: readonly VersionFacts[];
  mayNeedBecause: string;
  /** Why an object no version names goes, and how the note of one kept names it. */
  unnamedBecause: string;
  unnamedKeptBecause: string;
}

/**
 * Shared objects go only when every version using them is collected; an object no version uses
 * goes once it is old, unless a version may still come to use it.
 */
function planSharedObjects(objects: readonly StoredObject[], plan: SharedPlan, shared: SharedKind): void {
  const { model, collectibleNumbers, removals, note } = plan;
  const { kind, noun, them } = shared;
  for (const object of objects) {
    const users = shared.usersOf(object.key);
    if (users === null) continue;
    const keptUsers = users.filter((facts) => !collectibleNumbers.has(facts.version));
    const collectedUsers = users.filter((facts) => collectibleNumbers.has(facts.version));
    const remove = (version: number | null, why: string) =>
      removals.push({ model, version, key: object.key, bytes: object.size, kind, why });
    if (keptUsers.length > 0) {
      if (collectedUsers.length > 0) {
        note(
          newest(collectedUsers),
          object.key,
          `${noun} of ${versionList(collectedUsers)} kept: ${versionList(keptUsers)} ${keptUsers.length === 1 ? 'uses' : 'use'} ${them} too`,
        );
      }
    } else if (collectedUsers.length > 0) {
      remove(
        newest(collectedUsers),
        `${noun} only ${versionList(collectedUsers)} used, and no kept version uses ${them}`,
      );
    } else if (shared.mayNeedUnnamed.length > 0) {
      if (plan.old(object)) {
        note(
          null,
          object.key,
          `${noun} ${shared.unnamedKeptBecause} kept: ${versionList(shared.mayNeedUnnamed)} ${shared.mayNeedBecause}`,
        );
      }
    } else if (plan.old(object)) {
      remove(null, `${noun} ${shared.unnamedBecause}, ${plan.age(object)}`);
    }
  }
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
