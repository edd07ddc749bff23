/**
 * The embedded PostgreSQL's roles and database, made by the bootstrap superuser at every start
 * (idempotent): the owner role that owns Kerf's database and runs migrations, the application role
 * (a member of kerf_app) and the spec reader role (a member of kerf_reader), each with its generated
 * password. A database made by an older Kerf, where the superuser owned everything, is handed over
 * to the owner role.
 */
import pg from 'pg';
import type { KerfConfig } from '../../platform/config';
import { EMBEDDED_DEFAULTS } from '../../platform/config';

/** What a login role may do, beyond logging in: nothing of the superuser's. */
const PLAIN_LOGIN = 'LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT';

const passwordOf = (url: string) => decodeURIComponent(new URL(url).password);

/** Connects to `url` with its password, or with the first of `fallbacks` that works. */
export async function connectAsAdmin(
  adminUrl: string,
  fallbacks: readonly string[],
  database = 'postgres',
): Promise<{ client: pg.Client; usedFallback: boolean }> {
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  const attempts = [undefined, ...fallbacks];
  let lastError: unknown;
  for (const fallback of attempts) {
    const attempt = new URL(url);
    if (fallback !== undefined) attempt.password = encodeURIComponent(fallback);
    const client = new pg.Client({ connectionString: attempt.toString(), application_name: 'kerf-stack' });
    try {
      await client.connect();
      return { client, usedFallback: fallback !== undefined };
    } catch (error) {
      await client.end().catch(() => undefined);
      lastError = error;
      // Only a wrong password is worth another try.
      if ((error as { code?: string }).code !== '28P01') throw error;
    }
  }
  throw lastError;
}

async function ensureLoginRole(client: pg.Client, name: string, password: string): Promise<void> {
  const { rowCount } = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name]);
  const verb = rowCount === 0 ? 'CREATE' : 'ALTER';
  // The password travels in this one statement only, to a server that logs no statements by default.
  await client.query(
    `${verb} ROLE ${pg.escapeIdentifier(name)} WITH ${PLAIN_LOGIN} PASSWORD ${pg.escapeLiteral(password)}`,
  );
}

async function ensureGroupRole(client: pg.Client, name: string): Promise<void> {
  const { rowCount } = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name]);
  if (rowCount === 0) await client.query(`CREATE ROLE ${pg.escapeIdentifier(name)} NOLOGIN`);
}

/**
 * Makes the roles and Kerf's database exist with the passwords of the secret files, as the
 * bootstrap superuser. Run by the stack after PostgreSQL started and before migrations.
 *
 * @param config the configuration whose `postgres.adminUrl` and role URLs carry the passwords
 * @param adminFallbacks earlier passwords of the bootstrap superuser to try (and then replace)
 */
export async function provisionRoles(
  config: KerfConfig,
  adminFallbacks: readonly string[] = [],
): Promise<void> {
  const adminUrl = config.postgres.adminUrl;
  if (!adminUrl) throw new Error('the embedded PostgreSQL has no administrator URL in the configuration');
  const d = EMBEDDED_DEFAULTS;
  const { client, usedFallback } = await connectAsAdmin(adminUrl, adminFallbacks);
  try {
    if (usedFallback) {
      await client.query(
        `ALTER ROLE ${pg.escapeIdentifier(d.postgresAdminUser)} WITH PASSWORD ${pg.escapeLiteral(passwordOf(adminUrl))}`,
      );
    }
    await ensureGroupRole(client, 'kerf_app');
    await ensureGroupRole(client, 'kerf_reader');
    await ensureLoginRole(client, d.postgresOwnerUser, passwordOf(config.postgres.ownerUrl));
    await ensureLoginRole(client, d.postgresAppUser, passwordOf(config.postgres.url));
    await ensureLoginRole(client, d.postgresReaderUser, passwordOf(config.postgres.readerUrl));
    await client.query(`GRANT kerf_app TO ${pg.escapeIdentifier(d.postgresAppUser)}`);
    await client.query(`GRANT kerf_reader TO ${pg.escapeIdentifier(d.postgresReaderUser)}`);
    const database = d.postgresDatabase;
    const { rows } = await client.query<{ owner: string }>(
      'SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1',
      [database],
    );
    if (rows.length === 0) {
      await client.query(
        `CREATE DATABASE ${pg.escapeIdentifier(database)} OWNER ${pg.escapeIdentifier(d.postgresOwnerUser)}`,
      );
    } else if (rows[0]?.owner !== d.postgresOwnerUser) {
      await client.query(
        `ALTER DATABASE ${pg.escapeIdentifier(database)} OWNER TO ${pg.escapeIdentifier(d.postgresOwnerUser)}`,
      );
      await handOverObjects(adminUrl, database, d.postgresOwnerUser);
    }
  } finally {
    await client.end();
  }
}

