/**
 * Aliases say which version serves. Each change is one transaction: the alias row, its history
 * entry, the audit row, and the status of the versions it touches (`deployed` while an alias points
 * at a version, `retired` after). The database's trigger on `registry.aliases` sends
 * `NOTIFY kerf_registry` with the change, delivered when the transaction commits.
 */
import type pg from 'pg';
import { ALIAS_COLUMNS, checkAliasName, readAliases, type AliasRow } from './aliasRecords';
import { appendAudit } from './audit';
import { RegistryError } from './errors';
import { checkModelName, checkText, checkVersionNumber } from './inputs';
import { previousProductionVersion, productionStack, type ProductionHistoryEntry } from './productionStack';
import { inTransaction, lockModel } from './sql';
import { DEPLOYABLE_STATUSES } from './status';
import type { AliasName, AliasRecord } from './types';
import { readVersion, transition, versionLabel } from './versions';

export interface MoveAliasInput {
  model: string;
  alias: AliasName;
  /** An approved version (or one that served before). */
  version: number;
  /** The canary's share of requests, in (0, 1); only for `canary`, where it is required. */
  trafficShare?: number;
  /** Who moves it: a person's name, or `run:<workflow id>`. */
  actor: string;
  /** Why, for the history and the audit log. */
  reason: string;
}

export interface AliasChangeResult {
  /** The alias as it is now. */
  alias: AliasRecord;
  /** The version it pointed at before, or null when it was not set. */
  previousVersion: number | null;
  /** False when the alias already pointed there with that share (a retried call); nothing changed. */
  changed: boolean;
}

function checkTrafficShare(alias: AliasName, share: number | undefined): void {
  if (alias === 'canary') {
    if (share === undefined || !(share > 0 && share < 1)) {
      throw new RegistryError(
        'invalid-input',
        `trafficShare ${String(share)} for a canary must be a number between 0 and 1 (exclusive), e.g. 0.1 for 10 % of requests`,
      );
    }
  } else if (share !== undefined) {
    throw new RegistryError(
      'invalid-input',
      `trafficShare is only for a canary; ${alias} takes none (production answers all requests, shadow none)`,
    );
  }
}

/**
 * Points an alias at a version. Moving production to the version that is the canary or the shadow
 * promotes it: that alias is removed in the same transaction.
 *
 * @throws RegistryError (`invalid-transition`) when the version was never approved, (`invalid-input`)
 *   for a canary or shadow of the production version or a bad share, (`not-found`)
 */
export async function moveAlias(pool: pg.Pool, input: MoveAliasInput): Promise<AliasChangeResult> {
  checkModelName(input.model);
  checkAliasName(input.alias);
  checkVersionNumber(input.version);
  checkTrafficShare(input.alias, input.trafficShare);
  checkActorAndReason(input);
  return inTransaction(pool, async (client) => {
    await lockModel(client, input.model);
    const current = await readAliases(client, input.model);
    const before = current.get(input.alias);
    const share = input.trafficShare ?? null;
    if (before?.version === input.version && before.trafficShare === share) {
      return { alias: before, previousVersion: before.version, changed: false };
    }
    if (input.alias !== 'production' && current.get('production')?.version === input.version) {
      throw new RegistryError(
        'invalid-input',
        `${versionLabel(input.model, input.version)} is already production: a ${input.alias} must be another version`,
      );
    }
    return pointAlias(client, current, { ...input, kind: 'move', trafficShare: share });
  });
}

export interface RollbackInput {
  model: string;
  actor: string;
  reason: string;
}

/**
 * Moves production back to the version it served before the current one (see productionStack.ts:
 * repeated rollbacks walk further back).
 *
 * @throws RegistryError (`not-found`) when nothing serves or there is no earlier production version
 */
export async function rollback(pool: pg.Pool, input: RollbackInput): Promise<AliasChangeResult> {
  checkModelName(input.model);
  checkActorAndReason(input);
  return inTransaction(pool, async (client) => {
    const { current, production } = await lockedProduction(client, input.model);
    const { rows } = await client.query<ProductionHistoryEntry>(
      `SELECT kind, version FROM registry.alias_history WHERE model = $1 AND alias = 'production' ORDER BY id`,
      [input.model],
    );
    if (productionStack(rows).at(-1) !== production.version) {
      throw new RegistryError(
        'conflict',
        `The production alias of ${input.model} (v${production.version}) disagrees with its history, which was ` +
          'changed outside the registry: move production explicitly with moveAlias to the version you want',
      );
    }
    const target = previousProductionVersion(rows);
    if (target === undefined) {
      throw new RegistryError(
        'not-found',
        `${input.model} has no earlier production version than v${production.version} to roll back to: ` +
          'move production to a chosen approved version with moveAlias instead',
      );
    }
    return pointAlias(client, current, {
      ...input,
      alias: 'production',
      version: target,
      trafficShare: null,
      kind: 'rollback',
    });
  });
}

