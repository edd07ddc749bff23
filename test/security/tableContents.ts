/**
 * "Nothing changed" for security tests: the row count and a content hash of every table in Kerf's
 * schemas (registry, serving, shop, access, where they exist), taken before and after a hostile
 * request and compared.
 */
import type pg from 'pg';
import { expect } from 'vitest';
import { type TableDigest, tableDigests } from './unchanged';

/** Per table (`schema.table`), its row count and the MD5 of its rows in a fixed order. */
export type TableContents = Record<string, TableDigest>;

/** The schemas whose tables a hostile input must not change. */
export const GUARDED_SCHEMAS = ['registry', 'serving', 'shop', 'access'];

/** Reads the row count and content hash of every table of the guarded schemas. */
export function tableContents(
  pool: pg.Pool,
  schemas: readonly string[] = GUARDED_SCHEMAS,
): Promise<TableContents> {
  return tableDigests(pool, schemas);
}

/** Asserts that no guarded table changed since `before`. */
export async function expectUnchanged(pool: pg.Pool, before: TableContents): Promise<void> {
  expect(await tableContents(pool, GUARDED_SCHEMAS)).toEqual(before);
}
