/**
 * Spec SQL that tries to write, escape its transaction, read Kerf's own tables or call server
 * functions, through both paths that run it: `kerf spec check --against-database` (the CLI) and
 * ingest (`takeSnapshot` on the reader pool, as the worker does). Each case asserts PostgreSQL's
 * refusal as the person sees it, and that the database is exactly as it was.
 *
 * The injection payloads get past the spec's lexical check (an `E'\''` string or a `$$` inside an
 * identifier hides the `;` from it): what stops them is PostgreSQL, through the extended protocol
 * (one statement), the read-only transaction and the reader role's grants.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { takeSnapshot } from '../../lifecycle/ingest';
import { createReaderPool } from '../../platform/database';
import { ObjectStore } from '../../platform/objectStore';
import { parsePipelineSpec, type PipelineSpec } from '../../lifecycle/spec';
import { features, shippedSpecInput, type SpecInput, specInput } from '../specBuilder';
import { generateShop } from '../../shop/load';
import { createOwnDatabase, type OwnDatabase, runKerf, testConfig, uniqueName } from '../helpers';
import { fingerprint } from './unchanged';

let db: OwnDatabase;
let dir: string;
let store: ObjectStore;
let readerPool: pg.Pool;
/** A superuser session of the test's own: its pid is a target, its lock a delay. */
let admin: pg.Client;

/** How long one statement of spec SQL may run here. */
const TIMEOUT_SECONDS = 2;

beforeAll(async () => {
  db = await createOwnDatabase('sec_spec_sql');
  await generateShop(db.ownerPool, { jobs: 150, seed: 2 });
  dir = await mkdtemp(path.join(os.tmpdir(), 'kerf-sec-spec-sql-'));
  store = ObjectStore.fromConfig(testConfig().s3);
  await store.ensureBucket();
  readerPool = createReaderPool({ readerUrl: db.readerUrl }, { statementTimeoutMs: TIMEOUT_SECONDS * 1000 });
  admin = new pg.Client({ connectionString: db.adminUrl });
  await admin.connect();
});

afterAll(async () => {
  await admin.end();
  await readerPool.end();
  store.destroy();
  await db.drop();
  await rm(dir, { recursive: true, force: true });
});

/** A regression spec over `query`, whose result should hold a number `y` (target) and `x` (feature). */
function specOver(query: string): { draft: SpecInput; spec: PipelineSpec } {
  const draft = specInput(
    {
      name: uniqueName('sec').replace(/_/g, '-'),
      source: { kind: 'sql', query },
      target: 'y',
      features: features({ x: 'numeric' }),
      segments: [],
      timeColumn: undefined,
      // cut-time's derived features read its columns, which this source does not have.
      derived: undefined,
    },
    shippedSpecInput('cut-time'),
  );
  return { draft, spec: parsePipelineSpec(draft) };
}

/** Runs `kerf spec check --against-database` on the spec, as the reader role, and returns its verdict. */
async function checkByCli(
  query: string,
): Promise<{ code: number; lines: string[]; file: string; name: string }> {
  const { draft, spec } = specOver(query);
  const file = path.join(dir, `${spec.name}.json`);
  await writeFile(file, JSON.stringify(draft));
  const outcome = await runKerf(['spec', 'check', file, '--against-database'], {
    ...db.env,
    KERF_SPEC_SQL_TIMEOUT_SECONDS: String(TIMEOUT_SECONDS),
  });
  expect(outcome.stderr).toBe('');
  return { code: outcome.code, lines: outcome.stdout.trimEnd().split('\n'), file, name: spec.name };
}

/** Runs the ingest of the spec on the reader pool; resolves to what it was refused with. */
async function refusedIngest(query: string): Promise<{ message: string; problems?: readonly string[] }> {
  const { spec } = specOver(query);
  const keyPrefix = `security/${uniqueName('snapshots')}`;
  const error = await takeSnapshot({ pool: readerPool, store, pipeline: spec.name, spec, keyPrefix }).then(
    () => undefined,
    (failure: unknown) => failure as Error & { problems?: readonly string[] },
  );
  expect(error, 'the ingest should have been refused').toBeInstanceOf(Error);
  // A refused read leaves no snapshot behind.
  expect(await store.list(`${keyPrefix}/`)).toEqual([]);
  return {
    message: (error as Error).message,
    problems: (error as { problems?: readonly string[] }).problems,
  };
}

/** Runs `attack` and asserts that the database is exactly as before it. */
async function unchangedBy<T>(attack: () => Promise<T>): Promise<T> {
  const before = await fingerprint(db.adminUrl);
  const result = await attack();
  expect(await fingerprint(db.adminUrl)).toEqual(before);
  return result;
}

const SEVERAL_STATEMENTS =
  'source.query: must be one SELECT statement, but PostgreSQL found several (cannot insert multiple commands ' +
  'into a prepared statement); remove the ";" and what follows';
const READER_ONLY =
  "spec SQL runs as a reader that may only read the data schemas (KERF_SPEC_SCHEMAS: the shop's and imported " +
  "tables), not Kerf's own tables nor administrators' functions: read a table of the shop or an imported one, " +
  'or have an administrator grant SELECT on it to kerf_reader';
