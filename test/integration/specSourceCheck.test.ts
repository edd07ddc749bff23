import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importCsv } from '../../shop/csvImport';
import { applyMigrations } from '../../platform/migrations';
import { migrationsDir, repoRoot } from '../../platform/paths';
import { generateShop } from '../../shop/load';
import {
  checkSpecSource,
  describeSource,
  loadPipelineSpec,
  type PipelineSpec,
  SpecSourceError,
} from '../../lifecycle/spec';
import { createOwnDatabase, runKerf, type OwnDatabase } from '../helpers';
import { ai4iCsv, steelEnergyCsv } from '../sharedData';
import { BASE_FEATURES, buildSpec, features, type SpecInput, specInput } from '../specBuilder';

let db: OwnDatabase;
let dir: string;

// The source checks below run as the owner role, which may do anything to its own tables, so they
// test the check itself; the CLI runs spec SQL as the reader role, as it does for a person.
beforeAll(async () => {
  db = await createOwnDatabase('spec_source', { migrate: false });
  dir = await mkdtemp(path.join(os.tmpdir(), 'kerf-spec-source-'));
  await db.ownerPool.query(`
    CREATE TYPE shift_name AS ENUM ('early', 'late', 'night');
    CREATE DOMAIN millimetres AS double precision CHECK (VALUE > 0);
    CREATE SEQUENCE route_numbers;
    -- Mislabelled IMMUTABLE, so the planner calls it while planning even a LIMIT 0 query.
    CREATE FUNCTION next_route_number() RETURNS bigint LANGUAGE plpgsql IMMUTABLE
      AS $$ BEGIN RETURN nextval('route_numbers'); END $$;
    CREATE TABLE routes (
      route_id bigint PRIMARY KEY,
      "Minutes" double precision,
      thickness_mm millimetres,
      material varchar(40),
      machine text,
      shift shift_name,
      operators integer,
      rush boolean,
      price numeric(10, 2),
      started_at timestamptz,
      due_on date,
      notes jsonb
    );
    CREATE TABLE machines (machine text PRIMARY KEY, laser_kw double precision);
    INSERT INTO machines VALUES ('TruLaser 3030', 4), ('Bystronic 3015', 6);
  `);
});

afterAll(async () => {
  await db.drop();
  await rm(dir, { recursive: true, force: true });
});

/** A spec over `routes` that fits it, sliced by machine and shift. */
const routesSpec = specInput({
  target: 'Minutes',
  features: [
    ...BASE_FEATURES,
    ...features({ shift: 'categorical', operators: 'categorical', rush: 'categorical', price: 'numeric' }),
  ],
  segments: ['machine', 'shift'],
  timeColumn: 'started_at',
});

/** The `routes` spec with the parts a test changes. */
const spec = (overrides: SpecInput = {}): PipelineSpec => buildSpec(overrides, routesSpec);

/** The SpecSourceError a check throws (failing the test when it does not throw one). */
async function sourceError(check: Promise<unknown>): Promise<SpecSourceError> {
  const error = await check.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  if (error instanceof SpecSourceError) return error;
  throw new Error(`expected a SpecSourceError, got ${String(error)}`);
}

async function specFile(name: string, json: unknown): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, JSON.stringify(json, null, 2));
  return file;
}

