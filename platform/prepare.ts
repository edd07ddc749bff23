/** Makes the storage Kerf needs exist: the database schema and the bucket. Idempotent. */
import type { KerfConfig } from './config';
import { createPool } from './database';
import { applyMigrations, type MigrationResult } from './migrations';
import { ObjectStore } from './objectStore';
import { migrationsDir } from './paths';

export async function prepareStorage(config: KerfConfig): Promise<MigrationResult> {
  const pool = createPool(config.postgres, { max: 1, applicationName: 'kerf-migrate' });
  const store = ObjectStore.fromConfig(config.s3);
  try {
    const result = await applyMigrations(pool, migrationsDir);
    await store.ensureBucket();
    return result;
  } finally {
    store.destroy();
    await pool.end();
  }
}
