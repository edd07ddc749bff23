/** Shared pieces for tests against the real stack. */
import { execFile } from 'node:child_process';
import { randomInt, randomUUID } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { CLUSTER_HIGHEST_FRONTEND_PORT, loadConfig, type KerfConfig } from '../platform/config';
import { createPool } from '../platform/database';
import { applyMigrations } from '../platform/migrations';
import { defaultPaths, migrationsDir, repoRoot } from '../platform/paths';
import { assertPortFree } from '../scripts/stack/ports';

/** The configuration of the shared test stack (the same environment the global setup used). */
export function testConfig(overrides: Record<string, string> = {}): KerfConfig {
  return loadConfig({ ...process.env, ...overrides }, defaultPaths);
}

/** A name no other test uses, safe for task queues, workflow ids, S3 prefixes and SQL identifiers. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
}

/** A TCP port nothing listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A free frontend port for a local cluster of a test's own: the next seven ports are free too (the
 * cluster's other services), and all stay below the ephemeral range, at most 32767 (Temporal keeps
 * membership ports in a smallint).
 */
export async function freeClusterPort(): Promise<number> {
  for (;;) {
    const port = 20_000 + randomInt(CLUSTER_HIGHEST_FRONTEND_PORT - 20_000);
    const taken = await Promise.all(
      Array.from({ length: 8 }, (_, offset) =>
        assertPortFree(port + offset, 'a test cluster', 'none').then(
          () => false,
          () => true,
        ),
      ),
    );
    if (!taken.some(Boolean)) return port;
  }
}

/**
 * The environment of a stack of its own under `.data/<folder>/<name>`, on free ports: every address
 * of an external part is empty (empty means unset), so it is embedded whatever the surrounding
 * environment points at. The cluster's frontend port leaves room for its seven inner services.
 */
export async function ownStackEnvironment(
  folder: 'test-stacks' | 'bench-stacks',
  name: string,
  server: 'dev' | 'cluster',
): Promise<Record<string, string>> {
  return {
    KERF_DATA_DIR: path.join(defaultPaths.dataDir, folder, name),
    KERF_TEMPORAL_SERVER: server,
    KERF_TEMPORAL_TLS: '',
    DATABASE_URL: '',
    KERF_OWNER_DATABASE_URL: '',
    KERF_READER_DATABASE_URL: '',
    TEMPORAL_ADDRESS: '',
    TEMPORAL_UI_URL: '',
    TEMPORAL_TASK_QUEUE: '',
    TEMPORAL_HEAVY_TASK_QUEUE: '',
    S3_ENDPOINT: '',
    KERF_WEBHOOK_URL: '',
    KERF_POSTGRES_PORT: String(await freePort()),
    KERF_S3_PORT: String(await freePort()),
    KERF_TEMPORAL_PORT: String(server === 'cluster' ? await freeClusterPort() : await freePort()),
    KERF_TEMPORAL_UI_PORT: String(await freePort()),
  };
}

export interface CommandOutcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the `kerf` command as a person would, returning its exit code and output. */
export function runKerf(args: string[], env: Record<string, string> = {}): Promise<CommandOutcome> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(repoRoot, 'scripts/kerf.mjs'), ...args],
      { env: { ...process.env, ...env } },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

/**
 * A database of a test file's own on the shared PostgreSQL, dropped (with its tables) at the end.
 * It is made the way Kerf's own is: owned by the owner role and migrated by it; `url` and `pool`
 * are the application role's, as workers and serving use; the reader role's URL is for spec SQL.
 */
export interface OwnDatabase {
  /** The application role (kerf_app): what workers, serving and the CLI connect as. */
  url: string;
  pool: pg.Pool;
  /** The owner role: migrations and data loading (generateShop, importCsv). */
  ownerUrl: string;
  ownerPool: pg.Pool;
  /** The spec reader role (kerf_reader). */
  readerUrl: string;
  /** The same database as the bootstrap superuser, for tests that must play an attacker with every right. */
  adminUrl: string;
  /** DATABASE_URL, KERF_OWNER_DATABASE_URL and KERF_READER_DATABASE_URL of this database, for a child process. */
  env: Record<'DATABASE_URL' | 'KERF_OWNER_DATABASE_URL' | 'KERF_READER_DATABASE_URL', string>;
  drop(): Promise<void>;
}

/** The same connection string on another database. */
function onDatabase(url: string, database: string): string {
  const moved = new URL(url);
  moved.pathname = `/${database}`;
  return moved.toString();
}

/**
 * Creates a database named `<prefix>_<unique>` on the shared stack's PostgreSQL: made by the
 * bootstrap superuser, owned by the owner role, and migrated by it unless `migrate` is false.
 */
export async function createOwnDatabase(
  prefix: string,
  options: { migrate?: boolean } = {},
): Promise<OwnDatabase> {
  const config = testConfig();
  const { adminUrl, ownerUrl } = config.postgres;
  if (!adminUrl) throw new Error('createOwnDatabase needs the embedded PostgreSQL (its bootstrap superuser)');
  const name = uniqueName(prefix);
  const owner = decodeURIComponent(new URL(ownerUrl).username);
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${name} OWNER ${pg.escapeIdentifier(owner)}`);
  const ownerPool = createPool({ url: onDatabase(ownerUrl, name) }, { max: 4 });
  if (options.migrate ?? true) await applyMigrations(ownerPool, migrationsDir);
  const url = onDatabase(config.postgres.url, name);
  const pool = createPool({ url });
  const readerUrl = onDatabase(config.postgres.readerUrl, name);
  return {
    url,
    pool,
    ownerUrl: onDatabase(ownerUrl, name),
    ownerPool,
    readerUrl,
    adminUrl: onDatabase(adminUrl, name),
    env: {
      DATABASE_URL: url,
      KERF_OWNER_DATABASE_URL: onDatabase(ownerUrl, name),
      KERF_READER_DATABASE_URL: readerUrl,
    },
    drop: async () => {
      await pool.end();
      await ownerPool.end();
      // pool.end() resolves before its connections have closed: a forced drop that terminates one
      // still closing makes its client emit an error nobody listens to. Wait (a little) for them.
      for (let wait = 0; wait < 40; wait++) {
        const client = new pg.Client({ connectionString: adminUrl });
        await client.connect();
        try {
          const { rows } = await client.query<{ open: number }>(
            'SELECT count(*)::int AS open FROM pg_stat_activity WHERE datname = $1',
            [name],
          );
          if ((rows[0]?.open ?? 0) === 0) break;
        } finally {
          await client.end();
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}