describe('describeSource', () => {
  it('returns the columns of a table with their PostgreSQL types and kinds', async () => {
    const columns = await describeSource(db.ownerPool, { kind: 'table', table: 'ROUTES' });
    expect(columns).toEqual([
      { name: 'route_id', postgresType: 'bigint', kind: 'number', integer: true },
      { name: 'Minutes', postgresType: 'double precision', kind: 'number', integer: false },
      // A domain column arrives as its base type; an enum holds labels.
      { name: 'thickness_mm', postgresType: 'double precision', kind: 'number', integer: false },
      { name: 'material', postgresType: 'character varying', kind: 'text', integer: false },
      { name: 'machine', postgresType: 'text', kind: 'text', integer: false },
      { name: 'shift', postgresType: 'shift_name', kind: 'text', integer: false },
      { name: 'operators', postgresType: 'integer', kind: 'number', integer: true },
      { name: 'rush', postgresType: 'boolean', kind: 'boolean', integer: false },
      { name: 'price', postgresType: 'numeric', kind: 'number', integer: false },
      { name: 'started_at', postgresType: 'timestamp with time zone', kind: 'time', integer: false },
      { name: 'due_on', postgresType: 'date', kind: 'time', integer: false },
      { name: 'notes', postgresType: 'jsonb', kind: 'other', integer: false },
    ]);
  });

  it('runs a query for its columns, with a trailing semicolon and comment', async () => {
    const columns = await describeSource(db.ownerPool, {
      kind: 'sql',
      query:
        'SELECT r.route_id, m.laser_kw, r.started_at::date AS day, count(*) OVER () AS n\n' +
        '  FROM routes r JOIN machines m USING (machine);  -- one row per route',
    });
    expect(columns.map((column) => [column.name, column.postgresType, column.kind])).toEqual([
      ['route_id', 'bigint', 'number'],
      ['laser_kw', 'double precision', 'number'],
      ['day', 'date', 'time'],
      ['n', 'bigint', 'number'],
    ]);
  });

  it('runs the query read-only', async () => {
    const error = await sourceError(
      describeSource(db.ownerPool, { kind: 'sql', query: 'SELECT next_route_number() AS next' }),
    );
    expect(error.issues).toEqual([
      {
        path: 'source.query',
        message: expect.stringMatching(
          /^must only read, but PostgreSQL says: cannot execute nextval\(\)/,
        ) as string,
      },
    ]);
    const { rows } = await db.ownerPool.query<{ last: string | null }>(
      'SELECT last_value::text AS last FROM route_numbers WHERE is_called',
    );
    expect(rows).toEqual([]);
  });

  it('cancels a source that does not answer within the statement timeout', async () => {
    const locker = await db.ownerPool.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE machines IN ACCESS EXCLUSIVE MODE');
      const started = performance.now();
      const error = await sourceError(
        describeSource(db.ownerPool, { kind: 'table', table: 'machines' }, { statementTimeoutMs: 300 }),
      );
      expect(performance.now() - started).toBeLessThan(5_000);
      expect(error.problems).toEqual([
        expect.stringMatching(
          /^source\.table: table machines did not answer within 0\.3 s even for zero rows \(PostgreSQL: canceling statement due to statement timeout\)/,
        ),
      ]);
    } finally {
      await locker.query('ROLLBACK');
      locker.release();
    }
  });
});

describe('checkSpecSource', () => {
  it('passes a table spec whose columns exist and fit', async () => {
    const columns = await checkSpecSource(db.ownerPool, spec());
    expect(columns).toHaveLength(12);
  });

  it('passes a sql spec whose query computes the columns', async () => {
    const sqlSpec = spec({
      source: {
        kind: 'sql',
        query: `SELECT r.*, m.laser_kw, extract(epoch FROM r.started_at) AS started_s
                  FROM routes r LEFT JOIN machines m USING (machine)`,
      },
      features: features({ laser_kw: 'numeric', machine: 'categorical' }),
      segments: ['machine'],
      timeColumn: 'started_s',
    });
    const columns = await checkSpecSource(db.ownerPool, sqlSpec);
    expect(columns.find((column) => column.name === 'started_s')).toMatchObject({ kind: 'number' });
  });

  it('lists every unknown or unfit column of a spec, each at its path', async () => {
    const bad = spec({
      target: 'minutes',
      features: features({ thickness_mm: 'numeric', material: 'numeric', machnie: 'categorical' }),
      segments: ['machnie'],
      timeColumn: 'notes',
    });
    const error = await sourceError(checkSpecSource(db.ownerPool, bad, { origin: 'route-time.json' }));
    expect(error.issues.map((issue) => issue.path)).toEqual([
      'target',
      'features[1].name',
      'features[2].name',
      'segments[0]',
      'timeColumn',
    ]);
    expect(error.problems[0]).toMatch(
      /^target: no column "minutes" in table routes; did you mean "Minutes"\? \(column names are case-sensitive\)/,
    );
    expect(error.problems[1]).toMatch(/^features\[1\]\.name: "material" is of type character varying/);
    expect(error.problems[2]).toMatch(
      /^features\[2\]\.name: no column "machnie" in table routes; did you mean "machine"\?/,
    );
    expect(error.problems[4]).toMatch(/^timeColumn: "notes" is of type jsonb in table routes/);
    expect(error.message).toMatch(/^Pipeline spec route-time\.json does not fit its source:\ntarget: /);
  });

  it('names a missing table and says how to load it', async () => {
    const missing = spec({ source: { kind: 'table', table: 'shop.jobs' } });
    const error = await sourceError(checkSpecSource(db.ownerPool, missing, { origin: 'jobs.json' }));
    expect(error.problems).toEqual([
      'source.table: table shop.jobs does not exist in this database (PostgreSQL: relation "shop.jobs" does not exist); ' +
        "load it first (`kerf shop generate` for the shop's tables, `kerf import-csv FILE --table shop.jobs` for a CSV file), " +
        'or check DATABASE_URL',
    ]);
  });

  it("names a query that PostgreSQL refuses, with PostgreSQL's message", async () => {
    const broken = spec({ source: { kind: 'sql', query: 'SELECT route_id, weight_kg FROM routes' } });
    const error = await sourceError(checkSpecSource(db.ownerPool, broken));
    expect(error.problems).toEqual([
      'source.query: PostgreSQL cannot run the query: column "weight_kg" does not exist; fix it and check again',
    ]);
  });

  it('checks the shipped specs against the data sets they name, loaded with import-csv', async () => {
    await importCsv(db.ownerPool, ai4iCsv, { table: 'ai4i2020' });
    await importCsv(db.ownerPool, steelEnergyCsv, { table: 'steel_energy' });
    const ai4i = await loadPipelineSpec(path.join(repoRoot, 'pipelines/ai4i-failure.json'));
    await expect(checkSpecSource(db.ownerPool, ai4i)).resolves.toHaveLength(14);
    // import-csv loads the day-first dates as text; the spec's query turns them into timestamps.
    const steel = await loadPipelineSpec(path.join(repoRoot, 'pipelines/steel-energy.json'));
    const columns = await checkSpecSource(db.ownerPool, steel);
    expect(columns.find((column) => column.name === 'reading_at')?.kind).toBe('time');
    if (steel.source.kind !== 'sql') throw new Error('steel-energy reads a query');
    // Every reading gets its own time, 15 minutes apart, over the year.
    const times = await db.ownerPool.query<{ readings: string; distinct_times: string; span_days: number }>(
      `SELECT count(*) AS readings, count(DISTINCT reading_at) AS distinct_times,
              (extract(epoch FROM max(reading_at) - min(reading_at)) / 86400)::float8 AS span_days
       FROM (${steel.source.query}) AS source`,
    );
    expect(times.rows[0]).toEqual({ readings: '35040', distinct_times: '35040', span_days: 365 - 1 / 96 });
  });

  it('checks the shop specs against the shop schema filled by the generator', async () => {
    await applyMigrations(db.ownerPool, migrationsDir);
    await generateShop(db.ownerPool, { jobs: 300, seed: 1 });
    for (const name of ['cut-time', 'bend-time', 'job-energy', 'scrap-rate', 'quote-price']) {
      const shopSpec = await loadPipelineSpec(path.join(repoRoot, `pipelines/${name}.json`));
      const columns = await checkSpecSource(db.ownerPool, shopSpec);
      expect(columns.map((column) => column.name)).toContain(shopSpec.target);
    }
  });
});

