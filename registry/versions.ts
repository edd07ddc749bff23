/** Reading versions, and moving a version's status along the allowed transitions with an audit row. */
import type pg from 'pg';
import { appendAudit } from './audit';
import { RegistryError } from './errors';
import { checkModelName, checkText, checkVersionNumber } from './inputs';
import type { JsonObject, JsonValue } from './json';
import { inTransaction, type Queryable } from './sql';
import {
  isVersionStatus,
  transitionAllowed,
  transitionProblem,
  VERSION_STATUSES,
  type VersionStatus,
} from './status';
import type { VersionRecord } from './types';

export interface VersionRow {
  model: string;
  version: number;
  spec_hash: string;
  model_hash: string;
  snapshot_hash: string;
  run_id: string;
  params: JsonObject;
  code_version: string;
  status: VersionStatus;
  onnx_key: string | null;
  manifest_key: string | null;
  card_key: string | null;
  metrics: JsonObject | null;
  gate_verdicts: JsonValue | null;
  evaluated_at: Date | null;
  created_at: Date;
  status_changed_at: Date;
}

/** The columns of {@link VersionRow}, for SELECT and RETURNING lists. */
export const VERSION_COLUMNS = `model, version, spec_hash, model_hash, snapshot_hash, run_id, params, code_version, status,
  onnx_key, manifest_key, card_key, metrics, gate_verdicts, evaluated_at, created_at, status_changed_at`;

export function versionFromRow(row: VersionRow): VersionRecord {
  return {
    model: row.model,
    version: row.version,
    specHash: row.spec_hash,
    modelHash: row.model_hash,
    snapshotHash: row.snapshot_hash,
    runId: row.run_id,
    params: row.params,
    codeVersion: row.code_version,
    status: row.status,
    artifacts: { onnxKey: row.onnx_key, manifestKey: row.manifest_key, cardKey: row.card_key },
    metrics: row.metrics,
    gateVerdicts: row.gate_verdicts,
    evaluatedAt: row.evaluated_at,
    createdAt: row.created_at,
    statusChangedAt: row.status_changed_at,
  };
}

/** `steel-energy v3`, as messages name a version. */
export function versionLabel(model: string, version: number): string {
  return `${model} v${version}`;
}

/**
 * Reads one version; with `lock`, also locks its row until the transaction ends.
 *
 * @throws RegistryError (`not-found`) naming the versions the model does have
 */
export async function readVersion(
  db: Queryable,
  model: string,
  version: number,
  options: { lock?: boolean } = {},
): Promise<VersionRecord> {
  checkModelName(model);
  checkVersionNumber(version);
  const { rows } = await db.query<VersionRow>(
    `SELECT ${VERSION_COLUMNS} FROM registry.versions WHERE model = $1 AND version = $2${options.lock ? ' FOR NO KEY UPDATE' : ''}`,
    [model, version],
  );
  const row = rows[0];
  if (row) return versionFromRow(row);
  const { rows: latest } = await db.query<{ latest: number | null }>(
    'SELECT max(version) AS latest FROM registry.versions WHERE model = $1',
    [model],
  );
  const highest = latest[0]?.latest ?? null;
  throw new RegistryError(
    'not-found',
    highest === null
      ? `Model ${model} has no versions: check the pipeline name, or run its lifecycle to register one`
      : `${versionLabel(model, version)} does not exist: ${model} has versions 1 to ${highest}`,
  );
}

/** @throws RegistryError (`not-found`) */
export function getVersion(db: Queryable, model: string, version: number): Promise<VersionRecord> {
  return readVersion(db, model, version);
}

/** A model's versions, oldest first (empty for a model without versions or one never registered). */
export async function listVersions(db: Queryable, model: string): Promise<VersionRecord[]> {
  checkModelName(model);
  const { rows } = await db.query<VersionRow>(
    `SELECT ${VERSION_COLUMNS} FROM registry.versions WHERE model = $1 ORDER BY version`,
    [model],
  );
  return rows.map(versionFromRow);
}

