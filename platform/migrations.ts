/**
 * Numbered, append-only SQL migrations (`infra/migrations/000001_name.sql`), applied in order, each in
 * its own transaction, and recorded in `kerf_migrations` so applying them again changes nothing.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type pg from 'pg';

export interface Migration {
  version: number;
  name: string;
  sql: string;
  /** SHA-256 of the file, so an edited migration that was already applied is caught. */
  checksum: string;
}

export interface MigrationResult {
  /** Migrations applied by this call, in order. */
  applied: string[];
  /** How many were already recorded before this call. */
  alreadyApplied: number;
}

const FILE_PATTERN = /^(\d{6})_([a-z0-9_]+)\.sql$/;
// Any constant works; it only has to be the same for every Kerf process on the database.
export const MIGRATION_LOCK_KEY = 7_310_225;

/** Reads and checks the migration files of a folder, in version order. */
export async function readMigrations(dir: string): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((file) => file.endsWith('.sql')).sort();
  const migrations: Migration[] = [];
  for (const file of files) {
    const match = FILE_PATTERN.exec(file);
    if (!match?.[1] || !match[2]) {
      throw new Error(
        `Migration file ${path.join(dir, file)} is misnamed: use six digits, an underscore and a lower-case name, e.g. 000002_shop_schema.sql`,
      );
    }
    const version = Number(match[1]);
    const expected = migrations.length + 1;
    if (version !== expected) {
      throw new Error(
        `Migration ${file} has version ${version} but ${expected} was expected next: migrations are numbered 1, 2, 3... without gaps or repeats`,
      );
    }
    const sql = await readFile(path.join(dir, file), 'utf8');
    migrations.push({
      version,
      name: match[2],
      sql,
      checksum: createHash('sha256').update(sql).digest('hex'),
    });
  }
  return migrations;
}

/**
 * Applies every migration not yet recorded. Safe to call from several processes at once: a
 * session-level advisory lock lets one apply while the others wait and then find nothing to do.
 * Applying needs the owner role; on a database already migrated, any role that may read
 * `kerf_migrations` (the application role) gets the answer "nothing to do".
 *
 * @throws when an applied migration's file was changed afterwards (add a new file instead)
 */
export async function applyMigrations(pool: pg.Pool, dir: string): Promise<MigrationResult> {
  const migrations = await readMigrations(dir);
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    // Created only when missing: the application role may check a migrated database (it can read
    // kerf_migrations) but may not create anything, not even with IF NOT EXISTS.
    const { rows: bookkeeping } = await client.query<{ name: string | null }>(
      "SELECT to_regclass('public.kerf_migrations')::text AS name",
    );
    if (!bookkeeping[0]?.name) {
      await client.query(`
        CREATE TABLE public.kerf_migrations (
          version    integer PRIMARY KEY,
          name       text NOT NULL,
          checksum   text NOT NULL,
          applied_at timestamptz NOT NULL DEFAULT now()
        )`);
    }
    const { rows } = await client.query<{ version: number; name: string; checksum: string }>(
      'SELECT version, name, checksum FROM kerf_migrations ORDER BY version',
    );
    const recorded = new Map(rows.map((row) => [row.version, row]));
    const applied: string[] = [];
    for (const migration of migrations) {
      const previous = recorded.get(migration.version);
      if (previous) {
        if (previous.checksum !== migration.checksum) {
          throw new Error(
            `Migration ${migration.version} (${migration.name}) was changed after it was applied to this database. ` +
              'Migrations are append-only: restore the file and put the change in a new numbered migration.',
          );
        }
        continue;
      }
      await client.query('BEGIN');
      try {
        await client.query(migration.sql);
        await client.query('INSERT INTO kerf_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
          migration.version,
          migration.name,
          migration.checksum,
        ]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        const refused = (error as { code?: string }).code === '42501';
        throw new Error(
          `Migration ${migration.version} (${migration.name}) failed: ${(error as Error).message}` +
            (refused
              ? '. Migrations run as the owner role: set KERF_OWNER_DATABASE_URL to a role that owns the database'
              : ''),
          { cause: error },
        );
      }
      applied.push(`${String(migration.version).padStart(6, '0')}_${migration.name}`);
    }
    return { applied, alreadyApplied: recorded.size };
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    client.release();
  }
}
