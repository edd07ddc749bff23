/**
 * The world of one `nightly` bench run on one Temporal server: a stack of its own (own data folder
 * and ports, everything embedded), `kerf worker` child processes, and deployed models made the way a
 * user makes them: a lifecycle per model, approved by an authorised approver with a one-time code,
 * then a month of served predictions with their outcomes for the nightly check to look at.
 */
import { derivedNames } from '../lifecycle/features/build';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Client } from '@temporalio/client';
import { addUser, authenticateKey, type Identity, issueDecisionCode, recordRunStarter } from '../access';
import { loadOrCreateSigningKey } from '../lifecycle/signing';
import { parsePipelineSpec, type PipelineSpec } from '../lifecycle/spec';
import { loadConfig, type KerfConfig } from '../platform/config';
import { createPool } from '../platform/database';
import { ObjectStore } from '../platform/objectStore';
import { defaultPaths, repoRoot } from '../platform/paths';
import { prepareStorage } from '../platform/prepare';
import { connectTemporalClient } from '../platform/temporalConnection';
import { trustSigningKey } from '../registry';
import { stackDown, stackUp } from '../scripts/stack/control';
import { buildServingApp, recordOutcomesFromQuery } from '../serving';
import { generateShop } from '../shop/load';
import { ownStackEnvironment } from '../test/helpers';
import { startWorkerProcess, type WorkerProcess } from '../test/lifecycleProcesses';
import {
  type LifecycleHandle,
  lifecycleStatus,
  lifecycleWorkflowId,
  startLifecycle,
  waitForStage,
} from '../workflows/client/lifecycleRuns';

export type TemporalServerKind = 'dev' | 'cluster';

/** One line of preparation progress on stderr (stdout carries only the JSON line). */
export const progress = (server: TemporalServerKind, line: string) =>
  console.error(`[nightly ${server}] ${line}`);

/** A stack of the bench's own, with its configuration and the environment its child processes get. */
export interface BenchStack {
  server: TemporalServerKind;
  config: KerfConfig;
  env: Record<string, string>;
  pool: ReturnType<typeof createPool>;
  client: Client;
  store: ObjectStore;
  workers: WorkerProcess[];
  /**
   * Stops the workers and the stack, and removes its data folder; `afterFailure` keeps the folder
   * (for its logs) and leaves the client connection to the process's exit.
   */
  stop(options?: { afterFailure?: boolean }): Promise<void>;
}

/**
 * Starts an embedded stack on free ports under `.data/bench-stacks/<name>`, prepares its storage,
 * and returns it with a client; the workers are started by `startWorkers`.
 */
export async function startBenchStack(server: TemporalServerKind, name: string): Promise<BenchStack> {
  const env = await ownStackEnvironment('bench-stacks', name, server);
  env.KERF_PIPELINES_DIR = path.join(env.KERF_DATA_DIR ?? '', 'pipelines');
  // Loading the configuration makes the stack's passwords under the (new, uniquely named) data folder.
  const config = loadConfig({ ...process.env, ...env }, defaultPaths);
  await mkdir(config.pipelinesDir, { recursive: true });
  const report = (line: string) => progress(server, `stack: ${line.trim()}`);
  const stopStack = async () => {
    await stackDown(config, () => undefined).catch((error: unknown) =>
      progress(server, `stack down failed: ${String(error)}`),
    );
  };
  try {
    await stackUp(config, report);
    await prepareStorage(config);
  } catch (error) {
    await stopStack();
    throw error;
  }
  const pool = createPool(config.postgres, { max: 8, applicationName: 'kerf bench nightly' });
  const store = ObjectStore.fromConfig(config.s3);
  const connection = await connectTemporalClient(config.temporal);
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const workers: WorkerProcess[] = [];
  return {
    server,
    config,
    env,
    pool,
    client,
    store,
    workers,
    async stop(options = {}) {
      await Promise.all(workers.map((worker) => worker.kill('SIGTERM')));
      // After a failure, polls of the failed stage may still be retrying: a closed connection would
      // turn their next retry into an uncaught error, so it is left to the process's exit.
      if (!options.afterFailure) await connection.close().catch(() => undefined);
      store.destroy();
      await pool.end().catch(() => undefined);
      await stopStack();
      if (!options.afterFailure) await rm(config.dataDir, { recursive: true, force: true });
    },
  };
}

/** Starts `count` `kerf worker --queues all` processes on the stack and waits until each polls. */
export async function startWorkers(stack: BenchStack, count: number): Promise<void> {
  const started = await Promise.all(
    Array.from({ length: count }, () =>
      startWorkerProcess(stack.env, { args: ['--queues', 'all'], timeoutMs: 120_000 }),
    ),
  );
  stack.workers.push(...started);
}

