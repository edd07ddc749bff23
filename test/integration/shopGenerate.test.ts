import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyMigrations } from '../../platform/migrations';
import { migrationsDir } from '../../platform/paths';
import { BATCH_TABLES } from '../../shop/generator';
import { generateShop, ShopGenerateError } from '../../shop/load';
import { createOwnDatabase, type OwnDatabase, runKerf } from '../helpers';

let db: OwnDatabase;

beforeAll(async () => {
  db = await createOwnDatabase('shop_generate');
  await applyMigrations(db.pool, migrationsDir);
});
afterAll(async () => {
  await db.drop();
});

const KEYS: Record<string, string> = {
  shifts: 'shift_id',
  parts: 'part_id',
  quotes: 'quote_id',
  orders: 'order_id',
  jobs: 'job_id',
  route_steps: 'job_id, step_no',
  job_energy: 'job_id',
  job_scrap: 'job_id',
  customers: 'customer_id',
  machines: 'machine_id',
};

/** One digest per table of everything the generator wrote (materials without their update time). */
async function digests(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [table, key] of Object.entries(KEYS)) {
    const result = await db.pool.query<{ md5: string }>(
      `SELECT md5(string_agg(t::text, E'\\n' ORDER BY ${key})) AS md5 FROM shop.${table} t`,
    );
    out[table] = result.rows[0]?.md5 ?? '';
  }
  const materials = await db.pool.query<{ md5: string }>(
    `SELECT md5(string_agg(concat_ws(',', material_id, grade, family, density_kg_m3, price_per_kg), E'\\n' ORDER BY material_id)) AS md5
     FROM shop.materials`,
  );
  out.materials = materials.rows[0]?.md5 ?? '';
  return out;
}

async function count(sql: string): Promise<number> {
  const result = await db.pool.query<{ n: string }>(sql);
  return Number(result.rows[0]?.n);
}

