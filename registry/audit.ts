/**
 * The append-only audit log: every decision (gate verdicts, approvals, status changes, alias moves,
 * rollbacks, operators' mappings) as one row. The database refuses UPDATE, DELETE and TRUNCATE of it.
 */
import { RegistryError } from './errors';
import { checkModelName, checkText, checkVersionNumber } from './inputs';
import { toJsonObjectText } from './json';
import type { Queryable } from './sql';
import type { AuditEntry, RegistryAuditAction } from './types';

const ACTION = /^[a-z]+(-[a-z]+)*$/;

export interface AuditInput {
  /** Who decided: a person's name, or `run:<workflow id>` for a lifecycle run. */
  actor: string;
  /** What was decided, kebab-case: one of the registry's actions or another part's own. */
  action: RegistryAuditAction | (string & {});
  /** The model it concerns, if any. */
  model?: string;
  /** The version it concerns; needs `model`. */
  version?: number;
  /** What someone reading the log later needs to understand the decision. */
  details?: Record<string, unknown>;
}

/** A `registry.audit_log` row as pg returns it: the bigserial id arrives as text. */
export type AuditRow = Omit<AuditEntry, 'id'> & { id: string };

const AUDIT_COLUMNS = 'id, at, actor, action, model, version, details';

function entryFromRow(row: AuditRow): AuditEntry {
  // bigserial arrives as text; audit ids stay far below 2^53.
  return { ...row, id: Number(row.id) };
}

/**
 * Appends one entry. Pass the client of the transaction that makes the decision, so the decision and
 * its audit row are committed together or not at all.
 *
 * @throws RegistryError (`invalid-input`) for an empty actor, a malformed action or details that are not JSON
 */
export async function appendAudit(db: Queryable, entry: AuditInput): Promise<AuditEntry> {
  checkText(entry.actor, 'actor', 'who decided, e.g. a user name or run:<workflow id>');
  if (!ACTION.test(entry.action)) {
    throw new RegistryError(
      'invalid-input',
      `action ${JSON.stringify(entry.action)} is not an audit action: use kebab-case words, e.g. alias-moved`,
    );
  }
  if (entry.model !== undefined) checkModelName(entry.model);
  if (entry.version !== undefined) {
    checkVersionNumber(entry.version);
    if (entry.model === undefined) {
      throw new RegistryError(
        'invalid-input',
        'version is given without model: name the model the version belongs to',
      );
    }
  }
  const details = toJsonObjectText(entry.details ?? {}, 'details');
  const { rows } = await db.query<AuditRow>(
    `INSERT INTO registry.audit_log (actor, action, model, version, details)
     VALUES ($1, $2, $3, $4, $5::jsonb) RETURNING ${AUDIT_COLUMNS}`,
    [entry.actor, entry.action, entry.model ?? null, entry.version ?? null, details],
  );
  return entryFromRow(rows[0] as AuditRow);
}

export interface AuditTrailOptions {
  /** Only entries of this version. */
  version?: number;
  /** Only entries after this id, for paging or following the log. */
  afterId?: number;
  /**
   * At most this many entries.
   * @default 1000
   */
  limit?: number;
}

/** A model's audit entries, oldest first. */
export async function auditTrail(
  db: Queryable,
  model: string,
  options: AuditTrailOptions = {},
): Promise<AuditEntry[]> {
  checkModelName(model);
  const limit = options.limit ?? 1000;
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new RegistryError('invalid-input', `limit ${String(limit)} must be a whole number from 1`);
  }
  const { rows } = await db.query<AuditRow>(
    `SELECT ${AUDIT_COLUMNS} FROM registry.audit_log
     WHERE model = $1 AND ($2::int IS NULL OR version = $2) AND id > $3
     ORDER BY id LIMIT $4`,
    [model, options.version ?? null, options.afterId ?? 0, limit],
  );
  return rows.map(entryFromRow);
}
