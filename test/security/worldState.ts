/**
 * "Nothing changed": row counts and content hashes of Kerf's tables (registry, serving, shop, access,
 * monitoring), and the objects under bucket prefixes, taken before and after a hostile attempt.
 */
import { expect } from 'vitest';
import pg from 'pg';
import type { ObjectStore } from '../../platform/objectStore';

/** Each table's row count and a hash of its rows, by `schema.table`. */
export type TableState = Record<string, { rows: number; md5: string }>;

const WATCHED_SCHEMAS = ['registry', 'serving', 'shop', 'access', 'monitoring'];

/** Counts and hashes every base table of the watched schemas that exist in this database. */
export async function tableState(pool: pg.Pool, schemas = WATCHED_SCHEMAS): Promise<TableState> {
  const { rows: tables } = await pool.query<{ schema: string; name: string }>(
    `SELECT table_schema AS schema, table_name AS name FROM information_schema.tables
      WHERE table_type = 'BASE TABLE' AND table_schema = ANY($1) ORDER BY 1, 2`,
    [schemas],
  );
  const state: TableState = {};
  for (const table of tables) {
    const name = `${pg.escapeIdentifier(table.schema)}.${pg.escapeIdentifier(table.name)}`;
    const { rows } = await pool.query<{ rows: number; md5: string }>(
      `SELECT count(*)::int AS rows, md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) AS md5
         FROM ${name} t`,
    );
    state[`${table.schema}.${table.name}`] = rows[0] ?? { rows: 0, md5: '' };
  }
  return state;
}

/** Every object under the prefixes, as `key size` lines. */
export async function objectState(store: ObjectStore, prefixes: readonly string[]): Promise<string[]> {
  const lines: string[] = [];
  for (const prefix of prefixes) {
    for (const object of await store.list(prefix)) lines.push(`${object.key} ${object.size}`);
  }
  return lines.sort();
}

/** Both states at once, for `expectUnchanged`. */
export interface WorldState {
  tables: TableState;
  objects: string[];
}

/** Takes the state of the database's tables and of the bucket prefixes. */
export async function worldState(
  pool: pg.Pool,
  store: ObjectStore,
  prefixes: readonly string[],
): Promise<WorldState> {
  return { tables: await tableState(pool), objects: await objectState(store, prefixes) };
}

/**
 * Asserts that nothing changed between two states, except audit rows the refusal itself appended
 * (`allowAuditRows`): the refusal is audited, so registry.audit_log grows by exactly that many rows,
 * and the head of its hash chain (registry.audit_chain_head, one row) moves on with them.
 */
export function expectUnchanged(before: WorldState, after: WorldState, allowAuditRows = 0): void {
  const {
    ['registry.audit_log']: auditBefore,
    ['registry.audit_chain_head']: headBefore,
    ...tablesBefore
  } = before.tables;
  const {
    ['registry.audit_log']: auditAfter,
    ['registry.audit_chain_head']: headAfter,
    ...tablesAfter
  } = after.tables;
  expect(tablesAfter).toEqual(tablesBefore);
  expect(after.objects).toEqual(before.objects);
  expect((auditAfter?.rows ?? 0) - (auditBefore?.rows ?? 0)).toBe(allowAuditRows);
  expect(headAfter?.rows).toBe(headBefore?.rows);
  if (allowAuditRows === 0) {
    expect(auditAfter).toEqual(auditBefore);
    expect(headAfter).toEqual(headBefore);
  } else if (headBefore) {
    expect(headAfter).not.toEqual(headBefore);
  }
}
