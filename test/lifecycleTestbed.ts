/**
 * A lifecycle test's own world on the shared stack: its own database (migrated, with generated shop
 * data), its own task queue with an in-process worker, and a Temporal client. Specs get unique names
 * so artifacts in the shared bucket never collide between test files.
 */
import path from 'node:path';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { promisify } from 'node:util';
import { Client, WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import { expect } from 'vitest';
import {
  addUser,
  authenticateKey,
  type CodeAction,
  type Identity,
  issueDecisionCode,
  recordRunStarter,
  type Role,
} from '../access';
import type { KerfConfig } from '../platform/config';
import {
  type LifecycleHandle,
  lifecycleStatus,
  lifecycleWorkflowId,
  startLifecycle,
  type StartLifecycleOptions,
} from '../workflows/client/lifecycleRuns';
import { applyMigrations } from '../platform/migrations';
import { ObjectStore } from '../platform/objectStore';
import { migrationsDir, repoRoot } from '../platform/paths';
import { nightlyScheduleId, redeliveryScheduleId } from '../workflows/client/schedules';
import { parsePipelineSpec, type PipelineSpec } from '../lifecycle/spec';
import { shippedSpecInput, type SpecInput, specInput, uniqueSpecName } from './specBuilder';
import { TEMPORAL_CLI, locateTool } from '../scripts/stack/tools';
import { generateShop } from '../shop/load';
import { createKerfWorker, type KerfWorker, type WorkerQueues } from '../workers/kerfWorker';
import { createOwnDatabase, type OwnDatabase, testConfig, uniqueName } from './helpers';
import { trustWorkerSigningKey } from './trustedKeys';
import { connectTemporalClient } from '../platform/temporalConnection';

/** Recorded lifecycle histories that the replay test runs through the current workflow code. */
export const historiesDir = path.join(repoRoot, 'test', 'replay', 'histories');

export interface LifecycleTestbed {
  db: OwnDatabase;
  config: KerfConfig;
  taskQueue: string;
  client: Client;
  worker: KerfWorker;
  /** The shared bucket, as the worker sees it; closed with the testbed. */
  store: ObjectStore;
  /** A shipped spec under a unique name, with `overrides` (see `specInput`) for a quick test. */
  spec(file: string, overrides?: SpecInput): Promise<PipelineSpec>;
  start(spec: PipelineSpec, options?: Partial<StartLifecycleOptions>): Promise<LifecycleHandle>;
  /**
   * With KERF_RECORD_HISTORIES=1, keeps a finished run's event history as a replay fixture in
   * `test/replay/histories/<name>.json`; otherwise does nothing.
   */
  keepHistory(handle: Pick<LifecycleHandle, 'workflowId'>, name: string): Promise<void>;
  /** The keys of the people in this test's database (see `TEST_PEOPLE`), by name. */
  keys: Record<string, string>;
  /** A person's identity, as their key proves it. */
  identity(name: string): Promise<Identity>;
  /** A one-time code issued to `name` for a decision on the run's current version. */
  decisionCode(handle: LifecycleHandle, name: string, action?: CodeAction): Promise<string>;
  /** Approves (or rejects) by Signal with a code issued to `name`, as the Web UI would. */
  signalDecision(
    handle: LifecycleHandle,
    name: string,
    action?: 'approve' | 'reject',
    comment?: string,
  ): Promise<void>;
  close(): Promise<void>;
}

/**
 * The failure a run stopped with on purpose: the ApplicationFailure an activity threw, under the
 * ActivityFailure and the WorkflowFailedError; fails the test when the run ended otherwise.
 */
export async function runFailureOf(result: Promise<unknown>): Promise<ApplicationFailure> {
  const error = await result.then(
    () => undefined,
    (failure: unknown) => failure,
  );
  expect(error).toBeInstanceOf(WorkflowFailedError);
  const activity = (error as WorkflowFailedError).cause;
  expect(activity).toBeInstanceOf(ActivityFailure);
  const cause = (activity as ActivityFailure).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  return cause as ApplicationFailure;
}

/** The people every lifecycle test database has: name, roles, models. */
export const TEST_PEOPLE: { name: string; roles: Role[]; models: string[] }[] = [
  { name: 'shop-manager', roles: ['approver', 'operator', 'starter'], models: ['*'] },
  { name: 'production-planner', roles: ['approver', 'operator'], models: ['*'] },
  { name: 'intern', roles: ['reader'], models: [] },
  { name: 'planner-bot', roles: ['starter'], models: [] },
];

/** Adds an admin (bootstrap) and `TEST_PEOPLE` to a migrated database; returns everyone's keys. */
export async function addTestPeople(pool: OwnDatabase['pool']): Promise<Record<string, string>> {
  const admin = await addUser(pool, { name: 'kerf-admin', roles: ['admin'], models: [] }, 'bootstrap');
  const byAdmin = await authenticateKey(pool, admin.key);
  const keys: Record<string, string> = { 'kerf-admin': admin.key };
  for (const person of TEST_PEOPLE) keys[person.name] = (await addUser(pool, person, byAdmin)).key;
  return keys;
}

/** A test person's identity, as their key proves it. */
export function identityOf(pool: OwnDatabase['pool'], keys: Record<string, string>, name: string) {
  const key = keys[name];
  if (!key) throw new Error(`no test person ${name}`);
  return authenticateKey(pool, key);
}

/** A one-time code issued to a test person for a decision on the run's current version. */
export async function issueCodeFor(
  pool: OwnDatabase['pool'],
  keys: Record<string, string>,
  handle: LifecycleHandle,
  name: string,
  action: CodeAction = 'approve',
): Promise<string> {
  const status = await lifecycleStatus(handle);
  if (status.version === undefined) throw new Error(`run ${handle.workflowId} has no version yet`);
  const deadline = status.approval ? new Date(status.approval.deadlineAt) : new Date(Date.now() + 600_000);
  const issued = await issueDecisionCode(pool, {
    identity: await identityOf(pool, keys, name),
    runId: handle.workflowId,
    model: status.pipeline,
    version: status.version,
    action,
    expiresAt: action === 'rollback' ? new Date(Date.now() + 600_000) : deadline,
    authenticatedBy: 'approval-code',
  });
  return issued.code;
}

/** Approves (or rejects) by Signal with a code issued to a test person, as the Web UI would. */
export async function signalWithCode(
  pool: OwnDatabase['pool'],
  keys: Record<string, string>,
  handle: LifecycleHandle,
  name: string,
  action: 'approve' | 'reject' = 'approve',
  comment?: string,
): Promise<void> {
  const code = await issueCodeFor(pool, keys, handle, name, action);
  await handle.signal(action, { code, ...(comment ? { comment } : {}) });
}

export async function createLifecycleTestbed(
  prefix: string,
  shop: { jobs: number; seed: number } = { jobs: 6000, seed: 3 },
  environment: Record<string, string> = {},
  options: {
    /** The queues the testbed's worker polls; a test starts a worker for the others itself. @default 'all' */
    queues?: WorkerQueues;
  } = {},
): Promise<LifecycleTestbed> {
  const db = await createOwnDatabase(prefix);
  await applyMigrations(db.pool, migrationsDir);
  await generateShop(db.ownerPool, shop);
  const keys = await addTestPeople(db.pool);
  // The specs this test makes live in a folder of its own: the nightly check finds them there.
  const pipelinesDir = await mkdtemp(path.join(os.tmpdir(), `kerf-${prefix}-pipelines-`));
  const config = testConfig({ ...db.env, KERF_PIPELINES_DIR: pipelinesDir, ...environment });
  const taskQueue = uniqueName(prefix);
  await trustWorkerSigningKey(db.ownerPool, config);
  const worker = await createKerfWorker(config, { taskQueue, queues: options.queues });
  const running = worker.run();
  const store = ObjectStore.fromConfig(config.s3);
  const connection = await connectTemporalClient(config.temporal);
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const models: string[] = [];
  const identity = (name: string) => identityOf(db.pool, keys, name);
  const decisionCode = (handle: LifecycleHandle, name: string, action: CodeAction = 'approve') =>
    issueCodeFor(db.pool, keys, handle, name, action);
  const signalDecision = (
    handle: LifecycleHandle,
    name: string,
    action: 'approve' | 'reject' = 'approve',
    comment?: string,
  ) => signalWithCode(db.pool, keys, handle, name, action, comment);
  return {
    db,
    store,
    config,
    taskQueue,
    client,
    worker,
    keys,
    identity,
    decisionCode,
    signalDecision,
    async spec(file, overrides = {}) {
      const shipped = shippedSpecInput(file);
      const draft = specInput({ name: uniqueSpecName(String(shipped.name)), ...overrides }, shipped);
      models.push(draft.name as string);
      const spec = parsePipelineSpec(draft);
      await writeFile(path.join(pipelinesDir, `${spec.name}.json`), JSON.stringify(draft, null, 2));
      return spec;
    },
    async start(spec, options = {}) {
      const startedBy = options.startedBy ?? 'planner-bot';
      const workflowId = options.workflowId ?? lifecycleWorkflowId(spec.name);
      // As `kerf run` does: the authenticated starter is recorded before the run starts.
      if (keys[startedBy]) await recordRunStarter(db.pool, workflowId, await identity(startedBy));
      return startLifecycle(client, config, spec, {
        rollbackWindowMs: 1,
        ...options,
        startedBy,
        workflowId,
        taskQueue,
      });
    },
    async keepHistory(handle, name) {
      if (process.env.KERF_RECORD_HISTORIES !== '1') return;
      // The Temporal CLI writes the history JSON that `historyFromJSON` reads.
      const cli = await locateTool(TEMPORAL_CLI, {
        toolsDir: config.toolsDir,
        explicitPath: config.temporal.cliPath,
        pathVariable: process.env.PATH,
      });
      if (!cli) throw new Error('KERF_RECORD_HISTORIES needs the Temporal CLI: run `npm run tools`');
      const { stdout } = await promisify(execFile)(
        cli,
        [
          'workflow',
          'show',
          '--workflow-id',
          handle.workflowId,
          '--output',
          'json',
          '--address',
          config.temporal.address,
        ],
        { maxBuffer: 64 * 1024 * 1024 },
      );
      await mkdir(historiesDir, { recursive: true });
      await writeFile(path.join(historiesDir, `${name}.json`), stdout);
    },
    async close() {
      // Deploys set nightly schedules on the shared server: take this test's away.
      for (const model of models) {
        await client.schedule
          .getHandle(nightlyScheduleId(model))
          .delete()
          .catch(() => undefined);
      }
      // A worker with webhooks sets its queue's redelivery schedule.
      await client.schedule
        .getHandle(redeliveryScheduleId(taskQueue))
        .delete()
        .catch(() => undefined);
      await worker.shutdown();
      await running.catch(() => undefined);
      await connection.close();
      await db.drop();
      await rm(pipelinesDir, { recursive: true, force: true });
      store.destroy();
    },
  };
}
