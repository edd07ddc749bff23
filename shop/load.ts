/**
 * `kerf shop generate`: fills the shop schema with generated history, streamed into PostgreSQL with
 * COPY in batches, all in one transaction (a failed run leaves the tables as they were). A new shop
 * replaces what is there; `append` continues after the last job (ids, shifts, prices), which is how
 * drift scenarios are laid on top of a normal history.
 */
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { MATERIALS } from './catalogue';
import { BATCH_TABLES, type BatchTable, catalogueRows, type ShopBatch, ShopGenerator } from './generator';
import { type Customer, shopCustomers } from './customers';
import { type Scenario, SCENARIOS } from './scenarios';

/** The columns of each table in the order the generator writes them. */
export const BATCH_COLUMNS: Record<BatchTable, readonly string[]> = {
  shifts: ['shift_id', 'shift_date', 'shift', 'starts_at', 'operator_count'],
  parts: [
    'part_id',
    'customer_id',
    'material_id',
    'thickness_mm',
    'sheet_area_m2',
    'cut_length_mm',
    'pierce_count',
    'hole_count',
    'bend_count',
    'weld_length_mm',
    'painted',
    'tolerance_class',
    'created_at',
  ],
  quotes: [
    'quote_id',
    'customer_id',
    'part_id',
    'quantity',
    'quoted_at',
    'material_price_per_kg',
    'material_cost',
    'machine_cost',
    'setup_cost',
    'margin',
    'unit_price',
    'total_price',
    'won',
  ],
  orders: ['order_id', 'quote_id', 'customer_id', 'ordered_at', 'due_date', 'quantity'],
  jobs: [
    'job_id',
    'order_id',
    'part_id',
    'shift_id',
    'quantity',
    'sheet_count',
    'released_at',
    'started_at',
    'finished_at',
  ],
  route_steps: ['job_id', 'step_no', 'operation', 'machine_id', 'setup_seconds', 'run_seconds', 'started_at'],
  job_energy: ['job_id', 'kwh', 'peak_kw'],
  job_scrap: ['job_id', 'material_kg', 'scrap_kg', 'rejected_parts', 'scrap_rate'],
};

/**
 * The tables a new shop empties, children first. The customers stay (they are the same for every
 * seed, and are only ever added) and so does `order_intake`, which `kerf shop orders` fills.
 */
const REPLACED_TABLES = [...[...BATCH_TABLES].reverse(), 'machines', 'materials', 'generation_runs'];

export interface ShopGenerateOptions {
  jobs: number;
  seed: number;
  /** @default 'none' */
  scenario?: Scenario;
  /** Add the jobs after the existing ones instead of replacing the shop's data. */
  append?: boolean;
  /** Jobs per COPY batch. @default 20000 */
  batchSize?: number;
  onProgress?: (progress: ShopProgress) => void;
}

export interface ShopProgress {
  jobsDone: number;
  jobs: number;
  rows: number;
  seconds: number;
}

export interface ShopGenerateResult {
  runId: number;
  seed: number;
  scenario: Scenario;
  firstJobId: number;
  lastJobId: number;
  rows: Record<BatchTable, number>;
  totalRows: number;
  seconds: number;
  rowsPerSecond: number;
  jobsPerSecond: number;
}

/** A generation that could not run; nothing was changed. */
export class ShopGenerateError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ShopGenerateError';
  }
}

/** A seed the generators take (an unsigned 32-bit number), or an error naming `--seed`. */
export function checkSeed(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new ShopGenerateError(`--seed must be a whole number from 0 to 4294967295 (got ${String(seed)}).`);
  }
}

/** Checks the options a person gave, naming the one that is wrong. */
export function checkGenerateOptions(options: ShopGenerateOptions): void {
  if (!Number.isSafeInteger(options.jobs) || options.jobs < 1) {
    throw new ShopGenerateError(`--jobs must be a whole number of at least 1 (got ${String(options.jobs)}).`);
  }
  checkSeed(options.seed);
  const scenario = options.scenario ?? 'none';
  if (!(SCENARIOS as readonly string[]).includes(scenario)) {
    throw new ShopGenerateError(
      `--scenario must be one of ${SCENARIOS.join(', ')} (got ${JSON.stringify(scenario)}).`,
    );
  }
  if (
    options.batchSize !== undefined &&
    (!Number.isSafeInteger(options.batchSize) || options.batchSize < 1)
  ) {
    throw new ShopGenerateError(
      `batchSize must be a whole number of at least 1 (got ${String(options.batchSize)}).`,
    );
  }
}