/** The audit row that goes with a status change. */
export interface TransitionAudit {
  actor: string;
  /** @default 'status-changed' */
  action?: string;
  reason: string;
  details?: Record<string, unknown>;
}

/**
 * Moves a locked version to `to` inside the caller's transaction and appends the audit row.
 *
 * @throws RegistryError (`invalid-transition`) for a move the life of a version does not allow, or a
 *   candidate without its recorded evaluation
 */
export async function transition(
  client: pg.PoolClient,
  current: VersionRecord,
  to: VersionStatus,
  audit: TransitionAudit,
): Promise<VersionRecord> {
  const label = versionLabel(current.model, current.version);
  const problem = transitionProblem(current.status, to);
  if (problem) {
    throw new RegistryError(
      'invalid-transition',
      `${label} is ${current.status} and cannot become ${to}: ${problem}`,
    );
  }
  if (to === 'candidate') {
    const missing = missingEvaluation(current);
    if (missing.length > 0) {
      throw new RegistryError(
        'invalid-transition',
        `${label} cannot become a candidate before its ${missing.join(', ')} are recorded: call recordEvaluation first`,
      );
    }
  }
  const { rows } = await client.query<VersionRow>(
    `UPDATE registry.versions SET status = $3 WHERE model = $1 AND version = $2 RETURNING ${VERSION_COLUMNS}`,
    [current.model, current.version, to],
  );
  await appendAudit(client, {
    actor: audit.actor,
    action: audit.action ?? 'status-changed',
    model: current.model,
    version: current.version,
    details: { from: current.status, to, reason: audit.reason, ...audit.details },
  });
  return versionFromRow(rows[0] as VersionRow);
}

function missingEvaluation(version: VersionRecord): string[] {
  const missing: string[] = [];
  if (version.artifacts.onnxKey === null) missing.push('ONNX key');
  if (version.artifacts.manifestKey === null) missing.push('manifest key');
  if (version.metrics === null) missing.push('metrics');
  if (version.gateVerdicts === null) missing.push('gate verdicts');
  return missing;
}

export interface StatusChangeInput {
  model: string;
  version: number;
  status: VersionStatus;
  /** Who decided: a person's name, or `run:<workflow id>` for a lifecycle run. */
  actor: string;
  /** Why, for the audit log: `quality gate failed: rmse 2.4 > 2.0`, `approval deadline passed`. */
  reason: string;
}

/**
 * Moves a version's status, checked against the allowed transitions, with an audit row. Asking for
 * the status it already has changes nothing (a retried activity). Approval goes through
 * `recordApproval` (it names the approver) and deployment through alias moves.
 *
 * @throws RegistryError (`invalid-transition`, `not-found`, `invalid-input`)
 */
export async function setStatus(pool: pg.Pool, change: StatusChangeInput): Promise<VersionRecord> {
  if (!isVersionStatus(change.status)) {
    throw new RegistryError(
      'invalid-input',
      `status ${JSON.stringify(change.status)} is not a version status: use one of ${VERSION_STATUSES.join(', ')}`,
    );
  }
  checkText(change.actor, 'actor', 'who decided, e.g. a user name or run:<workflow id>');
  checkText(change.reason, 'reason', 'why the status changes, e.g. "quality gate failed"');
  return inTransaction(pool, async (client) => {
    const current = await readVersion(client, change.model, change.version, { lock: true });
    if (current.status === change.status) return current;
    const label = versionLabel(current.model, current.version);
    // Moves the table refuses get transition()'s message; these are allowed, but only through other calls.
    const allowed = transitionAllowed(current.status, change.status);
    if (allowed && change.status === 'approved') {
      throw new RegistryError(
        'invalid-transition',
        `${label} cannot be approved with setStatus: use recordApproval, which records who approved it`,
      );
    }
    if (allowed && (change.status === 'deployed' || current.status === 'deployed')) {
      throw new RegistryError(
        'invalid-transition',
        `${label} cannot become ${change.status} with setStatus: a version is deployed while an alias points at ` +
          'it; use moveAlias, removeAlias or rollback, which set the status themselves',
      );
    }
    return transition(client, current, change.status, { actor: change.actor, reason: change.reason });
  });
}
