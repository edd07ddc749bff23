/**
 * "Nothing changed" for security tests: the row count and a content hash of every table in Kerf's
 * schemas (registry, serving, shop, access, where they exist), taken before and after a hostile
 * request and compared.
 */
import type pg from 'pg';
import { expect } from 'vitest';

/** Per table (`schema.table`), its row count and the MD5 of its rows in a fixed order. */
export type TableContents = Record<string, { rows: number; hash: string }>;

/** The schemas whose tables a hostile input must not change. */
export const GUARDED_SCHEMAS = ['registry', 'serving', 'shop', 'access'];

/** Reads the row count and content hash of every table of the guarded schemas. */
export async function tableContents(
  pool: pg.Pool,
  schemas: readonly string[] = GUARDED_SCHEMAS,
): Promise<TableContents> {
  const { rows: tables } = await pool.query<{ schema: string; name: string }>(
    `SELECT table_schema AS schema, table_name AS name FROM information_schema.tables
     WHERE table_schema = ANY($1::text[]) AND table_type = 'BASE TABLE'
     ORDER BY table_schema, table_name`,
    [schemas],
  );
  const contents: TableContents = {};
  for (const { schema, name } of tables) {
    const table = `${quoteIdent(schema)}.${quoteIdent(name)}`;
    const { rows } = await pool.query<{ rows: string; hash: string | null }>(
      `SELECT count(*) AS rows, md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) AS hash
       FROM ${table} t`,
    );
    contents[`${schema}.${name}`] = { rows: Number(rows[0]?.rows ?? 0), hash: rows[0]?.hash ?? '' };
  }
  return contents;
}

/** Asserts that no guarded table changed since `before`. */
export async function expectUnchanged(pool: pg.Pool, before: TableContents): Promise<void> {
  expect(await tableContents(pool, GUARDED_SCHEMAS)).toEqual(before);
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
