/**
 * "Nothing changed": row counts and content hashes of Kerf's tables (registry, serving, shop, access,
 * monitoring), and the objects under bucket prefixes, taken before and after a hostile attempt.
 */
import { expect } from 'vitest';
import type pg from 'pg';
import type { ObjectStore } from '../../platform/objectStore';
import { type TableDigest, tableDigests } from './unchanged';

/** Each table's row count and a hash of its rows, by `schema.table`. */
export type TableState = Record<string, TableDigest>;

const WATCHED_SCHEMAS = ['registry', 'serving', 'shop', 'access', 'monitoring'];

/** Counts and hashes every base table of the watched schemas that exist in this database. */
export function tableState(pool: pg.Pool, schemas = WATCHED_SCHEMAS): Promise<TableState> {
  return tableDigests(pool, schemas);
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
