/**
 * The query of a batch scoring is hostile text, from `kerf score` or from anyone who can start the
 * workflow. Queries that write, smuggle a second statement past the lexical check, or read Kerf's
 * own tables (the registry, the scoring results) are refused with the reason, audited, and leave the
 * database as it was: no result table, no staged rows, no changed row (but the audit row).
 */
import { Client, type Connection, WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectTemporalClient } from '../../platform/temporalConnection';
import { startBatchScoring } from '../../workflows/client/batchScoringRuns';
import { createKerfWorker, type KerfWorker } from '../../workers/kerfWorker';
import { runKerf, testConfig, uniqueName } from '../helpers';
import { addTestPeople } from '../lifecycleTestbed';
import { createServingWorld, modelName, registerVersion, type ServingWorld } from '../servingFixtures';
import { trustWorkerSigningKey } from '../trustedKeys';
import { type DatabaseFingerprint, fingerprint } from './unchanged';

const model = modelName('sec-batch');
const taskQueue = uniqueName('sec_batch');
const source = uniqueName('parts');
const COLUMNS = 'part_id, thickness_mm, cut_length_mm, material_family, machine_id';

let world: ServingWorld;
let worker: KerfWorker;
let running: Promise<void>;
let connection: Connection;
let client: Client;
let people: Record<string, string>;
let config: ReturnType<typeof testConfig>;

beforeAll(async () => {
  world = await createServingWorld('sec_batch');
  await registerVersion(world, { model, iterations: 10, alias: 'production' });
  await world.db.ownerPool.query(
    `CREATE TABLE imported.${source} AS
     SELECT g AS part_id, 2.0::float8 AS thickness_mm, (100 * g)::float8 AS cut_length_mm,
            'mild_steel'::text AS material_family, 'LAS-1'::text AS machine_id
       FROM generate_series(1, 100) AS g`,
  );
  config = testConfig({ ...world.db.env, TEMPORAL_TASK_QUEUE: taskQueue });
  await trustWorkerSigningKey(world.db.ownerPool, config);
  people = await addTestPeople(world.db.pool);
  worker = await createKerfWorker(config, { taskQueue });
  running = worker.run();
  connection = await connectTemporalClient(config.temporal);
  client = new Client({ connection, namespace: config.temporal.namespace });
}, 240_000);

afterAll(async () => {
  await worker.shutdown();
  await running.catch(() => undefined);
  await connection.close();
  await world.close();
});

/**
 * The fingerprint without the audit log and its chain's head, which gain the refusal's row, and
 * (for a person's command) without the keys' table, where logging in notes when a key was used.
 */
function withoutAudit(print: DatabaseFingerprint, options: { loggedIn?: boolean } = {}): DatabaseFingerprint {
  const tables = { ...print.tables };
  delete tables['registry.audit_log'];
  delete tables['registry.audit_chain_head'];
  if (options.loggedIn) delete tables['access.user_keys'];
  const sequences = { ...print.sequences };
  delete sequences['registry.audit_log_id_seq'];
  return { ...print, tables, sequences };
}

/** The refusals audited since `afterId`: who, and the reason. */
async function refusalsAfter(
  afterId: number,
): Promise<{ actor: string; details: Record<string, unknown> }[]> {
  const { rows } = await world.db.pool.query<{ actor: string; details: Record<string, unknown> }>(
    "SELECT actor, details FROM registry.audit_log WHERE action = 'batch-scoring-refused' AND id > $1 ORDER BY id",
    [afterId],
  );
  return rows;
}

async function lastAuditId(): Promise<number> {
  const { rows } = await world.db.pool.query<{ id: string | null }>(
    'SELECT max(id) AS id FROM registry.audit_log',
  );
  return Number(rows[0]?.id ?? 0);
}

/** Starts a run with `query` (as anyone reaching Temporal could) and returns why it failed. */
async function refusedRun(query: string, into: string): Promise<string> {
  const before = withoutAudit(await fingerprint(world.db.adminUrl));
  const auditedFrom = await lastAuditId();
  const handle = await startBatchScoring(
    client,
    config,
    { model, query, into, startedBy: 'mallory' },
    { taskQueue },
  );
  const failure = await handle.result().then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(failure).toBeInstanceOf(WorkflowFailedError);
  const cause = (failure as WorkflowFailedError).cause;
  const message = cause?.cause instanceof Error ? cause.cause.message : (cause?.message ?? '');
  // Nothing written: no table made, no row changed, and the refusal audited with its reason.
  expect(withoutAudit(await fingerprint(world.db.adminUrl))).toEqual(before);
  if (!into.includes('.')) {
    const { rows } = await world.db.pool.query<{ found: string | null }>('SELECT to_regclass($1) AS found', [
      `scoring.${into}`,
    ]);
    expect(rows).toEqual([{ found: null }]);
  }
  expect(await refusalsAfter(auditedFrom)).toEqual([
    {
      actor: `run:${handle.workflowId}`,
      details: { model, stage: 'plan', message, runId: handle.workflowId },
    },
  ]);
  return message;
}