/**
 * A database made when the superuser ran everything: its schemas, tables, views, sequences and
 * functions pass to the owner role, so migrations (as the owner) can alter them and the
 * application role's grants mean something.
 */
async function handOverObjects(adminUrl: string, database: string, owner: string): Promise<void> {
  const { client } = await connectAsAdmin(adminUrl, [], database);
  try {
    await client.query(`
      DO $$
      DECLARE
        item record;
        me oid := (SELECT oid FROM pg_roles WHERE rolname = current_user);
        new_owner text := ${pg.escapeLiteral(owner)};
      BEGIN
        FOR item IN SELECT nspname FROM pg_namespace
          WHERE nspowner = me AND nspname NOT LIKE 'pg\\_%' AND nspname NOT IN ('information_schema', 'public')
        LOOP
          EXECUTE format('ALTER SCHEMA %I OWNER TO %I', item.nspname, new_owner);
        END LOOP;
        FOR item IN SELECT c.oid::regclass AS rel FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relowner = me AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
            AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
            -- serial and identity sequences follow their table
            AND NOT EXISTS (SELECT 1 FROM pg_depend dep WHERE dep.classid = 'pg_class'::regclass
                            AND dep.objid = c.oid AND dep.deptype IN ('a', 'i'))
        LOOP
          EXECUTE format('ALTER TABLE %s OWNER TO %I', item.rel, new_owner);
        END LOOP;
        FOR item IN SELECT p.oid::regprocedure AS fn FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
          WHERE p.proowner = me AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
        LOOP
          EXECUTE format('ALTER FUNCTION %s OWNER TO %I', item.fn, new_owner);
        END LOOP;
      END
      $$`);
  } finally {
    await client.end();
  }
}

/**
 * The local Temporal cluster's login role and its two databases (persistence and visibility), owned
 * by it so the schema tool, running as that role, can create and upgrade the tables. Idempotent;
 * the password is set again at every start from its secret file.
 */
export async function provisionClusterDatabases(
  config: KerfConfig,
  databases: readonly string[],
): Promise<void> {
  const adminUrl = config.postgres.adminUrl;
  const clusterUrl = config.temporal.clusterDatabaseUrl;
  if (!adminUrl || !clusterUrl) {
    throw new Error(
      'KERF_TEMPORAL_SERVER=cluster keeps the cluster in the embedded PostgreSQL: unset DATABASE_URL, or set TEMPORAL_ADDRESS to a cluster of your own',
    );
  }
  const role = decodeURIComponent(new URL(clusterUrl).username);
  const { client } = await connectAsAdmin(adminUrl, []);
  try {
    await ensureLoginRole(client, role, passwordOf(clusterUrl));
    for (const database of databases) {
      const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
      if (rowCount === 0) {
        await client.query(
          `CREATE DATABASE ${pg.escapeIdentifier(database)} OWNER ${pg.escapeIdentifier(role)}`,
        );
      }
    }
  } finally {
    await client.end();
  }
}
