import { describe, expect, it } from 'vitest';
import { JOBS_PER_SHIFT, MATERIALS } from '../../../shop/catalogue';
import { shiftCalendar, shiftOfJob } from '../../../shop/calendar';
import { shopCustomers } from '../../../shop/customers';
import { BATCH_TABLES, type GeneratorOptions, ShopGenerator } from '../../../shop/generator';
import { PRICE_SHOCK_FACTOR, type Scenario } from '../../../shop/scenarios';
import { BATCH_COLUMNS } from '../../../shop/load';

function options(seed: number, scenario: Scenario = 'none'): GeneratorOptions {
  return { seed, scenario, firstJobId: 1, lastShiftId: 0, prices: new Map() };
}

/** Rows of one table of a batch, as arrays of fields. */
function rows(text: string): string[][] {
  return text === ''
    ? []
    : text
        .trimEnd()
        .split('\n')
        .map((line) => line.split('\t'));
}

function column(table: (typeof BATCH_TABLES)[number], name: string): number {
  const index = BATCH_COLUMNS[table].indexOf(name);
  if (index < 0) throw new Error(`no column ${name} in ${table}`);
  return index;
}

describe('ShopGenerator', () => {
  it('gives the same rows for the same seed, however the run is cut into batches', () => {
    const whole = new ShopGenerator(options(7)).nextBatch(1000);
    const cut = new ShopGenerator(options(7));
    const first = cut.nextBatch(300);
    const second = cut.nextBatch(700);
    for (const table of BATCH_TABLES) {
      expect(first.text[table] + second.text[table]).toBe(whole.text[table]);
    }
    expect(whole.rows.jobs).toBe(1000);
    expect(whole.lastJobId).toBe(1000);
  });

  it('gives different rows for another seed', () => {
    const a = new ShopGenerator(options(7)).nextBatch(200);
    const b = new ShopGenerator(options(8)).nextBatch(200);
    expect(b.text.parts).not.toBe(a.text.parts);
    expect(b.text.route_steps).not.toBe(a.text.route_steps);
  });

  it('writes as many fields per row as each table has columns, in its foreign-key order', () => {
    const batch = new ShopGenerator(options(3)).nextBatch(500);
    for (const table of BATCH_TABLES) {
      const tableRows = rows(batch.text[table]);
      expect(tableRows.length).toBe(batch.rows[table]);
      for (const row of tableRows) expect(row.length).toBe(BATCH_COLUMNS[table].length);
    }
    const parts = new Set(rows(batch.text.parts).map((row) => row[0]));
    const partOfJob = column('jobs', 'part_id');
    // Every job's part is in the batch (new) or made earlier in it (a repeat order).
    for (const job of rows(batch.text.jobs)) expect(parts.has(job[partOfJob])).toBe(true);
    const repeats = batch.rows.jobs - batch.rows.parts;
    expect(repeats / batch.rows.jobs).toBeGreaterThan(0.2);
    expect(repeats / batch.rows.jobs).toBeLessThan(0.4);
  });

  it('keeps the physical quantities in range', () => {
    const batch = new ShopGenerator(options(11)).nextBatch(3000);
    const scrapRate = column('job_scrap', 'scrap_rate');
    for (const row of rows(batch.text.job_scrap)) {
      const rate = Number(row[scrapRate]);
      expect(rate).toBeGreaterThan(0);
      expect(rate).toBeLessThan(0.75);
    }
    const run = column('route_steps', 'run_seconds');
    for (const row of rows(batch.text.route_steps)) expect(Number(row[run])).toBeGreaterThan(0);
    const kwh = column('job_energy', 'kwh');
    for (const row of rows(batch.text.job_energy)) expect(Number(row[kwh])).toBeGreaterThan(0);
  });

  it('never uses titanium in a normal shop; new-material brings it into about 30 % of new parts', () => {
    const material = column('parts', 'material_id');
    const titanium = (scenario: Scenario) =>
      rows(new ShopGenerator(options(5, scenario)).nextBatch(3000).text.parts).filter((row) =>
        String(row[material]).startsWith('TI-'),
      ).length;
    expect(titanium('none')).toBe(0);
    const parts = rows(new ShopGenerator(options(5, 'new-material')).nextBatch(3000).text.parts).length;
    const share = titanium('new-material') / parts;
    expect(share).toBeGreaterThan(0.25);
    expect(share).toBeLessThan(0.35);
  });

  it('machine-wear makes LAS-2 cut slower and leaves every other machine as it was', () => {
    const normal = rows(new ShopGenerator(options(9)).nextBatch(2000).text.route_steps);
    const worn = rows(new ShopGenerator(options(9, 'machine-wear')).nextBatch(2000).text.route_steps);
    const machineAt = column('route_steps', 'machine_id');
    const run = column('route_steps', 'run_seconds');
    expect(worn.length).toBe(normal.length);
    let las2 = 0;
    let ratios = 0;
    worn.forEach((row, index) => {
      const ratio = Number(row[run]) / Number(normal[index]?.[run]);
      if (row[machineAt] === 'LAS-2') {
        las2++;
        ratios += ratio;
        // Cutting and piercing 15 % slower; sheet handling and rapid moves unchanged.
        expect(ratio).toBeGreaterThan(1.001);
        expect(ratio).toBeLessThanOrEqual(1 / 0.85 + 1e-3);
      } else {
        expect(ratio).toBeCloseTo(1, 6);
      }
    });
    expect(las2).toBeGreaterThan(300);
    expect(ratios / las2).toBeGreaterThan(1.1);
  });

  it('price-shock quotes steel 20 % dearer and leaves aluminium alone', () => {
    const prices = ShopGenerator.pricesAfter(
      'price-shock',
      new Map(MATERIALS.map((m) => [m.materialId, m.pricePerKg])),
    );
    expect(prices.get('S235JR')).toBeCloseTo(1.05 * PRICE_SHOCK_FACTOR, 2);
    expect(prices.get('1.4301')).toBeCloseTo(3.4 * PRICE_SHOCK_FACTOR, 2);
    expect(prices.get('EN-AW-5754')).toBe(4.1);
    const batch = new ShopGenerator(options(4, 'price-shock')).nextBatch(500);
    const quotedPrice = column('quotes', 'material_price_per_kg');
    const partOfQuote = column('quotes', 'part_id');
    const material = column('parts', 'material_id');
    const materialOfPart = new Map(rows(batch.text.parts).map((row) => [row[0], row[material]]));
    for (const quote of rows(batch.text.quotes)) {
      const materialId = String(materialOfPart.get(quote[partOfQuote]));
      expect(Number(quote[quotedPrice])).toBeCloseTo(prices.get(materialId) ?? NaN, 2);
    }
  });

  it('continues ids and shifts when appending', () => {
    const first = new ShopGenerator(options(2)).nextBatch(JOBS_PER_SHIFT * 2 + 10);
    const lastShift = Math.max(...rows(first.text.shifts).map((row) => Number(row[0])));
    const next = new ShopGenerator({
      ...options(2),
      firstJobId: first.lastJobId + 1,
      lastShiftId: lastShift,
    }).nextBatch(100);
    expect(next.firstJobId).toBe(first.lastJobId + 1);
    const newShifts = rows(next.text.shifts).map((row) => Number(row[0]));
    expect(newShifts[0]).toBe(lastShift + 1);
    const jobIds = rows(next.text.jobs).map((row) => Number(row[0]));
    expect(jobIds[0]).toBe(first.lastJobId + 1);
  });
});

describe('the shop calendar and customers', () => {
  it('works Monday to Friday in three shifts and Saturday early, never Sunday', () => {
    const week = Array.from({ length: 16 }, (_, index) => shiftCalendar(index + 1));
    expect(week.map((shift) => shift.shift).slice(0, 4)).toEqual(['early', 'late', 'night', 'early']);
    expect(week[15]).toMatchObject({ date: '2024-01-06', shift: 'early' });
    expect(shiftCalendar(17)).toMatchObject({ date: '2024-01-08', shift: 'early' });
    for (let id = 1; id < 200; id++) expect(new Date(shiftCalendar(id).startsAt).getUTCDay()).not.toBe(0);
    expect(shiftOfJob(1)).toBe(1);
    expect(shiftOfJob(JOBS_PER_SHIFT + 1)).toBe(2);
  });

  it('has the same customers for every seed, mostly small ones', () => {
    const customers = shopCustomers();
    expect(customers).toEqual(shopCustomers());
    const small = customers.filter((customer) => customer.sizeSegment === 'small').length / customers.length;
    expect(small).toBeGreaterThan(0.5);
    expect(small).toBeLessThan(0.7);
  });
});
