/**
 * Retention on the real stack. The prediction log is partitioned by month (existing rows moved by the
 * migration, months made ahead, a DEFAULT partition); months older than the retention go with
 * `kerf gc`, newer rows and their outcomes stay and the monitoring queries still read them. Garbage
 * collection removes exactly the objects of versions rejected, superseded or failed longer ago than
 * KERF_GC_AFTER_DAYS, never those of an approved version nor a snapshot a kept version shares; it
 * runs in the nightly check (durably) and from `kerf gc`, only for operators, audited, and a second
 * dry run finds nothing. Rollback, serving and the card then say the version was collected.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, copyFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addUser, authenticateKey, rollbackProductionAs } from '../../access';
import { loadOrCreateSigningKey } from '../../lifecycle/signing';
import { applyMigrations } from '../../platform/migrations';
import { migrationsDir } from '../../platform/paths';
import { appendAudit, recordEvaluation, RegistryError, resolveVersion, setStatus } from '../../registry';
import { artifactKeys } from '../../registry/artifactKeys';
import { maintainPredictionPartitions } from '../../serving/predictionPartitions';
import type { RunningServing } from '../../serving';
import type { nightlyEvaluation } from '../../workflows/nightlyEvaluation';
import { createOwnDatabase, runKerf, uniqueName } from '../helpers';
import { createLifecycleTestbed, type LifecycleTestbed } from '../lifecycleTestbed';
import {
  answerOf,
  inputRows,
  modelName,
  registerVersion,
  SERVING_TOKEN,
  type ServingWorld,
  startWorldServing,
} from '../servingFixtures';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
/** The snapshot `registerVersion` records for every version it makes. */
const FIXTURE_SNAPSHOT = sha256('cut-rows-1500-11');
const RETENTION = { KERF_GC_AFTER_DAYS: '30', KERF_PREDICTION_RETENTION_MONTHS: '12' };

let bed: LifecycleTestbed;
let world: ServingWorld;
let serving: RunningServing;
/** Served, with production v1; v2 rejected 40 days ago, with data of its own. */
const served = modelName('ret-served');
/** v1 approved (not deployed); v2 superseded 40 days ago on v1's data; v3 rejected 45 days ago with
 * data and built features of its own; v4 rejected 2 days ago. */
const mixed = modelName('ret-mixed');
/** v1 failed 40 days ago: the nightly check collects it. */
const failed = modelName('ret-failed');
const models = [served, mixed, failed];
let lineOperatorKey = '';

const snapshotKey = (model: string, hash: string) => `snapshots/${model}/${hash}.arrow`;
const recordKey = (model: string, hash: string) => `snapshots/${model}/${hash}.json`;
const featuresKey = (model: string, hash: string) => `features/${model}/${hash}.arrow`;

async function putSnapshot(model: string, hash: string): Promise<void> {
  await world.objectStore.put(snapshotKey(model, hash), `arrow bytes of ${hash}`);
  await world.objectStore.put(recordKey(model, hash), JSON.stringify({ sha256: hash, rows: 3 }));
}

/** A version that ended rejected or failed `daysAgo` days ago, with objects of its own. */
async function closedVersion(
  model: string,
  options: {
    status: 'rejected' | 'failed';
    daysAgo: number;
    snapshotHash: string;
    superseded?: boolean;
    featureTable?: string;
  },
): Promise<number> {
  const pool = bed.db.pool;
  const hash = sha256(uniqueName(model));
  const { version: record } = await resolveVersion(pool, {
    model,
    task: 'regression',
    specHash: hash,
    modelHash: hash,
    snapshotHash: options.snapshotHash,
    runId: uniqueName('run'),
    params: {},
    codeVersion: 'retention-test',
  });
  const version = record.version;
  const keys = artifactKeys(model, version);
  await world.objectStore.put(keys.onnx, `onnx of ${model} v${version}`);
  await world.objectStore.put(keys.training, '{"iterations": 10}', 'application/json');
  if (options.featureTable !== undefined) {
    await world.objectStore.put(
      keys.manifest,
      JSON.stringify({ featureBuild: { table: { key: options.featureTable } } }),
      'application/json',
    );
    await world.objectStore.put(keys.card, '<html>card</html>', 'text/html; charset=utf-8');
    await recordEvaluation(pool, model, version, {
      metrics: { rmse: 9 },
      gateVerdicts: [{ gate: 'quality', passed: false, checks: [] }],
      artifacts: { onnxKey: keys.onnx, manifestKey: keys.manifest, cardKey: keys.card },
    });
  }
  await setStatus(pool, { model, version, status: options.status, actor: 'run:test', reason: 'test' });
  if (options.superseded) {
    await appendAudit(pool, { actor: 'run:test', action: 'candidate-superseded', model, version });
  }
  await bed.db.ownerPool.query(
    `UPDATE registry.versions SET status_changed_at = now() - make_interval(days => $3)
      WHERE model = $1 AND version = $2`,
    [model, version, options.daysAgo],
  );
  return version;
}

