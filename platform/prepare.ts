/** Makes the storage Kerf needs exist: the database schema and the bucket. Idempotent. */
import type pg from 'pg';
import type { KerfConfig } from './config';
import { createPool, inTransaction } from './database';
import { applyMigrations, MIGRATION_LOCK_KEY, type MigrationResult } from './migrations';
import { ObjectStore } from './objectStore';
import { migrationsDir } from './paths';

/** Kerf's bookkeeping tables in `public`: spec SQL never reads them, even with `public` listed. */
const KERF_PUBLIC_TABLES = ['kerf_migrations', 'smoke_checks'];

/**
 * Applies the migrations as the owner role (`postgres.ownerUrl`), lets the spec reader read the
 * schemas of `KERF_SPEC_SCHEMAS`, and makes the bucket exist.
 */
export async function prepareStorage(config: KerfConfig): Promise<MigrationResult> {
  const pool = createPool({ url: config.postgres.ownerUrl }, { max: 1, applicationName: 'kerf-migrate' });
  const store = ObjectStore.fromConfig(config.s3);
  try {
    const result = await applyMigrations(pool, migrationsDir);
    await grantSpecSchemas(pool, config.specSql.schemas);
    await store.ensureBucket();
    return result;
  } finally {
    store.destroy();
    await pool.end();
  }
}

/**
 * Grants kerf_reader USAGE and SELECT on the schemas spec SQL may read, for the objects this role
 * owns (tables made later by it too, through default privileges). Schemas that do not exist yet
 * are skipped; Kerf's own schemas never reach here (the configuration drops them). One transaction
 * under the migrations' advisory lock: workers that start together would otherwise grant on the same
 * objects at once, which PostgreSQL refuses ("tuple concurrently updated").
 *
 * @param pool a pool of the owner role
 */
export async function grantSpecSchemas(pool: pg.Pool, schemas: readonly string[]): Promise<void> {
  await inTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    await grantInTransaction(client, schemas);
  });
}

async function grantInTransaction(client: pg.PoolClient, schemas: readonly string[]): Promise<void> {
  const { rows } = await client.query<{ schema: string; own: boolean }>(
    `SELECT nspname AS schema, pg_has_role(nspowner, 'USAGE') AS own
       FROM pg_namespace WHERE nspname = ANY($1::text[])`,
    [schemas],
  );
  for (const { schema, own } of rows) {
    const quoted = `"${schema.replace(/"/g, '""')}"`;
    if (own) await client.query(`GRANT USAGE ON SCHEMA ${quoted} TO kerf_reader`);
    await client.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA ${quoted} GRANT SELECT ON TABLES TO kerf_reader`);
    const tables = await client.query<{ name: string }>(
      `SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS name
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
          AND pg_has_role(c.relowner, 'USAGE')
          AND NOT (n.nspname = 'public' AND c.relname = ANY($2::text[]))`,
      [schema, KERF_PUBLIC_TABLES],
    );
    for (const table of tables.rows) await client.query(`GRANT SELECT ON ${table.name} TO kerf_reader`);
  }
}