describe('kerf spec check', () => {
  it('checks files statically, and against the database with --against-database', async () => {
    const good = await specFile('good.json', specInput({ name: 'good-routes' }, routesSpec));
    const unknownColumn = await specFile('unknown-column.json', spec({ target: 'minutes' }));
    const env = db.env;

    // Statically both are fine: only the database knows the columns.
    const statically = await runKerf(['spec', 'check', good, unknownColumn], env);
    expect(statically.stderr).toBe('');
    expect(statically.stdout).toBe(`ok  ${good} (good-routes)\nok  ${unknownColumn} (route-time)\n`);
    expect(statically.code).toBe(0);

    const passing = await runKerf(['spec', 'check', good, '--against-database'], env);
    expect(passing.stdout).toBe(`ok  ${good} (good-routes)\n`);
    expect(passing.code).toBe(0);

    const failing = await runKerf(['spec', 'check', good, unknownColumn, '--against-database'], env);
    expect(failing.code).toBe(1);
    const lines = failing.stdout.trimEnd().split('\n');
    expect(lines.slice(0, 2)).toEqual([`ok  ${good} (good-routes)`, `FAIL ${unknownColumn} (route-time)`]);
    expect(lines[2]).toMatch(/^ {2}target: no column "minutes" in table routes; did you mean "Minutes"\?/);
    expect(lines).toHaveLength(3);
  });

  it('reports static problems, unreadable files and missing tables, and prints JSON', async () => {
    const invalid = await specFile('invalid.json', specInput({ task: 'clustering' }, routesSpec));
    const missingTable = await specFile(
      'missing-table.json',
      spec({ source: { kind: 'table', table: 'jobs' } }),
    );
    const absent = path.join(dir, 'absent.json');
    const outcome = await runKerf(
      ['spec', 'check', invalid, missingTable, absent, '--against-database', '--json'],
      db.env,
    );
    expect(outcome.code).toBe(1);
    expect(JSON.parse(outcome.stdout)).toEqual([
      {
        file: invalid,
        ok: false,
        problems: ['task: must be one of: regression, binary, multiclass, forecast'],
      },
      {
        file: missingTable,
        ok: false,
        name: 'route-time',
        problems: [
          expect.stringMatching(
            /^source\.table: table jobs does not exist in this database .*kerf import-csv/,
          ),
        ],
      },
      { file: absent, ok: false, problems: ['(file): cannot be read (ENOENT); check the path'] },
    ]);
  });
});