async function keysUnder(prefixes: string[]): Promise<string[]> {
  const keys: string[] = [];
  for (const prefix of prefixes)
    keys.push(...(await world.objectStore.list(prefix)).map((object) => object.key));
  return keys.sort();
}

const everyPrefix = () =>
  models.flatMap((model) => [`models/${model}/`, `snapshots/${model}/`, `features/${model}/`]);

function gc(person: string, args: string[]) {
  return runKerf(['gc', ...args], { ...bed.db.env, ...RETENTION, KERF_KEY: bed.keys[person] ?? '' });
}

/** The objects a `kerf gc` run lists: `[model, version, key]`. */
function listed(stdout: string, verb: 'would remove' | 'removed'): [string, string, string][] {
  const pattern = new RegExp(`^${verb} (\\S+) (v\\d+|\\(no version\\)) (\\S+) \\(\\d+ bytes\\): .+$`);
  return stdout
    .split('\n')
    .flatMap((line) => {
      const match = pattern.exec(line);
      return match ? [[match[1] ?? '', match[2] ?? '', match[3] ?? ''] as [string, string, string]] : [];
    })
    .sort((a, b) => a[2].localeCompare(b[2]));
}

const mixedSnapshots = {
  shared: FIXTURE_SNAPSHOT,
  own: sha256(`${mixed}-own`),
  recent: sha256(`${mixed}-recent`),
};
const mixedFeatures = sha256(`${mixed}-features`);
const servedRejectedSnapshot = sha256(`${served}-v2`);
const failedSnapshot = sha256(`${failed}-v1`);

beforeAll(async () => {
  bed = await createLifecycleTestbed('retention', { jobs: 300, seed: 5 }, RETENTION);
  world = {
    db: bed.db,
    objectStore: bed.store,
    // The testbed's worker key, which it trusted: serving verifies what registerVersion signs.
    signingKey: await loadOrCreateSigningKey(bed.config.signing),
    modelSigningKey: undefined as never,
    close: () => Promise.resolve(),
  };
  await registerVersion(world, { model: served, iterations: 20, alias: 'production' });
  await putSnapshot(served, FIXTURE_SNAPSHOT);
  await putSnapshot(served, servedRejectedSnapshot);
  await closedVersion(served, { status: 'rejected', daysAgo: 40, snapshotHash: servedRejectedSnapshot });

  await registerVersion(world, { model: mixed, iterations: 20 });
  for (const hash of Object.values(mixedSnapshots)) await putSnapshot(mixed, hash);
  await world.objectStore.put(featuresKey(mixed, mixedFeatures), 'built features');
  await closedVersion(mixed, {
    status: 'rejected',
    daysAgo: 40,
    snapshotHash: mixedSnapshots.shared,
    superseded: true,
  });
  await closedVersion(mixed, {
    status: 'rejected',
    daysAgo: 45,
    snapshotHash: mixedSnapshots.own,
    featureTable: featuresKey(mixed, mixedFeatures),
  });
  await closedVersion(mixed, { status: 'rejected', daysAgo: 2, snapshotHash: mixedSnapshots.recent });

  await putSnapshot(failed, failedSnapshot);
  await closedVersion(failed, { status: 'failed', daysAgo: 40, snapshotHash: failedSnapshot });

  const admin = await authenticateKey(bed.db.pool, bed.keys['kerf-admin'] ?? '');
  lineOperatorKey = (
    await addUser(bed.db.pool, { name: 'line-operator', roles: ['operator'], models: [served] }, admin)
  ).key;
  serving = await startWorldServing(world, { predictionLog: { flushIntervalMs: 100 } });
}, 240_000);

afterAll(async () => {
  await serving.close();
  for (const key of await keysUnder(everyPrefix())) await world.objectStore.delete(key);
  await bed.close();
});