const refusedByReader = (message: string) => `source.query: PostgreSQL: ${message}; ${READER_ONLY}`;

/** Payloads that end the read-only transaction and write, each hidden from the lexical check. */
const smuggled = {
  stringQuoting:
    "SELECT E'\\'' AS a) AS s; COMMIT; UPDATE shop.materials SET price_per_kg = 0.01; SELECT * FROM (SELECT 'x' AS b",
  dollarQuoting:
    'SELECT 1 AS a$$) AS s; COMMIT; CREATE TABLE shop.pwned (id int); SELECT * FROM (SELECT 1 AS b$$',
  comments:
    "SELECT E'\\'' AS a) s; COMMIT; /* */ DELETE FROM shop.job_scrap; -- '\nSELECT * FROM (SELECT 'x' AS b",
  rollbackThenWrite:
    "SELECT E'\\'' AS a) s; ROLLBACK; INSERT INTO registry.audit_log (actor, action) VALUES ('mallory', " +
    "'approval-recorded'); SELECT * FROM (SELECT 'x' AS b",
  endThenWrite: "SELECT E'\\'' AS a) s; END; DELETE FROM shop.job_energy; SELECT * FROM (SELECT 'x' AS b",
} as const;

describe('kerf spec check --against-database refuses hostile spec SQL and changes nothing', () => {
  for (const [name, query] of Object.entries(smuggled)) {
    it(`refuses a second statement smuggled in by ${name}`, async () => {
      const verdict = await unchangedBy(() => checkByCli(query));
      expect(verdict.code).toBe(1);
      expect(verdict.lines).toEqual([`FAIL ${verdict.file} (${verdict.name})`, `  ${SEVERAL_STATEMENTS}`]);
    });
  }

  it('refuses COPY ... TO PROGRAM after a smuggled COMMIT, and runs no program', async () => {
    const marker = path.join(os.tmpdir(), uniqueName('kerf-pwned'));
    const query = `SELECT E'\\'' AS a) s; COMMIT; COPY (SELECT 1) TO PROGRAM 'touch ${marker}'; SELECT * FROM (SELECT 'x' AS b`;
    const verdict = await unchangedBy(() => checkByCli(query));
    expect(verdict.code).toBe(1);
    expect(verdict.lines[1]).toBe(`  ${SEVERAL_STATEMENTS}`);
    expect(existsSync(marker)).toBe(false);
  });

  const serverFunctions = {
    pg_read_file: "SELECT length(pg_read_file('/etc/hostname'))::float8 AS y, 1.0::float8 AS x",
    pg_ls_dir: "SELECT count(*)::float8 AS y, 1.0::float8 AS x FROM pg_ls_dir('/')",
    lo_import: "SELECT lo_import('/etc/hostname'::text)::int8::float8 AS y, 1.0::float8 AS x",
  };
  for (const [fn, query] of Object.entries(serverFunctions)) {
    it(`refuses the server file function ${fn}`, async () => {
      const verdict = await unchangedBy(() => checkByCli(query));
      expect(verdict.code).toBe(1);
      expect(verdict.lines[1]).toBe(`  ${refusedByReader(`permission denied for function ${fn}`)}`);
    });
  }

  it('refuses dblink, which is not installed, so nothing reaches another database', async () => {
    const verdict = await unchangedBy(() =>
      checkByCli(
        "SELECT 1.0::float8 AS y, length(dblink_exec('dbname=postgres', 'CREATE ROLE mallory SUPERUSER'))::float8 AS x",
      ),
    );
    expect(verdict.code).toBe(1);
    expect(verdict.lines[1]).toBe(
      '  source.query: PostgreSQL cannot run the query: function dblink_exec(unknown, unknown) does not exist; fix it and check again',
    );
  });

  const kerfTables = {
    'registry.audit_log': 'SELECT id::float8 AS y, 1.0::float8 AS x FROM registry.audit_log',
    'registry.signing_keys':
      'SELECT length(public_key_pem)::float8 AS y, 1.0::float8 AS x FROM registry.signing_keys',
    'serving.predictions': 'SELECT version::float8 AS y, 1.0::float8 AS x FROM serving.predictions',
  };
  for (const [table, query] of Object.entries(kerfTables)) {
    it(`refuses to read Kerf's own ${table}`, async () => {
      const verdict = await unchangedBy(() => checkByCli(query));
      expect(verdict.code).toBe(1);
      expect(verdict.lines[1]).toBe(
        `  ${refusedByReader(`permission denied for schema ${table.split('.')[0]}`)}`,
      );
    });
  }

  it('stops a source that does not answer within the statement timeout', async () => {
    // Fingerprints around the lock, not under it: reading the locked table would wait too.
    const before = await fingerprint(db.adminUrl);
    await admin.query('BEGIN');
    let verdict: Awaited<ReturnType<typeof checkByCli>>;
    try {
      await admin.query('LOCK TABLE shop.machines IN ACCESS EXCLUSIVE MODE');
      verdict = await checkByCli('SELECT power_kw::float8 AS y, 1.0::float8 AS x FROM shop.machines');
    } finally {
      await admin.query('ROLLBACK');
    }
    expect(await fingerprint(db.adminUrl)).toEqual(before);
    expect(verdict.code).toBe(1);
    expect(verdict.lines[1]).toBe(
      `  source.query: the query did not answer within ${TIMEOUT_SECONDS} s even for zero rows ` +
        '(PostgreSQL: canceling statement due to statement timeout); simplify it or use a view',
    );
  });
});