const SEVERAL_STATEMENTS =
  'query: PostgreSQL refused it (cannot insert multiple commands into a prepared statement): it must be one SELECT statement: remove the ";" and what follows';
const READER_ONLY =
  "a scoring query runs as the spec reader, which reads the shop's and imported tables (KERF_SPEC_SCHEMAS), never Kerf's own (registry, serving, monitoring, access, scoring)";

/** Payloads that end the read-only transaction and write, each hidden from the lexical check. */
const smuggled = {
  stringQuoting: `SELECT E'\\'' AS a) AS s; COMMIT; UPDATE imported.${source} SET cut_length_mm = 0; SELECT * FROM (SELECT 'x' AS b`,
  dollarQuoting:
    'SELECT 1 AS a$$) AS s; COMMIT; CREATE TABLE imported.pwned (id int); SELECT * FROM (SELECT 1 AS b$$',
  copyToProgram:
    "SELECT E'\\'' AS a) s; COMMIT; COPY (SELECT 1) TO PROGRAM 'touch /tmp/kerf-pwned'; SELECT * FROM (SELECT 'x' AS b",
  auditForgery:
    "SELECT E'\\'' AS a) s; ROLLBACK; INSERT INTO registry.audit_log (actor, action) VALUES ('mallory', " +
    "'batch-scored'); SELECT * FROM (SELECT 'x' AS b",
} as const;

describe('a batch scoring query', () => {
  for (const [name, query] of Object.entries(smuggled)) {
    it(`with a second statement smuggled in by ${name} is refused and changes nothing`, async () => {
      expect(await refusedRun(query, `smuggled_${name.toLowerCase()}`)).toBe(SEVERAL_STATEMENTS);
    }, 60_000);
  }

  it("reading the registry is refused: the reader may not read Kerf's own tables", async () => {
    const query = `SELECT v.version AS part_id, 1.0::float8 AS thickness_mm, 1.0::float8 AS cut_length_mm,
                          v.model AS material_family, v.status AS machine_id FROM registry.versions v`;
    expect(await refusedRun(query, 'registry_read')).toBe(
      `query: PostgreSQL refused it (permission denied for schema registry): ${READER_ONLY}`,
    );
  }, 60_000);

  it('reading earlier scoring results is refused too', async () => {
    const query = `SELECT run AS part_id, prediction AS thickness_mm, 1.0::float8 AS cut_length_mm,
                          'x' AS material_family, 'y' AS machine_id FROM scoring.anything`;
    expect(await refusedRun(query, 'results_read')).toBe(
      `query: PostgreSQL refused it (permission denied for schema scoring): ${READER_ONLY}`,
    );
  }, 60_000);

  it('that writes is refused before it reaches PostgreSQL, on every path', async () => {
    // Started directly, past the CLI.
    expect(
      await refusedRun(
        `UPDATE imported.${source} SET cut_length_mm = 0 RETURNING ${COLUMNS}`,
        'direct_write',
      ),
    ).toBe('query: must be a SELECT (or WITH ... SELECT) query, not UPDATE');
    expect(
      await refusedRun(
        `WITH gone AS (DELETE FROM imported.${source} RETURNING ${COLUMNS}) SELECT * FROM gone`,
        'cte_write',
      ),
    ).toBe('query: must only read: it contains DELETE');
    // Through `kerf score`, as an operator: refused before a run starts, and audited.
    const before = withoutAudit(await fingerprint(world.db.adminUrl), { loggedIn: true });
    const auditedFrom = await lastAuditId();
    const outcome = await runKerf(
      [
        'score',
        model,
        '--query',
        `DELETE FROM imported.${source} RETURNING ${COLUMNS}`,
        '--into',
        'cli_write',
      ],
      { ...world.db.env, TEMPORAL_TASK_QUEUE: taskQueue, KERF_KEY: people['production-planner'] ?? '' },
    );
    expect({ code: outcome.code, stderr: outcome.stderr.trim(), stdout: outcome.stdout }).toEqual({
      code: 1,
      stderr: 'kerf: refused: query: must be a SELECT (or WITH ... SELECT) query, not DELETE',
      stdout: '',
    });
    expect(withoutAudit(await fingerprint(world.db.adminUrl), { loggedIn: true })).toEqual(before);
    expect(await refusalsAfter(auditedFrom)).toEqual([
      {
        actor: 'production-planner',
        details: {
          model,
          stage: 'cli',
          reason: 'query: must be a SELECT (or WITH ... SELECT) query, not DELETE',
          authenticatedBy: 'cli-key',
        },
      },
    ]);
  }, 120_000);

  it('into a table outside schema scoring is refused', async () => {
    expect(await refusedRun(`SELECT ${COLUMNS} FROM imported.${source}`, 'registry.versions')).toBe(
      'into: results are written to schema scoring only: give a name such as open_quote_prices (or scoring.open_quote_prices), not "registry.versions"',
    );
  }, 60_000);
});
