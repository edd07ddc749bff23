/**
 * `npm run bench -- shop [case]`: how fast the shop generator fills PostgreSQL. Each database case
 * generates into a database of its own on the configured PostgreSQL (start the stack first:
 * `npx kerf stack up`), drops it afterwards, and prints one JSON line. `generate-memory` measures the
 * generator alone (no database), to tell generation from loading.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { loadConfig } from '../platform/config';
import { createPool } from '../platform/database';
import { applyMigrations } from '../platform/migrations';
import { defaultPaths, migrationsDir } from '../platform/paths';
import { ShopGenerator } from '../shop/generator';
import { generateShop } from '../shop/load';
import { type CaseLine, peakRssMb, round, runCaseWhenStarted } from './caseLine';

export const CASES: Record<string, { jobs: number; database: boolean }> = {
  'generate-memory': { jobs: 200_000, database: false },
  'generate-100k': { jobs: 100_000, database: true },
  'generate-1m': { jobs: 1_000_000, database: true },
};

async function withOwnDatabase<T>(work: (pool: pg.Pool) => Promise<T>): Promise<T> {
  const url = new URL(loadConfig(process.env, defaultPaths).postgres.url);
  const name = `bench_shop_${randomUUID().replace(/-/g, '').slice(0, 10)}`;
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const adminClient = new pg.Client({ connectionString: admin.toString() });
  await adminClient.connect();
  await adminClient.query(`CREATE DATABASE ${name}`);
  url.pathname = `/${name}`;
  const pool = createPool({ url: url.toString() }, { max: 2, applicationName: 'kerf bench shop' });
  try {
    await applyMigrations(pool, migrationsDir);
    return await work(pool);
  } finally {
    await pool.end();
    await adminClient.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await adminClient.end();
  }
}

export async function runCase(name: string): Promise<CaseLine> {
  const benchCase = CASES[name];
  if (!benchCase) throw new Error(`Unknown case "${name}"; cases: ${Object.keys(CASES).join(', ')}`);
  if (!benchCase.database) {
    const generator = new ShopGenerator({
      seed: 1,
      scenario: 'none',
      firstJobId: 1,
      lastShiftId: 0,
      prices: new Map(),
    });
    const started = performance.now();
    let rows = 0;
    let bytes = 0;
    for (let done = 0; done < benchCase.jobs; done += 20_000) {
      const batch = generator.nextBatch(20_000);
      for (const count of Object.values(batch.rows)) rows += count;
      for (const text of Object.values(batch.text)) bytes += text.length;
    }
    const seconds = (performance.now() - started) / 1000;
    return {
      bench: 'shop',
      case: name,
      jobs: benchCase.jobs,
      rows,
      text_mb: round(bytes / 1e6, 1),
      seconds: round(seconds, 2),
      rows_per_s: Math.round(rows / seconds),
      jobs_per_s: Math.round(benchCase.jobs / seconds),
      peak_rss_mb: peakRssMb(),
    };
  }
  const result = await withOwnDatabase((pool) => generateShop(pool, { jobs: benchCase.jobs, seed: 1 }));
  return {
    bench: 'shop',
    case: name,
    jobs: benchCase.jobs,
    rows: result.totalRows,
    rows_by_table: result.rows,
    seconds: round(result.seconds, 2),
    rows_per_s: Math.round(result.rowsPerSecond),
    jobs_per_s: Math.round(result.jobsPerSecond),
    peak_rss_mb: peakRssMb(),
  };
}

runCaseWhenStarted('shop.ts', runCase);
