/**
 * The life of a model version, as a table of allowed status moves. The migration's
 * `registry.version_transition_allowed` holds the same table; an integration test compares them.
 *
 * - training → candidate (evaluated, gates passed), rejected (a gate failed) or failed (the run failed)
 * - candidate → approved or rejected (a person, or the approval deadline)
 * - approved → deployed (an alias points at it) or retired (superseded before it served)
 * - deployed ⇄ retired (no alias points at it any more; a rollback brings it back)
 * - failed → training (a new run of the same spec and data trains it again)
 * - rejected is final: change the spec or the data, which makes a new version
 */

export const VERSION_STATUSES = [
  'training',
  'candidate',
  'approved',
  'rejected',
  'deployed',
  'retired',
  'failed',
] as const;

/**
 * - `training`: the lifecycle run is producing it.
 * - `candidate`: artifacts and evaluation recorded, gates passed; waiting for a person.
 * - `approved` / `rejected`: a person (or a gate, or the approval deadline) decided.
 * - `deployed`: an alias (production, canary or shadow) points at it.
 * - `retired`: it served once, or was approved, and no alias points at it now.
 * - `failed`: the run failed; a new run of the same spec and data may train it again.
 */
export type VersionStatus = (typeof VERSION_STATUSES)[number];

/** For each status, the statuses it may move to. */
export const VERSION_TRANSITIONS: Readonly<Record<VersionStatus, readonly VersionStatus[]>> = {
  training: ['candidate', 'rejected', 'failed'],
  candidate: ['approved', 'rejected'],
  approved: ['deployed', 'retired'],
  rejected: [],
  deployed: ['retired'],
  retired: ['deployed'],
  failed: ['training'],
};

/** Statuses an alias may point at: every one of them was approved by a person. */
export const DEPLOYABLE_STATUSES: readonly VersionStatus[] = ['approved', 'deployed', 'retired'];

export function isVersionStatus(value: string): value is VersionStatus {
  return (VERSION_STATUSES as readonly string[]).includes(value);
}

export function transitionAllowed(from: VersionStatus, to: VersionStatus): boolean {
  return VERSION_TRANSITIONS[from].includes(to);
}

/** Why a move is refused, for people: where the version may go from here. */
export function transitionProblem(from: VersionStatus, to: VersionStatus): string | undefined {
  if (transitionAllowed(from, to)) return undefined;
  const next = VERSION_TRANSITIONS[from];
  return next.length === 0
    ? `${from} is final: nothing follows it`
    : `from ${from} a version may only become ${next.join(' or ')}`;
}