describe('the partitioned prediction log', () => {
  it('moves the rows a database already had into their months, and the outcomes still join them', async () => {
    const db = await createOwnDatabase('retention_move', { migrate: false });
    const before = await mkdtemp(path.join(os.tmpdir(), 'kerf-migrations-'));
    try {
      for (const file of await readdir(migrationsDir)) {
        if (file < '000016') await copyFile(path.join(migrationsDir, file), path.join(before, file));
      }
      await applyMigrations(db.ownerPool, before);
      await db.pool.query("INSERT INTO registry.models (name, task) VALUES ('old-log', 'regression')");
      await db.pool.query(
        `INSERT INTO serving.predictions (prediction_id, model, version, alias, key, inputs, output, served_at)
         SELECT gen_random_uuid(), 'old-log', 1, 'production', 'job-' || day, '{}', '{"value": 1}',
                now() - make_interval(days => day)
           FROM generate_series(0, 120, 10) AS day`,
      );
      await db.pool.query(
        "INSERT INTO serving.outcomes (model, key, actual_value) VALUES ('old-log', 'job-60', 2), ('old-log', 'job-0', 3)",
      );
      expect((await applyMigrations(db.ownerPool, migrationsDir)).applied).toEqual([
        '000016_prediction_retention',
      ]);
      const { rows } = await db.pool.query<{ partition: string; rows: number }>(
        `SELECT tableoid::regclass::text AS partition, count(*)::int AS rows FROM serving.predictions
          GROUP BY 1 ORDER BY 1`,
      );
      expect(rows.reduce((sum, row) => sum + row.rows, 0)).toBe(13);
      expect(rows.every((row) => /^serving\.predictions_\d{4}_\d{2}$/.test(row.partition))).toBe(true);
      const labelled = await db.pool.query<{ key: string }>(
        "SELECT key FROM serving.labelled_predictions WHERE model = 'old-log' ORDER BY key",
      );
      expect(labelled.rows.map((row) => row.key)).toEqual(['job-0', 'job-60']);
    } finally {
      await rm(before, { recursive: true, force: true });
      await db.drop();
    }
  });

  it('has this month and three ahead, a DEFAULT partition, and the grants it had', async () => {
    const { rows } = await bed.db.pool.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'serving.predictions'::regclass ORDER BY 1`,
    );
    const months = [0, 1, 2, 3].map((ahead) => {
      const now = new Date();
      const month = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + ahead, 1));
      return `predictions_${month.toISOString().slice(0, 7).replace('-', '_')}`;
    });
    expect(rows.map((row) => row.name)).toEqual(expect.arrayContaining([...months, 'predictions_default']));
    const grants = await bed.db.pool.query<Record<string, boolean>>(
      `SELECT has_table_privilege('kerf_app', 'serving.predictions', 'INSERT') AS app_inserts,
              has_table_privilege('kerf_app', 'serving.predictions', 'SELECT') AS app_reads,
              has_table_privilege('kerf_app', 'serving.predictions', 'DELETE') AS app_deletes,
              has_table_privilege('kerf_app', 'serving.labelled_predictions', 'SELECT') AS app_reads_labelled,
              has_table_privilege('kerf_app', 'serving.predictions_default', 'SELECT') AS app_reads_partition,
              has_schema_privilege('kerf_reader', 'serving', 'USAGE') AS reader_sees_serving`,
    );
    expect(grants.rows[0]).toEqual({
      app_inserts: true,
      app_reads: true,
      app_deletes: false,
      app_reads_labelled: true,
      app_reads_partition: false,
      reader_sees_serving: false,
    });
    // The application role keeps the partitions only through the maintenance function.
    const drop = await bed.db.pool.query('DROP TABLE serving.predictions_default').then(
      () => 'dropped',
      (error: unknown) => (error as Error).message,
    );
    expect(drop).toBe('must be owner of table predictions_default');
  });
});

describe('the nightly check', () => {
  it("collects the model's failed version durably, as run:<workflow id>", async () => {
    const workflowId = `nightly-${failed}-${uniqueName('night')}`;
    const result = await bed.client.workflow.execute<typeof nightlyEvaluation>('nightlyEvaluation', {
      taskQueue: bed.taskQueue,
      workflowId,
      args: [{ model: failed, retrain: false }],
      workflowExecutionTimeout: '2 minutes',
    });
    await bed.keepHistory({ workflowId }, 'nightly-retention');
    expect(result.version).toBeNull();
    expect(result.retention).toMatchObject({ versions: [1], partitionsDropped: [], rowsExpired: 0 });
    expect(result.retention?.refused).toBeUndefined();
    // The version's two objects and its snapshot; the snapshot's record stays.
    expect(result.retention?.objects).toBe(3);
    expect(await keysUnder([`models/${failed}/`, `snapshots/${failed}/`])).toEqual([
      recordKey(failed, failedSnapshot),
    ]);
    const audit = await bed.db.pool.query<{ actor: string; details: { keys: string[]; why: string } }>(
      "SELECT actor, details FROM registry.audit_log WHERE model = $1 AND action = 'version-collected'",
      [failed],
    );
    expect(audit.rows).toHaveLength(1);
    expect(audit.rows[0]?.actor).toBe(`run:${workflowId}`);
    expect(audit.rows[0]?.details.why).toBe('v1 failed 40 days ago (more than 30)');
    expect(audit.rows[0]?.details.keys.sort()).toEqual(
      [
        artifactKeys(failed, 1).onnx,
        artifactKeys(failed, 1).training,
        snapshotKey(failed, failedSnapshot),
      ].sort(),
    );
  });
});

describe('kerf gc', () => {
  let servedRows: number;

  it('is refused, audited, to a reader and to an operator of some models only', async () => {
    const before = await keysUnder(everyPrefix());
    const reader = await gc('intern', []);
    expect({ code: reader.code, stderr: reader.stderr }).toEqual({
      code: 1,
      stderr: 'kerf: refused: user intern has roles reader, not operator: only an operator may collect\n',
    });
    const env = { ...bed.db.env, ...RETENTION, KERF_KEY: lineOperatorKey };
    const everything = await runKerf(['gc'], env);
    expect(everything.code).toBe(1);
    expect(everything.stderr).toMatch(
      /^kerf: refused: user line-operator is an operator of ret-served-\w+, not of every model \(\*\): .*--model\n$/,
    );
    const other = await runKerf(['gc', '--model', mixed], env);
    expect(other.stderr).toBe(
      `kerf: refused: user line-operator is a operator of ${served}, not of ${mixed}\n`,
    );
    for (const outcome of [reader, everything, other]) expect(outcome.stderr).not.toMatch(/\n\s+at /);
    const refusals = await bed.db.pool.query<{ actor: string; details: { reason: string; model?: string } }>(
      "SELECT actor, details FROM registry.audit_log WHERE action = 'gc-refused' ORDER BY id",
    );
    expect(refusals.rows.map((row) => [row.actor, row.details.model ?? null])).toEqual([
      ['intern', null],
      ['line-operator', null],
      ['line-operator', mixed],
    ]);
    expect(await keysUnder(everyPrefix())).toEqual(before);
  });

  it("--dry-run lists exactly the old partitions and the old rejected versions' unshared objects", async () => {
    const rows = inputRows(30, 5);
    const keys = rows.map((_, index) => `job-${index}`);
    const answer = await answerOf(
      await fetch(`${serving.url}/v1/models/${served}/predict`, {
        method: 'POST',
        headers: { authorization: `Bearer ${SERVING_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ rows, keys }),
      }),
    );
    expect(answer.status).toBe(200);
    await serving.predictionLog.flush();
    const outcomes = await answerOf(
      await fetch(`${serving.url}/v1/outcomes`, {
        method: 'POST',
        headers: { authorization: `Bearer ${SERVING_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          model: served,
          outcomes: keys.slice(0, 10).map((key, index) => ({ key, actual: 10 + index })),
        }),
      }),
    );
    expect(outcomes.status).toBe(200);
    // Rows of long ago (as a log kept for years has them), and of two months ago.
    await bed.db.pool.query(
      `INSERT INTO serving.predictions (prediction_id, model, version, alias, key, inputs, output, served_at)
       SELECT gen_random_uuid(), $1, 1, 'production', 'old-' || months || '-' || n, '{}', '{"value": 5}',
              now() - make_interval(months => months)
         FROM (VALUES (14, 5), (13, 4), (2, 3)) AS ages (months, count), generate_series(1, count) AS n`,
      [served],
    );
    await bed.db.pool.query(
      `INSERT INTO serving.outcomes (model, key, actual_value) VALUES ($1, 'old-14-1', 1), ($1, 'old-2-1', 2)`,
      [served],
    );
    // They landed in the DEFAULT partition; maintenance moves them into months of their own.
    const made = await maintainPredictionPartitions(bed.db.pool, {
      retentionMonths: null,
      actor: 'test',
      dryRun: false,
    });
    expect(made.map((action) => [action.action, action.rows])).toEqual([
      ['create', 5],
      ['create', 4],
      ['create', 3],
    ]);
    const month = async (monthsAgo: number) =>
      (
        await bed.db.pool.query<{ name: string }>(
          `SELECT 'predictions_' || to_char(date_trunc('month', (now() - make_interval(months => $1)) AT TIME ZONE 'UTC'), 'YYYY_MM') AS name`,
          [monthsAgo],
        )
      ).rows[0]?.name ?? '';
    expect(made.map((action) => action.partition)).toEqual([
      await month(14),
      await month(13),
      await month(2),
    ]);
    servedRows = await countPredictions();
    expect(servedRows).toBe(42);

    const dry = await gc('intern', ['--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stderr).toBe('');
    const lines = dry.stdout.trim().split('\n');
    expect(lines.filter((line) => line.startsWith('would drop '))).toEqual([
      `would drop serving.${await month(14)} (${(await month(14)).slice(12).replace('_', '-')}, 5 rows): the whole month is older than 12 months`,
      `would drop serving.${await month(13)} (${(await month(13)).slice(12).replace('_', '-')}, 4 rows): the whole month is older than 12 months`,
    ]);
    expect(listed(dry.stdout, 'would remove')).toEqual(
      [
        [mixed, 'v2', artifactKeys(mixed, 2).onnx],
        [mixed, 'v2', artifactKeys(mixed, 2).training],
        [mixed, 'v3', artifactKeys(mixed, 3).card],
        [mixed, 'v3', artifactKeys(mixed, 3).manifest],
        [mixed, 'v3', artifactKeys(mixed, 3).onnx],
        [mixed, 'v3', artifactKeys(mixed, 3).training],
        [mixed, 'v3', featuresKey(mixed, mixedFeatures)],
        [mixed, 'v3', snapshotKey(mixed, mixedSnapshots.own)],
        [served, 'v2', artifactKeys(served, 2).onnx],
        [served, 'v2', artifactKeys(served, 2).training],
        [served, 'v2', snapshotKey(served, servedRejectedSnapshot)],
      ].sort((a, b) => (a[2] ?? '').localeCompare(b[2] ?? '')),
    );
    expect(lines).toContain(
      `kept ${mixed} v2 ${snapshotKey(mixed, FIXTURE_SNAPSHOT)}: snapshot of v2 kept: v1 uses it too`,
    );
    expect(lines).toContain(`kept ${mixed} v4: v4 rejected 2 days ago: kept 28 more days (it goes after 30)`);
    expect(lines.at(-1)).toMatch(
      /^would remove 11 objects \([^)]+\) of 3 versions; would drop 2 prediction partitions \(predictions kept 12 months, rejected and failed versions 30 days\)$/,
    );
    expect(lines.find((line) => line.includes(`${mixed} v2 `) && line.startsWith('would remove'))).toMatch(
      /: v2 superseded 40 days ago \(more than 30\)$/,
    );
    // A dry run changes nothing.
    expect(await countPredictions()).toBe(servedRows);
    expect(await keysUnder([artifactKeys(mixed, 3).onnx])).toEqual([artifactKeys(mixed, 3).onnx]);
  });

  it('removes them, audited and recorded; newer rows, outcomes and monitoring stay; a second dry run finds nothing', async () => {
    const run = await gc('shop-manager', []);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(listed(run.stdout, 'removed')).toHaveLength(11);
    expect(run.stdout).toMatch(/^removed 11 objects \(.+\) of 3 versions; dropped 2 prediction partitions /m);

    const left = await keysUnder(everyPrefix());
    const collected = listed(run.stdout, 'removed').map((entry) => entry[2]);
    expect(left.filter((key) => collected.includes(key))).toEqual([]);
    // The approved versions, the shared snapshot, the recent rejection and every record stay.
    expect(left).toEqual(
      expect.arrayContaining([
        artifactKeys(served, 1).onnx,
        artifactKeys(mixed, 1).onnx,
        artifactKeys(mixed, 1).card,
        snapshotKey(mixed, FIXTURE_SNAPSHOT),
        snapshotKey(mixed, mixedSnapshots.recent),
        artifactKeys(mixed, 4).onnx,
        recordKey(mixed, mixedSnapshots.own),
        recordKey(served, servedRejectedSnapshot),
      ]),
    );

    const audit = await bed.db.pool.query<{ actor: string; model: string; version: number; objects: number }>(
      `SELECT actor, model, version, (details ->> 'objects')::int AS objects FROM registry.audit_log
        WHERE action = 'version-collected' AND model = ANY($1) ORDER BY model, version`,
      [[served, mixed]],
    );
    expect(audit.rows).toEqual(
      [
        { actor: 'shop-manager', model: mixed, version: 2, objects: 2 },
        { actor: 'shop-manager', model: mixed, version: 3, objects: 6 },
        { actor: 'shop-manager', model: served, version: 2, objects: 3 },
      ].sort((a, b) => a.model.localeCompare(b.model) || a.version - b.version),
    );
    const recorded = await bed.db.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM registry.collected_objects WHERE model = ANY($1)',
      [[served, mixed]],
    );
    expect(recorded.rows[0]?.n).toBe(11);
    const drops = await bed.db.pool.query<{ rows: number }>(
      `SELECT (details ->> 'rows')::int AS rows FROM registry.audit_log
        WHERE action = 'prediction-partition-dropped' AND actor = 'shop-manager' ORDER BY id`,
    );
    expect(drops.rows).toEqual([{ rows: 5 }, { rows: 4 }]);

    // The prediction log: the old months gone, the two-month-old rows and today's kept.
    expect(await countPredictions()).toBe(servedRows - 9);
    const old = await bed.db.pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM serving.predictions WHERE model = $1 AND key LIKE 'old-1_-%'",
      [served],
    );
    expect(old.rows[0]?.n).toBe(0);
    // Outcomes still join what is kept (the one of a dropped month has nothing left to join).
    const labelled = await bed.db.pool.query<{ key: string }>(
      'SELECT key FROM serving.labelled_predictions WHERE model = $1 ORDER BY key',
      [served],
    );
    expect(labelled.rows.map((row) => row.key)).toEqual([
      ...Array.from({ length: 10 }, (_, index) => `job-${index}`).sort(),
      'old-2-1',
    ]);
    // The nightly check's window queries (activities/monitoring/monitor.ts) read today's rows.
    const window = await bed.db.pool.query<{ served: number; labelled: number }>(
      `SELECT (SELECT count(*)::int FROM serving.predictions
                WHERE model = $1 AND version = 1 AND alias = 'production' AND served_at > now() - interval '1 day') AS served,
              (SELECT count(*)::int FROM serving.labelled_predictions
                WHERE model = $1 AND version = 1 AND alias = 'production' AND served_at > now() - interval '1 day') AS labelled`,
      [served],
    );
    expect(window.rows[0]).toEqual({ served: 30, labelled: 10 });

    const again = await gc('shop-manager', ['--dry-run']);
    expect(listed(again.stdout, 'would remove')).toEqual([]);
    expect(again.stdout).toMatch(
      /^would remove 0 objects \(0 B\) of 0 versions; would drop 0 prediction partitions /m,
    );
  });

  it('leaves rollback, serving and the card saying the version was collected', async () => {
    const card = await runKerf(
      ['card', mixed, '3', '--out', path.join(os.tmpdir(), `${uniqueName('card')}.html`)],
      {
        ...bed.db.env,
      },
    );
    expect(card.code).toBe(1);
    expect(card.stderr).toMatch(
      new RegExp(
        `^kerf: ${mixed} v3 was collected by garbage collection on \\d{4}-\\d{2}-\\d{2} \\(by shop-manager: v3 rejected 45 days ago \\(more than 30\\)\\); its 6 objects are gone from the store: its card went with them`,
      ),
    );
    const api = await answerOf(
      await fetch(`${serving.url}/v1/models/${mixed}/versions/3/card`, {
        headers: { authorization: `Bearer ${SERVING_TOKEN}` },
      }),
    );
    expect(api.status).toBe(410);
    expect(api.json.error).toBe('version-collected');
    expect(String(api.json.message)).toContain(`${mixed} v3 was collected by garbage collection`);
    const manager = await authenticateKey(bed.db.pool, bed.keys['shop-manager'] ?? '');
    const refusal = await rollbackProductionAs(bed.db.pool, manager, {
      model: served,
      to: 2,
      reason: 'back to the old one',
    }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(RegistryError);
    expect((refusal as RegistryError).message).toContain(
      `; ${served} v2 was collected by garbage collection on `,
    );
    const audited = await bed.db.pool.query<{ reason: string }>(
      "SELECT details ->> 'reason' AS reason FROM registry.audit_log WHERE action = 'rollback-refused' AND model = $1",
      [served],
    );
    expect(audited.rows[0]?.reason).toContain('was collected by garbage collection');
  });
});

async function countPredictions(): Promise<number> {
  const { rows } = await bed.db.pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM serving.predictions WHERE model = $1',
    [served],
  );
  return rows[0]?.n ?? 0;
}