describe('ingest refuses hostile spec SQL, writes no snapshot and changes nothing', () => {
  for (const name of ['stringQuoting', 'dollarQuoting', 'rollbackThenWrite'] as const) {
    it(`refuses a second statement smuggled in by ${name}`, async () => {
      const refusal = await unchangedBy(() => refusedIngest(smuggled[name]));
      expect(refusal.problems).toEqual([SEVERAL_STATEMENTS]);
    });
  }

  it('refuses COPY ... TO PROGRAM and runs no program', async () => {
    const marker = path.join(os.tmpdir(), uniqueName('kerf-pwned'));
    const refusal = await unchangedBy(() =>
      refusedIngest(
        `SELECT E'\\'' AS a) s; COMMIT; COPY (SELECT 1) TO PROGRAM 'touch ${marker}'; SELECT * FROM (SELECT 'x' AS b`,
      ),
    );
    expect(refusal.problems).toEqual([SEVERAL_STATEMENTS]);
    expect(existsSync(marker)).toBe(false);
  });

  it('refuses to read registry.audit_log', async () => {
    const refusal = await unchangedBy(() =>
      refusedIngest('SELECT id::float8 AS y, 1.0::float8 AS x FROM registry.audit_log'),
    );
    expect(refusal.problems).toEqual([refusedByReader('permission denied for schema registry')]);
  });

  it('refuses pg_read_file', async () => {
    const refusal = await unchangedBy(() =>
      refusedIngest("SELECT length(pg_read_file('/etc/hostname'))::float8 AS y, 1.0::float8 AS x"),
    );
    expect(refusal.problems).toEqual([refusedByReader('permission denied for function pg_read_file')]);
  });

  /** Queries whose columns fit the spec, so they pass the zero-row check and run at the first FETCH. */
  const readerRefusal = (message: string) =>
    `Cannot read the sql query: PostgreSQL says "${message}" (SQLSTATE 42501); spec SQL runs as a reader that may ` +
    "only read the data schemas (KERF_SPEC_SCHEMAS), not Kerf's own tables nor administrators' functions: read " +
    'a table of the shop or an imported one, or have an administrator grant SELECT on it to kerf_reader.';

  it('refuses a write through nextval() on a shop sequence', async () => {
    const refusal = await unchangedBy(() =>
      refusedIngest(
        "SELECT nextval('shop.generation_runs_run_id_seq')::float8 AS y, 1.0::float8 AS x FROM shop.jobs",
      ),
    );
    expect(refusal.message).toBe(readerRefusal('permission denied for sequence generation_runs_run_id_seq'));
  });

  it('refuses set_config that would take the owner role', async () => {
    const refusal = await unchangedBy(() =>
      refusedIngest(
        "SELECT 1.0::float8 AS y, length(set_config('role', 'kerf_owner', false))::float8 AS x FROM shop.jobs",
      ),
    );
    expect(refusal.message).toBe(readerRefusal('permission denied to set role "kerf_owner"'));
  });

  it('refuses set_config that would make the transaction writable', async () => {
    const refusal = await unchangedBy(() =>
      refusedIngest(
        "SELECT 1.0::float8 AS y, length(set_config('transaction_read_only', 'off', true))::float8 AS x FROM shop.jobs",
      ),
    );
    expect(refusal.message).toBe(
      'Cannot read the sql query: PostgreSQL says "transaction read-write mode must be set before any query" ' +
        '(SQLSTATE 25001); fix source.query or the data and run again.',
    );
  });

  it('refuses pg_terminate_backend on another role’s session, which lives on', async () => {
    const { rows } = await admin.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const pid = rows[0]?.pid;
    const refusal = await unchangedBy(() =>
      refusedIngest(`SELECT pg_terminate_backend(${pid})::int::float8 AS y, 1.0::float8 AS x FROM shop.jobs`),
    );
    expect(refusal.message).toBe(readerRefusal('permission denied to terminate process'));
    expect((await admin.query('SELECT 1 AS alive')).rows).toEqual([{ alive: 1 }]);
  });

  it('stops a long pg_sleep with the statement timeout', async () => {
    const refusal = await unchangedBy(() =>
      refusedIngest('SELECT (pg_sleep(600) IS NULL)::int::float8 AS y, 1.0::float8 AS x FROM shop.jobs'),
    );
    expect(refusal.message).toBe(
      'Cannot read the sql query: PostgreSQL says "canceling statement due to statement timeout" (SQLSTATE 57014); ' +
        'make it faster (an index, fewer joins, a view) or raise KERF_SPEC_SQL_TIMEOUT_SECONDS.',
    );
  });
});
