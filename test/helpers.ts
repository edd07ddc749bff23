/** Shared pieces for tests against the real stack. */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { loadConfig, type KerfConfig } from '../platform/config';
import { createPool } from '../platform/database';
import { defaultPaths, repoRoot } from '../platform/paths';

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

/** A database of a test file's own on the shared PostgreSQL, dropped (with its tables) at the end. */
export interface OwnDatabase {
  url: string;
  pool: pg.Pool;
  drop(): Promise<void>;
}

/** Creates a database named `<prefix>_<unique>` on the shared stack's PostgreSQL. */
export async function createOwnDatabase(prefix: string): Promise<OwnDatabase> {
  const config = testConfig();
  const name = uniqueName(prefix);
  const admin = async (sql: string) => {
    const url = new URL(config.postgres.url);
    url.pathname = '/postgres';
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(config.postgres.url);
  url.pathname = `/${name}`;
  const pool = createPool({ url: url.toString() });
  return {
    url: url.toString(),
    pool,
    drop: async () => {
      await pool.end();
      await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}
