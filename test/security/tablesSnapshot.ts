/**
 * "Nothing changed": row counts and content hashes of every table in the schemas a hostile input
 * could touch (registry, serving, shop, access), taken before and after a refused request. The audit
 * log is left out of the hash: a refusal's own audit row is the one change allowed, and each case
 * asserts that row itself (`auditRowsAfter`).
 */
import type pg from 'pg';

/** The schemas whose tables are compared. */
export const WATCHED_SCHEMAS = ['registry', 'serving', 'shop', 'access'];

/** `schema.table` -> `count:md5` of the rows (ordered by their text, so order does not matter). */
export type TablesSnapshot = Record<string, string>;

/**
 * Counts and hashes every watched table except `registry.audit_log` (see `auditRowsAfter`) and the
 * audit chain's head, which moves with every audit row by design.
 */
export async function tablesSnapshot(pool: pg.Pool, schemas = WATCHED_SCHEMAS): Promise<TablesSnapshot> {
  const { rows: tables } = await pool.query<{ name: string }>(
    `SELECT format('%I.%I', table_schema, table_name) AS name FROM information_schema.tables
     WHERE table_schema = ANY($1) AND table_type = 'BASE TABLE'
       AND NOT (table_schema = 'registry' AND table_name IN ('audit_log', 'audit_chain_head'))
     ORDER BY 1`,
    [schemas],
  );
  const snapshot: TablesSnapshot = {};
  for (const { name } of tables) {
    const { rows } = await pool.query<{ rows: string; hash: string | null }>(
      `SELECT count(*) AS rows, md5(string_agg(t::text, '|' ORDER BY t::text)) AS hash FROM ${name} t`,
    );
    snapshot[name] = `${rows[0]?.rows ?? '?'}:${rows[0]?.hash ?? 'empty'}`;
  }
  return snapshot;
}

/** The highest audit row id now: pass it to `auditRowsAfter` later. */
export async function lastAuditId(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ id: string | null }>('SELECT max(id) AS id FROM registry.audit_log');
  return Number(rows[0]?.id ?? 0);
}

export interface AuditRow {
  actor: string;
  action: string;
  model: string | null;
  details: Record<string, unknown>;
}

/** The audit rows written after `afterId`, oldest first. */
export async function auditRowsAfter(pool: pg.Pool, afterId: number): Promise<AuditRow[]> {
  const { rows } = await pool.query<AuditRow>(
    'SELECT actor, action, model, details FROM registry.audit_log WHERE id > $1 ORDER BY id',
    [afterId],
  );
  return rows;
}
