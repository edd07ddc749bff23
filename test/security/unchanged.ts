/**
 * "Nothing changed": a fingerprint of a database taken before and after an attack. Row counts and
 * a content hash of every table of the data and Kerf schemas, the values of their sequences, and
 * the list of relations and roles (so a table made by a smuggled CREATE shows too). Read as the
 * bootstrap superuser, which sees everything.
 */
import pg from 'pg';

/** Row count and md5 of the rows' text (in a stable order) of one table. */
export interface TableDigest {
  rows: number;
  hash: string;
}

/** A pool or a connected client. */
type Queryable = Pick<pg.ClientBase, 'query'>;

/** Counts and hashes one table's rows; `schema` and `name` are quoted here. */
export async function tableDigest(db: Queryable, schema: string, name: string): Promise<TableDigest> {
  const qualified = `${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(name)}`;
  const { rows } = await db.query<TableDigest>(
    `SELECT count(*)::int AS rows,
            md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) AS hash
       FROM ${qualified} t`,
  );
  return rows[0] ?? { rows: 0, hash: '' };
}

/**
 * Counts and hashes every base table of `schemas` that the connection's role can see, by
 * `schema.table`.
 */
export async function tableDigests(
  db: Queryable,
  schemas: readonly string[],
): Promise<Record<string, TableDigest>> {
  const { rows: tables } = await db.query<{ schema: string; name: string }>(
    `SELECT table_schema AS schema, table_name AS name FROM information_schema.tables
      WHERE table_type = 'BASE TABLE' AND table_schema = ANY($1::text[]) ORDER BY 1, 2`,
    [schemas],
  );
  const digests: Record<string, TableDigest> = {};
  for (const { schema, name } of tables) digests[`${schema}.${name}`] = await tableDigest(db, schema, name);
  return digests;
}

/** The schemas a security case may try to change. */
export const WATCHED_SCHEMAS = ['shop', 'registry', 'serving', 'monitoring', 'access', 'imported', 'public'];

export interface DatabaseFingerprint {
  /** `schema.table` → row count and md5 of the rows' text, in a stable order. */
  tables: Record<string, TableDigest>;
  /** `schema.sequence` → last value and whether it was used. */
  sequences: Record<string, string>;
  /** Every relation outside the system schemas, with its kind. */
  relations: string[];
  /** Every role, with its superuser, CREATEDB and CREATEROLE flags. */
  roles: string[];
}

/**
 * Takes the fingerprint of a database.
 *
 * @param adminUrl the bootstrap superuser's URL on that database (`OwnDatabase.adminUrl`)
 */
export async function fingerprint(adminUrl: string): Promise<DatabaseFingerprint> {
  const client = new pg.Client({ connectionString: adminUrl, application_name: 'kerf-security-fingerprint' });
  await client.connect();
  try {
    const relations = await client.query<{ schema: string; name: string; kind: string }>(
      `SELECT n.nspname AS schema, c.relname AS name, c.relkind::text AS kind
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
          AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
        ORDER BY 1, 2`,
    );
    const tables: DatabaseFingerprint['tables'] = {};
    const sequences: DatabaseFingerprint['sequences'] = {};
    for (const { schema, name, kind } of relations.rows) {
      if (!WATCHED_SCHEMAS.includes(schema)) continue;
      const qualified = `${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(name)}`;
      if (kind === 'r' || kind === 'p') {
        tables[`${schema}.${name}`] = await tableDigest(client, schema, name);
      } else if (kind === 'S') {
        const { rows } = await client.query<{ state: string }>(
          `SELECT last_value::text || '/' || is_called::text AS state FROM ${qualified}`,
        );
        sequences[`${schema}.${name}`] = rows[0]?.state ?? '';
      }
    }
    const roles = await client.query<{ role: string }>(
      `SELECT rolname || ':' || rolsuper || rolcreatedb || rolcreaterole AS role FROM pg_roles ORDER BY 1`,
    );
    return {
      tables,
      sequences,
      relations: relations.rows.map((row) => `${row.schema}.${row.name} (${row.kind})`),
      roles: roles.rows.map((row) => row.role),
    };
  } finally {
    await client.end();
  }
}