/**
 * The model's aliases and its production alias, read under the model's lock: what a rollback moves from.
 *
 * @throws RegistryError `not-found` when no version is in production
 */
async function lockedProduction(client: pg.PoolClient, model: string) {
  await lockModel(client, model);
  const current = await readAliases(client, model);
  const production = current.get('production');
  if (!production) {
    throw new RegistryError('not-found', `${model} has no production version to roll back: deploy one first`);
  }
  return { current, production };
}

export interface RollbackToInput extends RollbackInput {
  /** The version production goes back to: one a person approved. */
  version: number;
}

/**
 * Moves production to a chosen version a person approved, at any time (not only inside the
 * deploying run's window), with history and a `production-rolled-back` audit row.
 *
 * @throws RegistryError: `not-found` without production, `conflict` when it is production already,
 *   `invalid-transition` for a version no person approved (rejected, never decided, or failed)
 */
export async function rollbackTo(pool: pg.Pool, input: RollbackToInput): Promise<AliasChangeResult> {
  checkModelName(input.model);
  checkVersionNumber(input.version);
  checkActorAndReason(input);
  return inTransaction(pool, async (client) => {
    const { current, production } = await lockedProduction(client, input.model);
    if (production.version === input.version) {
      throw new RegistryError(
        'conflict',
        `${versionLabel(input.model, input.version)} is production already: name an earlier approved version`,
      );
    }
    const { rows } = await client.query<{ decision: string }>(
      'SELECT decision FROM registry.approvals WHERE model = $1 AND version = $2',
      [input.model, input.version],
    );
    if (rows[0]?.decision !== 'approved') {
      throw new RegistryError(
        'invalid-transition',
        `${versionLabel(input.model, input.version)} was ${rows[0] ? 'rejected' : 'never approved'} by a person: ` +
          'production only goes back to a version someone approved (kerf versions lists them)',
      );
    }
    return pointAlias(client, current, {
      ...input,
      alias: 'production',
      trafficShare: null,
      kind: 'rollback',
    });
  });
}

export interface RemoveAliasInput {
  model: string;
  /** Production is never removed: move it or roll it back. */
  alias: 'canary' | 'shadow';
  /**
   * Only when the alias still points at this version: a decision taken on one version (an automatic
   * canary abort) never removes another that replaced it meanwhile.
   * @default undefined (whichever version it points at)
   */
  version?: number;
  actor: string;
  reason: string;
}

/**
 * Takes a canary or shadow away (the end of a canary that failed, or of a shadow run).
 *
 * @returns the version it pointed at, or null when it was not set or pointed at another version
 *   than `version` (nothing changed)
 */
export async function removeAlias(
  pool: pg.Pool,
  input: RemoveAliasInput,
): Promise<{ removedVersion: number | null }> {
  checkModelName(input.model);
  checkAliasName(input.alias);
  if ((input.alias as AliasName) === 'production') {
    throw new RegistryError(
      'invalid-input',
      'production cannot be removed, or nothing would serve: move it to another version or roll it back',
    );
  }
  if (input.version !== undefined) checkVersionNumber(input.version);
  checkActorAndReason(input);
  return inTransaction(pool, async (client) => {
    await lockModel(client, input.model);
    const current = await readAliases(client, input.model);
    const before = current.get(input.alias);
    if (!before || (input.version !== undefined && before.version !== input.version)) {
      return { removedVersion: null };
    }
    await unpointAlias(client, before, input.actor, input.reason);
    return { removedVersion: before.version };
  });
}

interface PointChange {
  model: string;
  alias: AliasName;
  version: number;
  trafficShare: number | null;
  kind: 'move' | 'rollback';
  actor: string;
  reason: string;
}