/** Fills (or extends) the shop schema. The schema must exist: the migrations create it. */
/**
 * Runs `work` in one transaction under the shop generators' lock (the customers are written by
 * both), after checking that `table` exists: on any failure it rolls back and says that nothing
 * changed (`what` names the data, e.g. "the shop data"). `afterCommit` runs once the lock is
 * released (ANALYZE, say).
 */
export async function inShopTransaction<T>(
  pool: pg.Pool,
  options: { table: string; missing: string; what: string },
  work: (client: pg.PoolClient) => Promise<T>,
  afterCommit?: (result: T) => Promise<void>,
): Promise<T> {
  const client = await pool.connect();
  let released = false;
  try {
    await client.query('BEGIN');
    // One generation at a time per database: a second one waits rather than interleaving ids.
    await client.query("SELECT pg_advisory_xact_lock(hashtext('kerf.shop.generate'))");
    const exists = await client.query<{ exists: boolean }>('SELECT to_regclass($1) IS NOT NULL AS exists', [
      options.table,
    ]);
    if (!exists.rows[0]?.exists) throw new ShopGenerateError(options.missing);
    const result = await work(client);
    await client.query('COMMIT');
    client.release();
    released = true;
    await afterCommit?.(result);
    return result;
  } catch (error) {
    if (!released) {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release();
    }
    if (error instanceof ShopGenerateError) throw error;
    throw new ShopGenerateError(
      `generating ${options.what} failed and nothing was changed: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
}

export async function generateShop(pool: pg.Pool, options: ShopGenerateOptions): Promise<ShopGenerateResult> {
  checkGenerateOptions(options);
  const scenario = options.scenario ?? 'none';
  const batchSize = options.batchSize ?? 20_000;
  const started = performance.now();
  const shop = {
    table: 'shop.jobs',
    missing:
      'the shop tables do not exist in this database; apply the migrations first (`kerf stack up` does, or start the worker).',
    what: 'the shop data',
  };
  // Fresh statistics so that the pipelines' queries plan well right away.
  const analyze = async () => {
    await pool.query(`ANALYZE ${BATCH_TABLES.map((table) => `shop.${table}`).join(', ')}`);
  };
  return inShopTransaction(
    pool,
    shop,
    async (client) => {
      if (!options.append) {
        await client.query(
          `TRUNCATE ${REPLACED_TABLES.map((table) => `shop.${table}`).join(', ')} RESTART IDENTITY`,
        );
      }
      const position = await client.query<{ last_job: string | null; last_shift: number | null }>(
        'SELECT (SELECT max(job_id) FROM shop.jobs) AS last_job, (SELECT max(shift_id) FROM shop.shifts) AS last_shift',
      );
      const firstJobId = Number(position.rows[0]?.last_job ?? 0) + 1;
      const lastShiftId = position.rows[0]?.last_shift ?? 0;
      const prices = await currentPrices(client);
      const pricesNow = ShopGenerator.pricesAfter(scenario, prices);
      await writeCatalogue(client, pricesNow, scenario);

      const generator = new ShopGenerator({ seed: options.seed, scenario, firstJobId, lastShiftId, prices });
      const rows = Object.fromEntries(BATCH_TABLES.map((table) => [table, 0])) as Record<BatchTable, number>;
      let done = 0;
      let totalRows = 0;
      // Pipelined: while PostgreSQL takes one batch, the next is generated in slices that let the
      // event loop keep feeding the socket, so both cores work.
      let loading: Promise<void> = Promise.resolve();
      const loaded = (batch: ShopBatch) => {
        for (const table of BATCH_TABLES) {
          rows[table] += batch.rows[table];
          totalRows += batch.rows[table];
        }
        done += batch.lastJobId - batch.firstJobId + 1;
        options.onProgress?.({
          jobsDone: done,
          jobs: options.jobs,
          rows: totalRows,
          seconds: (performance.now() - started) / 1000,
        });
      };
      let generated = 0;
      while (generated < options.jobs) {
        const count = Math.min(batchSize, options.jobs - generated);
        const batch = await generateInSlices(generator, count);
        generated += count;
        await loading;
        loading = copyBatch(client, batch).then(() => loaded(batch));
        // A failed COPY must not go unobserved while the next batch is generated.
        loading.catch(() => undefined);
      }
      await loading;
      const seconds = (performance.now() - started) / 1000;
      const lastJobId = firstJobId + options.jobs - 1;
      const run = await client.query<{ run_id: string }>(
        `INSERT INTO shop.generation_runs (seed, scenario, first_job_id, last_job_id, rows, seconds)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING run_id`,
        [options.seed, scenario, firstJobId, lastJobId, JSON.stringify(rows), seconds],
      );
      return {
        runId: Number(run.rows[0]?.run_id),
        seed: options.seed,
        scenario,
        firstJobId,
        lastJobId,
        rows,
        totalRows,
        seconds,
        rowsPerSecond: totalRows / seconds,
        jobsPerSecond: options.jobs / seconds,
      };
    },
    analyze,
  );
}

async function currentPrices(client: pg.PoolClient): Promise<Map<string, number>> {
  const result = await client.query<{ material_id: string; price_per_kg: string }>(
    'SELECT material_id, price_per_kg FROM shop.materials',
  );
  return new Map(result.rows.map((row) => [row.material_id, Number(row.price_per_kg)]));
}

/** Materials (with the prices in force), machines and customers; titanium only once a run brings it. */
async function writeCatalogue(
  client: pg.PoolClient,
  prices: ReadonlyMap<string, number>,
  scenario: Scenario,
): Promise<void> {
  const catalogue = catalogueRows(prices, scenario === 'new-material');
  for (const material of catalogue.materials) {
    await client.query(
      `INSERT INTO shop.materials (material_id, grade, family, density_kg_m3, price_per_kg, price_updated_at)
       VALUES ($1, $2, $3, $4, $5, now())
       ON CONFLICT (material_id) DO UPDATE SET price_per_kg = EXCLUDED.price_per_kg, price_updated_at = now()
       WHERE shop.materials.price_per_kg IS DISTINCT FROM EXCLUDED.price_per_kg`,
      [material.materialId, material.grade, material.family, material.densityKgM3, material.pricePerKg],
    );
  }
  for (const machine of catalogue.machines) {
    await client.query(
      `INSERT INTO shop.machines (machine_id, kind, model, power_kw, rated_input_kw, rate_per_hour, installed_on)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (machine_id) DO NOTHING`,
      [
        machine.machineId,
        machine.kind,
        machine.model,
        machine.powerKw,
        machine.ratedInputKw,
        machine.ratePerHour,
        machine.installedOn,
      ],
    );
  }
  await writeCustomers(client, catalogue.customers);
}

/** The shop's customers, added where missing (they are the same for every seed). */
export async function writeCustomers(
  client: pg.PoolClient,
  customers: readonly Customer[] = shopCustomers(),
): Promise<void> {
  await client.query(
    `INSERT INTO shop.customers (customer_id, name, size_segment, region)
     SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::text[]) ON CONFLICT (customer_id) DO NOTHING`,
    [
      customers.map((customer) => customer.customerId),
      customers.map((customer) => customer.name),
      customers.map((customer) => customer.sizeSegment),
      customers.map((customer) => customer.region),
    ],
  );
}

/** Jobs generated this many at a time between turns of the event loop. */
const SLICE_JOBS = 1000;

/** One batch, generated in slices with the event loop turning in between (the socket drains). */
async function generateInSlices(generator: ShopGenerator, count: number): Promise<ShopBatch> {
  const slices: ShopBatch[] = [];
  for (let made = 0; made < count; made += SLICE_JOBS) {
    slices.push(generator.nextBatch(Math.min(SLICE_JOBS, count - made)));
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  const first = slices[0];
  const last = slices[slices.length - 1];
  if (!first || !last) throw new Error('generateInSlices needs a count of at least 1');
  const text = {} as Record<BatchTable, string>;
  const rows = {} as Record<BatchTable, number>;
  for (const table of BATCH_TABLES) {
    text[table] = slices.map((slice) => slice.text[table]).join('');
    rows[table] = slices.reduce((sum, slice) => sum + slice.rows[table], 0);
  }
  return { text, rows, firstJobId: first.firstJobId, lastJobId: last.lastJobId };
}

async function copyBatch(client: pg.PoolClient, batch: ShopBatch): Promise<void> {
  for (const table of BATCH_TABLES) await copyText(client, table, BATCH_COLUMNS[table], batch.text[table]);
}

/**
 * COPYs text (tab-separated, one row per line) into a table of the shop schema: the one place the
 * shop's loaders stream rows into PostgreSQL. Empty text copies nothing.
 */
export async function copyText(
  client: pg.PoolClient,
  table: string,
  columns: readonly string[],
  text: string,
): Promise<void> {
  if (text === '') return;
  const stream = client.query(copyFrom(`COPY shop.${table} (${columns.join(', ')}) FROM STDIN`));
  await new Promise<void>((resolve, reject) => {
    stream.on('error', reject);
    stream.on('finish', resolve);
    stream.end(text);
  });
}

/** Materials the catalogue knows, for messages. */
export const KNOWN_MATERIALS = MATERIALS.map((material) => material.materialId);