describe('kerf shop generate', () => {
  it('fills every shop table, the same seed giving the same rows and another seed other rows', async () => {
    const first = await generateShop(db.ownerPool, { jobs: 2500, seed: 7, batchSize: 1000 });
    expect(first).toMatchObject({ firstJobId: 1, lastJobId: 2500, scenario: 'none', seed: 7 });
    for (const table of BATCH_TABLES) {
      expect(await count(`SELECT count(*) AS n FROM shop.${table}`)).toBe(first.rows[table]);
      expect(first.rows[table]).toBeGreaterThan(0);
    }
    expect(first.rowsPerSecond).toBeGreaterThan(0);
    const seven = await digests();

    await generateShop(db.ownerPool, { jobs: 2500, seed: 8 });
    const eight = await digests();
    expect(eight.parts).not.toBe(seven.parts);
    expect(eight.route_steps).not.toBe(seven.route_steps);
    expect(eight.customers).toBe(seven.customers);

    // Replacing with seed 7 again, in other batch sizes, gives exactly the first rows back.
    await generateShop(db.ownerPool, { jobs: 2500, seed: 7, batchSize: 777 });
    expect(await digests()).toEqual(seven);
    expect(await count('SELECT count(*) AS n FROM shop.generation_runs')).toBe(1);
  });

  it('appends a new-material scenario whose material family the earlier jobs never had', async () => {
    await generateShop(db.ownerPool, { jobs: 2000, seed: 21 });
    const before = await db.pool.query<{ family: string }>(
      'SELECT DISTINCT m.family FROM shop.parts p JOIN shop.materials m USING (material_id)',
    );
    const known = new Set(before.rows.map((row) => row.family));
    expect(known.has('titanium')).toBe(false);

    const appended = await generateShop(db.ownerPool, {
      jobs: 1000,
      seed: 22,
      scenario: 'new-material',
      append: true,
    });
    expect(appended).toMatchObject({ firstJobId: 2001, lastJobId: 3000 });
    const after = await db.pool.query<{ family: string; jobs: string }>(
      `SELECT m.family, count(*) AS jobs FROM shop.jobs j JOIN shop.parts p ON p.part_id = j.part_id
       JOIN shop.materials m ON m.material_id = p.material_id WHERE j.job_id > 2000 GROUP BY m.family`,
    );
    const unseen = after.rows.filter((row) => !known.has(row.family));
    expect(unseen.map((row) => row.family)).toEqual(['titanium']);
    expect(Number(unseen[0]?.jobs)).toBeGreaterThan(150);
    // The shifts continue without a gap or a duplicate, and time moves on.
    expect(await count('SELECT count(*) - count(DISTINCT shift_id) AS n FROM shop.shifts')).toBe(0);
    expect(await count('SELECT max(shift_id) - count(*) AS n FROM shop.shifts')).toBe(0);
    expect(
      await count(
        `SELECT count(*) AS n FROM shop.jobs new, (SELECT max(released_at) AS t FROM shop.jobs WHERE job_id <= 2000) old
         WHERE new.job_id > 2000 AND new.released_at < old.t`,
      ),
    ).toBe(0);
  });

  it('appends a steel price shock: the materials table and the new quotes carry the new prices', async () => {
    await generateShop(db.ownerPool, { jobs: 1000, seed: 31 });
    await generateShop(db.ownerPool, { jobs: 500, seed: 31, scenario: 'price-shock', append: true });
    const prices = await db.pool.query<{ material_id: string; price_per_kg: string }>(
      'SELECT material_id, price_per_kg FROM shop.materials ORDER BY material_id',
    );
    const price = new Map(prices.rows.map((row) => [row.material_id, Number(row.price_per_kg)]));
    expect(price.get('S235JR')).toBeCloseTo(1.26, 2);
    expect(price.get('EN-AW-5754')).toBeCloseTo(4.1, 2);
    const wrong = await count(
      `SELECT count(*) AS n FROM shop.quotes q JOIN shop.parts p USING (part_id) JOIN shop.materials m USING (material_id)
       WHERE q.quote_id > 2000 AND q.material_price_per_kg <> m.price_per_kg`,
    );
    expect(wrong).toBe(0);
    const oldSteel = await count(
      `SELECT count(*) AS n FROM shop.quotes q JOIN shop.parts p USING (part_id)
       WHERE q.quote_id <= 2000 AND p.material_id = 'S235JR' AND q.material_price_per_kg = 1.05`,
    );
    expect(oldSteel).toBeGreaterThan(0);
  });

  it('refuses bad options naming them, and changes nothing', async () => {
    await generateShop(db.ownerPool, { jobs: 300, seed: 1 });
    const jobs = await count('SELECT count(*) AS n FROM shop.jobs');
    await expect(generateShop(db.ownerPool, { jobs: 0, seed: 1 })).rejects.toThrow(
      /--jobs must be a whole number/,
    );
    await expect(generateShop(db.ownerPool, { jobs: 10, seed: -1 })).rejects.toThrow(/--seed/);
    await expect(
      generateShop(db.ownerPool, { jobs: 10, seed: 1, scenario: 'flood' as never }),
    ).rejects.toThrow(ShopGenerateError);
    expect(await count('SELECT count(*) AS n FROM shop.jobs')).toBe(jobs);
  });

  it('runs as `kerf shop generate`, with one clear line for a bad option', async () => {
    const ok = await runKerf(['shop', 'generate', '--jobs', '400', '--seed', '3', '--json'], {
      ...db.env,
    });
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    const result = JSON.parse(ok.stdout) as { lastJobId: number; rows: { jobs: number } };
    expect(result).toMatchObject({ lastJobId: 400, rows: { jobs: 400 } });

    const bad = await runKerf(['shop', 'generate', '--jobs', 'many'], db.env);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim()).toBe('kerf: --jobs must be a whole number (got "many").');
    const scenario = await runKerf(['shop', 'generate', '--jobs', '5', '--scenario', 'flood'], {
      ...db.env,
    });
    expect(scenario.code).toBe(1);
    expect(scenario.stderr).toMatch(
      /--scenario must be one of none, new-material, machine-wear, price-shock/,
    );
    expect(await count('SELECT count(*) AS n FROM shop.jobs')).toBe(400);
  });
});