/** Points the alias (model row locked by the caller), with history, audit and version statuses. */
async function pointAlias(
  client: pg.PoolClient,
  current: Map<AliasName, AliasRecord>,
  change: PointChange,
): Promise<AliasChangeResult> {
  const target = await readVersion(client, change.model, change.version, { lock: true });
  if (!DEPLOYABLE_STATUSES.includes(target.status)) {
    throw new RegistryError(
      'invalid-transition',
      `${versionLabel(change.model, change.version)} is ${target.status}: only an approved version can be ` +
        `${change.alias}; approve it first (recordApproval)`,
    );
  }
  if (change.alias === 'production') {
    for (const other of ['canary', 'shadow'] as const) {
      const promoted = current.get(other);
      if (promoted?.version === change.version) {
        // The version stays deployed (under production), so its status is left alone.
        await unpointAlias(client, promoted, change.actor, `promoted to production: ${change.reason}`, {
          syncStatus: false,
        });
      }
    }
  }
  const previousVersion = current.get(change.alias)?.version ?? null;
  const { rows } = await client.query<AliasRow>(
    `INSERT INTO registry.aliases (model, alias, version, traffic_share, updated_by) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (model, alias) DO UPDATE SET version = excluded.version, traffic_share = excluded.traffic_share,
       updated_at = now(), updated_by = excluded.updated_by
     RETURNING ${ALIAS_COLUMNS.sql}`,
    [change.model, change.alias, change.version, change.trafficShare, change.actor],
  );
  await client.query(
    `INSERT INTO registry.alias_history (model, alias, kind, version, previous_version, traffic_share, actor, reason)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [
      change.model,
      change.alias,
      change.kind,
      change.version,
      previousVersion,
      change.trafficShare,
      change.actor,
      change.reason,
    ],
  );
  await appendAudit(client, {
    actor: change.actor,
    action: change.kind === 'rollback' ? 'production-rolled-back' : 'alias-moved',
    model: change.model,
    version: change.version,
    details: {
      alias: change.alias,
      from: previousVersion,
      to: change.version,
      trafficShare: change.trafficShare,
      reason: change.reason,
    },
  });
  const why = `${change.alias} ${change.kind === 'rollback' ? 'rolled back' : 'moved'} to v${change.version}`;
  await syncDeployedStatus(client, change.model, change.version, change.actor, why);
  if (previousVersion !== null && previousVersion !== change.version) {
    await syncDeployedStatus(client, change.model, previousVersion, change.actor, why);
  }
  return { alias: ALIAS_COLUMNS.record(rows[0] as AliasRow), previousVersion, changed: true };
}

/** Removes an alias row, with history, audit and the status of the version it pointed at. */
async function unpointAlias(
  client: pg.PoolClient,
  alias: AliasRecord,
  actor: string,
  reason: string,
  options: { syncStatus: boolean } = { syncStatus: true },
): Promise<void> {
  await client.query('DELETE FROM registry.aliases WHERE model = $1 AND alias = $2', [
    alias.model,
    alias.alias,
  ]);
  await client.query(
    `INSERT INTO registry.alias_history (model, alias, kind, version, previous_version, actor, reason)
     VALUES ($1, $2, 'remove', NULL, $3, $4, $5)`,
    [alias.model, alias.alias, alias.version, actor, reason],
  );
  await appendAudit(client, {
    actor,
    action: 'alias-removed',
    model: alias.model,
    version: alias.version,
    details: { alias: alias.alias, from: alias.version, to: null, reason },
  });
  if (options.syncStatus) {
    await syncDeployedStatus(client, alias.model, alias.version, actor, `${alias.alias} removed`);
  }
}

/** `deployed` while any alias points at the version, `retired` once none does. */
async function syncDeployedStatus(
  client: pg.PoolClient,
  model: string,
  version: number,
  actor: string,
  reason: string,
): Promise<void> {
  const current = await readVersion(client, model, version, { lock: true });
  const { rows } = await client.query<{ pointed: boolean }>(
    'SELECT exists(SELECT 1 FROM registry.aliases WHERE model = $1 AND version = $2) AS pointed',
    [model, version],
  );
  const pointed = rows[0]?.pointed ?? false;
  if (pointed && current.status !== 'deployed') {
    await transition(client, current, 'deployed', { actor, reason });
  } else if (!pointed && current.status === 'deployed') {
    await transition(client, current, 'retired', { actor, reason });
  }
}

function checkActorAndReason(input: { actor: string; reason: string }): void {
  checkText(input.actor, 'actor', 'who moves the alias, e.g. a user name or run:<workflow id>');
  checkText(
    input.reason,
    'reason',
    'why, e.g. "approved by the shop manager" or "canary error rate too high"',
  );
}
