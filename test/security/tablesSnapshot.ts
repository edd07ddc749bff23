/**
 * "Nothing changed": row counts and content hashes of every table in the schemas a hostile input
 * could touch (registry, serving, shop, access), taken before and after a refused request. The audit
 * log is left out of the hash: a refusal's own audit row is the one change allowed, and each case
 * asserts that row itself (`auditRowsAfter`).
 */
import type pg from 'pg';
import { tableDigests } from './unchanged';
import type { AuditRow } from '../../registry/audit';

/** The schemas whose tables are compared. */
export const WATCHED_SCHEMAS = ['registry', 'serving', 'shop', 'access'];

/** `schema.table` -> `count:md5` of the rows (ordered by their text, so order does not matter). */
export type TablesSnapshot = Record<string, string>;

/**
 * Counts and hashes every watched table except `registry.audit_log` (see `auditRowsAfter`) and the
 * audit chain's head, which moves with every audit row by design.
 */
export async function tablesSnapshot(pool: pg.Pool, schemas = WATCHED_SCHEMAS): Promise<TablesSnapshot> {
  const snapshot: TablesSnapshot = {};
  for (const [name, { rows, hash }] of Object.entries(await tableDigests(pool, schemas))) {
    if (name === 'registry.audit_log' || name === 'registry.audit_chain_head') continue;
    snapshot[name] = `${rows}:${hash}`;
  }
  return snapshot;
}

/** The highest audit row id now: pass it to `auditRowsAfter` later. */
export async function lastAuditId(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ id: string | null }>('SELECT max(id) AS id FROM registry.audit_log');
  return Number(rows[0]?.id ?? 0);
}

/** What the security tests assert of an audit row: who did what to which model, and why. */
export type AuditRowSeen = Pick<AuditRow, 'actor' | 'action' | 'model' | 'details'>;

/** The audit rows written after `afterId`, oldest first. */
export async function auditRowsAfter(pool: pg.Pool, afterId: number): Promise<AuditRowSeen[]> {
  const { rows } = await pool.query<AuditRowSeen>(
    'SELECT actor, action, model, details FROM registry.audit_log WHERE id > $1 ORDER BY id',
    [afterId],
  );
  return rows;
}
