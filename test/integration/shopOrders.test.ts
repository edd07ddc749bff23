import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateShop } from '../../shop/load';
import { loadOrderIntake } from '../../shop/loadOrders';
import { keyAccount } from '../../shop/orderIntake';
import { createOwnDatabase, type OwnDatabase, runKerf } from '../helpers';

let db: OwnDatabase;

beforeAll(async () => {
  db = await createOwnDatabase('shop_orders');
});
afterAll(async () => {
  await db.drop();
});

/** The weekly aggregation order forecasting reads. */
const WEEKLY = `
SELECT date_trunc('week', o.ordered_on)::date AS week_start, o.material_family, o.size_segment AS customer_segment,
       count(*) AS orders, sum(o.laser_hours) AS laser_hours, sum(o.steel_kg) / 1000 AS steel_tonnes
FROM shop.order_intake o GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`;

interface WeekRow {
  week_start: Date;
  material_family: string;
  customer_segment: string;
  orders: string;
  laser_hours: number;
  steel_tonnes: number;
}

async function count(sql: string): Promise<number> {
  const result = await db.pool.query<{ n: string }>(sql);
  return Number(result.rows[0]?.n);
}

/** Every row, in id order, as one digest. */
async function digest(): Promise<string> {
  const result = await db.pool.query<{ md5: string }>(
    "SELECT md5(string_agg(o::text, E'\\n' ORDER BY order_line_id)) AS md5 FROM shop.order_intake o",
  );
  return result.rows[0]?.md5 ?? '';
}

describe('kerf shop orders', () => {
  it('loads three years that the application reads as 12 weekly series', async () => {
    const run = await runKerf(['shop', 'orders', '--weeks', '156', '--seed', '1', '--json'], db.env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as { rows: number; firstDay: string; lastDay: string };
    expect(result).toMatchObject({ firstDay: '2024-01-01', lastDay: '2026-12-27' });
    expect(await count('SELECT count(*) AS n FROM shop.order_intake')).toBe(result.rows);

    // db.pool logs in as the application (kerf_app).
    const weekly = await db.pool.query<WeekRow>(WEEKLY);
    const series = new Set(weekly.rows.map((row) => `${row.material_family}/${row.customer_segment}`));
    expect(series.size).toBe(12);
    const weeks = new Set(weekly.rows.map((row) => row.week_start.toISOString().slice(0, 10)));
    // 156 Mondays less the weeks the shop is shut throughout (two in summer, Christmas week).
    expect(weeks.size).toBeGreaterThan(140);
    expect(weeks.size).toBeLessThanOrEqual(156);
    expect([...weeks].every((week) => new Date(`${week}T00:00:00Z`).getUTCDay() === 1)).toBe(true);
    const orders = weekly.rows.map((row) => Number(row.orders));
    expect(orders.filter((n) => n >= 20 && n <= 300).length / orders.length).toBeGreaterThan(0.8);
    expect(weekly.rows.every((row) => row.laser_hours > 0 && row.steel_tonnes > 0)).toBe(true);

    // The spec reader may read it too, as it reads every shop table.
    const reader = new pg.Client({ connectionString: db.readerUrl });
    await reader.connect();
    try {
      const read = await reader.query<{ n: string }>('SELECT count(*) AS n FROM shop.order_intake');
      expect(Number(read.rows[0]?.n)).toBe(result.rows);
    } finally {
      await reader.end();
    }
    // ... but the application may not write it.
    await expect(db.pool.query('DELETE FROM shop.order_intake')).rejects.toThrow(/permission denied/);
  });

  it('appends what one run would have made, and lays a scenario on the appended weeks only', async () => {
    await loadOrderIntake(db.ownerPool, { weeks: 60, seed: 5 });
    const whole = await digest();
    await loadOrderIntake(db.ownerPool, { weeks: 20, seed: 5 });
    const appended = await loadOrderIntake(db.ownerPool, { weeks: 40, seed: 5, append: true });
    expect(appended.firstDay).toBe('2024-05-18');
    expect(await digest()).toBe(whole);

    const before = await count('SELECT max(order_line_id) AS n FROM shop.order_intake');
    const left = await loadOrderIntake(db.ownerPool, {
      weeks: 8,
      seed: 5,
      append: true,
      scenario: 'customer-leaves',
    });
    expect(left.firstOrderLineId).toBe(before + 1);
    const key = keyAccount().customerId;
    expect(
      await count(
        `SELECT count(*) AS n FROM shop.order_intake WHERE customer_id = ${key} AND order_line_id > ${before}`,
      ),
    ).toBe(0);
    expect(
      await count(
        `SELECT count(*) AS n FROM shop.order_intake WHERE customer_id = ${key} AND order_line_id <= ${before}`,
      ),
    ).toBeGreaterThan(100);
  });

  it('leaves the order intake alone when `kerf shop generate` replaces the shop, and both append', async () => {
    await loadOrderIntake(db.ownerPool, { weeks: 10, seed: 9 });
    const orders = await digest();
    await generateShop(db.ownerPool, { jobs: 300, seed: 2 });
    await generateShop(db.ownerPool, { jobs: 200, seed: 2, append: true, scenario: 'price-shock' });
    expect(await count('SELECT count(*) AS n FROM shop.jobs')).toBe(500);
    expect(await digest()).toBe(orders);
    const line = await runKerf(['shop', 'orders', '--weeks', '2', '--seed', '9', '--append'], db.env);
    expect(line.code).toBe(0);
    expect(line.stdout.trim()).toMatch(
      /^Generated \d+ order lines for 2024-03-\d\d to 2024-03-\d\d \(seed 9, scenario none\) into shop.order_intake in [\d.]+ s\.$/,
    );
  });

  it('refuses bad options with one line naming the option, and changes nothing', async () => {
    const rows = await count('SELECT count(*) AS n FROM shop.order_intake');
    const cases: [string[], RegExp][] = [
      [['--weeks', '4', '--from', '2025-01-06', '--append'], /^kerf: --from cannot go with --append/],
      [['--weeks', 'lots'], /^kerf: --weeks must be a whole number \(got "lots"\)\.$/],
      [['--weeks', '0'], /^kerf: --weeks must be a whole number from 1 to 2600/],
      [['--weeks', '4', '--from', '2025-02-30'], /^kerf: --from must be a date .* YYYY-MM-DD/],
      [['--weeks', '4', '--scenario', 'flood'], /^kerf: --scenario must be one of none, customer-leaves/],
    ];
    for (const [args, message] of cases) {
      const run = await runKerf(['shop', 'orders', ...args], db.env);
      expect(run.code).toBe(1);
      expect(run.stderr.trim()).toMatch(message);
      expect(run.stderr).not.toMatch(/\n\s+at /);
    }
    expect(await count('SELECT count(*) AS n FROM shop.order_intake')).toBe(rows);

    await db.ownerPool.query('TRUNCATE shop.order_intake');
    await expect(loadOrderIntake(db.ownerPool, { weeks: 1, seed: 1, append: true })).rejects.toThrow(
      /nothing to --append to/,
    );
  });
});