/** The people of the bench's database: a starter and an approver of every model. */
export interface BenchPeople {
  starter: Identity;
  approver: Identity;
}

async function addPeople(pool: BenchStack['pool']): Promise<BenchPeople> {
  const admin = await addUser(pool, { name: 'kerf-admin', roles: ['admin'], models: [] }, 'bootstrap');
  const byAdmin = await authenticateKey(pool, admin.key);
  const starter = await addUser(pool, { name: 'planner-bot', roles: ['starter'], models: [] }, byAdmin);
  const approver = await addUser(
    pool,
    { name: 'production-planner', roles: ['approver', 'operator'], models: ['*'] },
    byAdmin,
  );
  return {
    starter: await authenticateKey(pool, starter.key),
    approver: await authenticateKey(pool, approver.key),
  };
}

/** What the bench's models are and the data they learn from. */
export interface ModelsPlan {
  models: number;
  /** Jobs of the generated shop the models train on. */
  jobs: number;
  /** Jobs of the month after deploy, served through the API and booked with their outcomes. */
  servedJobs: number;
  /** Boosting rounds: few, so preparation is quick; the nightly check does not depend on them. */
  iterations: number;
}

/**
 * The shipped cut-time spec under `name`, with few rounds and a quality gate a small shop passes
 * (its shipped one asks for a shop of thousands of jobs); written to the pipelines folder, where
 * the nightly check compares it with production.
 */
async function benchSpec(config: KerfConfig, name: string, iterations: number): Promise<PipelineSpec> {
  const shipped = JSON.parse(await readFile(path.join(repoRoot, 'pipelines', 'cut-time.json'), 'utf8')) as {
    trainer: { params: Record<string, unknown> };
    gates: Record<string, unknown>;
  };
  const draft = {
    ...shipped,
    name,
    trainer: { ...shipped.trainer, params: { ...shipped.trainer.params, iterations } },
    gates: { ...shipped.gates, quality: { thresholds: [{ metric: 'mape', max: 0.9 }] } },
  };
  await writeFile(path.join(config.pipelinesDir, `${name}.json`), JSON.stringify(draft, null, 2));
  return parsePipelineSpec(draft);
}

/** Approves the run's candidate by Signal with a one-time code issued to the approver, as the Web UI does. */
async function approve(stack: BenchStack, handle: LifecycleHandle, approver: Identity): Promise<void> {
  const status = await lifecycleStatus(handle);
  if (status.version === undefined || !status.approval) {
    throw new Error(`run ${handle.workflowId} waits for approval without a version`);
  }
  const issued = await issueDecisionCode(stack.pool, {
    identity: approver,
    runId: handle.workflowId,
    model: status.pipeline,
    version: status.version,
    action: 'approve',
    expiresAt: new Date(status.approval.deadlineAt),
    authenticatedBy: 'approval-code',
  });
  await handle.signal('approve', { code: issued.code });
}

/** Runs `work` on every item, at most `limit` at once. */
async function eachLimited<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const item = items[next++] as T;
        await work(item);
      }
    }),
  );
}

/** What preparation left: the deployed models and how many predictions each served. */
export interface DeployedModels {
  names: string[];
  servedPerModel: number;
}

/**
 * What a shop's admin does before the workers start: the shop's data generated, the people added,
 * and the workers' signing key trusted (a worker whose key is not trusted does not start).
 */
export async function prepareShop(stack: BenchStack, plan: ModelsPlan): Promise<BenchPeople> {
  const { config, pool } = stack;
  // Loading shop data and trusting a key are the owner role's work (`kerf shop generate`, `kerf keys trust`).
  const ownerPool = createPool(
    { url: config.postgres.ownerUrl },
    { max: 2, applicationName: 'kerf bench shop' },
  );
  try {
    await generateShop(ownerPool, { jobs: plan.jobs, seed: 11 });
    await trustWorkersKey(ownerPool, config);
  } finally {
    await ownerPool.end();
  }
  // The spec reader may read the new shop schema (as a worker's start-up grants it).
  await prepareStorage(config);
  const people = await addPeople(pool);
  return people;
}

/** Trusts the key the bench's workers sign with, as an admin does (`kerf keys trust`). */
export async function trustWorkersKey(
  ownerPool: ReturnType<typeof createPool>,
  config: KerfConfig,
): Promise<void> {
  const key = await loadOrCreateSigningKey(config.signing);
  await trustSigningKey(ownerPool, {
    publicKey: key.publicKeyPem,
    name: 'bench workers',
    actor: 'kerf-admin',
  });
}

