import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyMigrations, readMigrations } from '../../platform/migrations';
import { migrationsDir } from '../../platform/paths';
import { createPool } from '../../platform/database';
import { grantSpecSchemas } from '../../platform/prepare';
import { createOwnDatabase, uniqueName, type OwnDatabase } from '../helpers';

// Each test run gets a database of its own, so applying and breaking migrations touches nobody else.
let database: OwnDatabase;
let pool: pg.Pool;

beforeAll(async () => {
  // Empty, and migrated here by the owner role, as the stack does.
  database = await createOwnDatabase('kerf_test_migrations', { migrate: false });
  pool = database.ownerPool;
});

afterAll(async () => {
  await database.drop();
});

describe('applyMigrations on a real PostgreSQL', () => {
  it('applies every migration once, and a second time changes nothing', async () => {
    const all = await readMigrations(migrationsDir);
    const first = await applyMigrations(pool, migrationsDir);
    expect(first.applied).toHaveLength(all.length);
    expect(first.alreadyApplied).toBe(0);

    const second = await applyMigrations(pool, migrationsDir);
    expect(second).toEqual({ applied: [], alreadyApplied: all.length });

    const { rows } = await pool.query<{ version: number }>(
      'SELECT version FROM kerf_migrations ORDER BY version',
    );
    expect(rows.map((row) => row.version)).toEqual(all.map((migration) => migration.version));
    const smoke = await pool.query("SELECT to_regclass('public.smoke_checks') AS name");
    expect(smoke.rows[0]).toEqual({ name: 'smoke_checks' });
  });

  it('lets concurrent workers apply at the same time without conflict', async () => {
    const results = await Promise.all([
      applyMigrations(pool, migrationsDir),
      applyMigrations(pool, migrationsDir),
    ]);
    expect(results.every((result) => result.applied.length === 0)).toBe(true);
  });

  it('lets workers that start together grant the spec schemas at once', async () => {
    // What four `kerf worker` processes started together each do after migrating.
    await pool.query('CREATE SCHEMA granted_together');
    for (let table = 0; table < 30; table += 1) {
      await pool.query(`CREATE TABLE granted_together.t${table} (id integer)`);
    }
    const pools = Array.from({ length: 4 }, () => createPool({ url: database.ownerUrl }, { max: 1 }));
    try {
      await Promise.all(pools.map((each) => grantSpecSchemas(each, ['granted_together'])));
    } finally {
      await Promise.all(pools.map((each) => each.end()));
    }
    const { rows } = await pool.query<{ granted: number }>(
      `SELECT count(*)::int AS granted FROM information_schema.role_table_grants
        WHERE table_schema = 'granted_together' AND grantee = 'kerf_reader' AND privilege_type = 'SELECT'`,
    );
    expect(rows[0]?.granted).toBe(30);
  });

  it('refuses a migration edited after it was applied, naming it', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kerf-migrations-'));
    try {
      const table = uniqueName('edited');
      await writeFile(path.join(dir, '000001_first.sql'), `CREATE TABLE ${table} (id int);`);
      // A separate bookkeeping table would be cleaner, but this database is ours alone: start it over.
      await pool.query('DELETE FROM kerf_migrations');
      await applyMigrations(pool, dir);
      await writeFile(path.join(dir, '000001_first.sql'), `CREATE TABLE ${table} (id bigint);`);
      await expect(applyMigrations(pool, dir)).rejects.toThrow(
        /Migration 1 \(first\) was changed after it was applied.*new numbered migration/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rolls back a failing migration and records nothing for it', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kerf-migrations-'));
    try {
      const table = uniqueName('half');
      await pool.query('DELETE FROM kerf_migrations');
      await writeFile(
        path.join(dir, '000001_broken.sql'),
        `CREATE TABLE ${table} (id int); INSERT INTO no_such_table VALUES (1);`,
      );
      await expect(applyMigrations(pool, dir)).rejects.toThrow(
        /Migration 1 \(broken\) failed: .*no_such_table/,
      );
      const { rows } = await pool.query('SELECT to_regclass($1) AS name', [table]);
      expect(rows[0]).toEqual({ name: null });
      const recorded = await pool.query('SELECT count(*)::int AS n FROM kerf_migrations');
      expect(recorded.rows[0]).toEqual({ n: 0 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
