/**
 * "Nothing changed": a fingerprint of a database taken before and after an attack. Row counts and
 * a content hash of every table of the data and Kerf schemas, the values of their sequences, and
 * the list of relations and roles (so a table made by a smuggled CREATE shows too). Read as the
 * bootstrap superuser, which sees everything.
 */
import pg from 'pg';

/** The schemas a security case may try to change. */
export const WATCHED_SCHEMAS = ['shop', 'registry', 'serving', 'monitoring', 'access', 'imported', 'public'];

export interface DatabaseFingerprint {
  /** `schema.table` → row count and md5 of the rows' text, in a stable order. */
  tables: Record<string, { rows: number; hash: string }>;
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
        const { rows } = await client.query<{ rows: number; hash: string }>(
          `SELECT count(*)::int AS rows,
                  md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) AS hash
             FROM ${qualified} t`,
        );
        tables[`${schema}.${name}`] = rows[0] as { rows: number; hash: string };
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