/**
 * Runs one lifecycle per model (all started at once), approves each candidate, waits until every
 * one is deployed (its deploy sets its nightly schedule), then serves a month of new jobs through
 * the prediction API for each model and books their outcomes.
 */
export async function deployModels(
  stack: BenchStack,
  plan: ModelsPlan,
  people: BenchPeople,
): Promise<DeployedModels> {
  const started = performance.now();
  const say = (line: string) =>
    progress(stack.server, `${line} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  const { config, pool, client } = stack;
  const names = Array.from(
    { length: plan.models },
    (_, index) => `bench-cut-${String(index + 1).padStart(2, '0')}`,
  );
  const specs = await Promise.all(names.map((name) => benchSpec(config, name, plan.iterations)));
  const handles = await Promise.all(
    specs.map(async (spec) => {
      const workflowId = lifecycleWorkflowId(spec.name);
      // As `kerf run` does: the authenticated starter is recorded before the run starts.
      await recordRunStarter(pool, workflowId, people.starter);
      return startLifecycle(client, config, spec, {
        startedBy: 'planner-bot',
        workflowId,
        approvalDeadlineMs: 3_600_000,
        rollbackWindowMs: 1,
      });
    }),
  );
  say(`${handles.length} lifecycles started`);
  await eachLimited(handles, 10, async (handle) => {
    await waitForStage(handle, 'awaiting-approval', { timeoutMs: 1_800_000, pollMs: 1000 });
  });
  say(`${handles.length} candidates await approval`);
  await eachLimited(handles, 10, (handle) => approve(stack, handle, people.approver));
  const results = await Promise.all(handles.map((handle) => handle.result()));
  const notDeployed = results.filter((result) => result.outcome !== 'deployed');
  if (notDeployed.length > 0) {
    throw new Error(`${notDeployed.length} runs did not deploy: ${JSON.stringify(notDeployed[0])}`);
  }
  say(`${results.length} models approved by production-planner and deployed`);

  const servedPerModel = await serveMonth(stack, specs, plan.servedJobs);
  say(`${servedPerModel} new jobs served by each model through the API, outcomes booked`);
  return { names, servedPerModel };
}

const TOKEN = 'nightly-bench-token-0123456789';

/** A month of new jobs, each model's rows served through the prediction API and their outcomes booked. */
async function serveMonth(stack: BenchStack, specs: PipelineSpec[], jobs: number): Promise<number> {
  const { config, pool, store } = stack;
  const ownerPool = createPool(
    { url: config.postgres.ownerUrl },
    { max: 2, applicationName: 'kerf bench shop' },
  );
  const appended = await generateShop(ownerPool, { jobs, seed: 12, append: true }).finally(() =>
    ownerPool.end(),
  );
  const first = specs[0];
  if (!first || first.source.kind !== 'sql') throw new Error('the bench models read a query');
  const { rows } = await pool.query<Record<string, unknown>>(
    `SELECT * FROM (${first.source.query}) AS source WHERE job_id >= $1 ORDER BY job_id`,
    [appended.firstJobId],
  );
  // Requests carry the source's features; serving computes the derived ones.
  const derived = derivedNames(first);
  const inputs = rows.map((row) =>
    Object.fromEntries(
      first.features
        .filter((feature) => !derived.has(feature.name))
        .map((feature) => [
          feature.name,
          feature.kind === 'numeric' && typeof row[feature.name] === 'string'
            ? Number(row[feature.name])
            : row[feature.name],
        ]),
    ),
  );
  const serving = buildServingApp({
    pool,
    objectStore: store,
    token: TOKEN,
    predictionLog: { flushIntervalMs: 200 },
  });
  try {
    await serving.models.ready();
    for (const spec of specs) {
      for (let start = 0; start < rows.length; start += 200) {
        const response = await serving.app.inject({
          method: 'POST',
          url: `/v1/models/${spec.name}/predict`,
          headers: { authorization: `Bearer ${TOKEN}` },
          payload: {
            rows: inputs.slice(start, start + 200),
            keys: rows.slice(start, start + 200).map((row) => String(row.job_id)),
          },
        });
        if (response.statusCode !== 200) {
          throw new Error(`serving ${spec.name} answered ${response.statusCode}: ${response.body}`);
        }
      }
    }
    await serving.predictionLog.flush();
  } finally {
    await serving.close();
  }
  for (const spec of specs) {
    await recordOutcomesFromQuery(
      pool,
      spec.name,
      `SELECT s.job_id::text AS key, s.run_seconds / j.quantity AS actual
       FROM shop.route_steps s JOIN shop.jobs j ON j.job_id = s.job_id
       WHERE s.operation = 'cut' AND s.job_id >= ${appended.firstJobId}`,
    );
  }
  return rows.length;
}
