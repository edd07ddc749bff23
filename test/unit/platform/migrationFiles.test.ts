import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readMigrations } from '../../../platform/migrations';
import { migrationsDir } from '../../../platform/paths';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kerf-migration-files-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('readMigrations', () => {
  it("reads the project's migrations in order, numbered from 1 without gaps", async () => {
    const migrations = await readMigrations(migrationsDir);
    expect(migrations.length).toBeGreaterThan(0);
    expect(migrations.map((migration) => migration.version)).toEqual(migrations.map((_, index) => index + 1));
    for (const migration of migrations) expect(migration.checksum).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses a gap in the numbering', async () => {
    await writeFile(path.join(dir, '000001_a.sql'), 'SELECT 1;');
    await writeFile(path.join(dir, '000003_c.sql'), 'SELECT 1;');
    await expect(readMigrations(dir)).rejects.toThrow(/000003_c\.sql has version 3 but 2 was expected/);
  });

  it('refuses a misnamed file, naming it and the expected form', async () => {
    await writeFile(path.join(dir, '1-init.sql'), 'SELECT 1;');
    await expect(readMigrations(dir)).rejects.toThrow(/1-init\.sql is misnamed: use six digits/);
  });
});
