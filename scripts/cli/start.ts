/** `npm start`: the main job on the embedded default stack. */
import { Client, type Connection } from '@temporalio/client';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import path from 'node:path';
import type pg from 'pg';
import {
  authenticateKey,
  ensureFirstPeople,
  FIRST_APPROVER,
  type FirstPeople,
  issueDecisionCode,
  presentedKey,
  recordRunStarter,
} from '../../access';
import type { KerfConfig } from '../../platform/config';
import { createPool } from '../../platform/database';
import { startPredictionApi } from './serveCommand';
import { prepareStorage } from '../../platform/prepare';
import { followRun, lifecycleWorkflowId, startLifecycle } from '../../workflows/client/lifecycleRuns';
import { repoRoot } from '../../platform/paths';
import { loadPipelineSpec } from '../../lifecycle/spec';
import { generateShop } from '../../shop/load';
import { describeStatus, workflowUiUrl } from './lifecycleCommands';
import { createKerfWorker } from '../../workers/kerfWorker';
import { startTerminal } from '../../workers/terminal';
import { keysPool, trustDevelopmentKeyOnFirstStart } from './keysCommand';
import type { smokeCheck } from '../../workflows/smoke';
import { stackDown, stackUp, type Reporter } from '../stack/control';
import { connectTemporalClient } from '../../platform/temporalConnection';

/** Jobs generated into an empty shop on the first start. */
export const FIRST_START_JOBS = 20_000;

/**
 * Fills the shop with generated history the first time, so the cut-time model has data. Loading
 * data is the owner's work (as `kerf shop generate`): the application role may only read the shop.
 */
async function ensureShopData(config: KerfConfig, report: Reporter): Promise<void> {
  const pool = createPool({ url: config.postgres.ownerUrl }, { max: 2, applicationName: 'kerf start' });
  try {
    const { rows } = await pool.query<{ jobs: string }>('SELECT count(*) AS jobs FROM shop.jobs');
    const jobs = Number(rows[0]?.jobs ?? 0);
    if (jobs > 0) {
      report(`Shop data: ${jobs} jobs in shop.jobs.`);
      return;
    }
    report(`First start: generating the shop's history (${FIRST_START_JOBS} jobs, seed 1)...`);
    const result = await generateShop(pool, { jobs: FIRST_START_JOBS, seed: 1 });
    report(`  ${result.totalRows} rows in ${result.seconds.toFixed(1)} s.`);
  } finally {
    await pool.end();
  }
}

/** The first start's admin and approver (created once), and how to use their keys. */
async function firstPeople(pool: pg.Pool, config: KerfConfig, report: Reporter): Promise<FirstPeople> {
  const people = await ensureFirstPeople(pool, {
    credentialsDir: path.join(config.dataDir, 'credentials'),
    pipelinesDir: path.join(repoRoot, 'pipelines'),
  });
  if (people.created) {
    report('First start: created the admin and an approver; their keys are in 0600 files:');
    report(`  admin (starts runs, manages users): ${people.credentialsFiles.admin}`);
    report(`  approver ${FIRST_APPROVER} (approves the shipped models): ${people.credentialsFiles.approver}`);
  } else if (!people.admin) {
    report(
      `No admin key in ${people.credentialsFiles.admin}: the cut-time run starts without an authenticated starter.`,
    );
  }
  return people;
}

/** Starts the cut-time lifecycle and says how to approve it once it waits. */
async function startCutTime(
  client: Client,
  pool: pg.Pool,
  config: KerfConfig,
  people: FirstPeople,
  report: Reporter,
): Promise<void> {
  const spec = await loadPipelineSpec(path.join(repoRoot, 'pipelines', 'cut-time.json'));
  const workflowId = lifecycleWorkflowId(spec.name);
  // The admin starts the run (and so may not approve it); the approver decides.
  if (people.admin) await recordRunStarter(pool, workflowId, people.admin);
  const handle = await startLifecycle(client, config, spec, {
    startedBy: people.admin?.user.name ?? 'kerf-start',
    workflowId,
  });
  report(`Started the cut-time lifecycle ${handle.workflowId}:`);
  report(`  ${workflowUiUrl(config, handle.workflowId)}`);
  // The worker in this process prints a line per stage; here only the wait for a person matters.
  const status = await followRun(handle);
  for (const line of describeStatus(status, config, handle.workflowId)) report(line);
  if (status.stage !== 'awaiting-approval' || status.version === undefined || !status.approval) return;
  const credentials = people.credentialsFiles.approver;
  report('');
  report(`Approve it as ${FIRST_APPROVER}, either here:`);
  report(`  KERF_CREDENTIALS_FILE=${credentials} npx kerf approve ${handle.workflowId}`);
  try {
    const approver = await authenticateKey(pool, await presentedKey({ credentialsFile: credentials }));
    const issued = await issueDecisionCode(pool, {
      identity: approver,
      runId: handle.workflowId,
      model: spec.name,
      version: status.version,
      action: 'approve',
      expiresAt: new Date(status.approval.deadlineAt),
      authenticatedBy: 'approval-code',
    });
    report(`or in the Web UI: ${workflowUiUrl(config, handle.workflowId)}`);
    report(`  -> Send a Signal "approve" with this input (a one-time code for ${FIRST_APPROVER}):`);
    report(`  ${JSON.stringify({ code: issued.code, comment: 'checked the model card' })}`);
  } catch {
    report(
      `or in the Web UI, with a code from: KERF_CREDENTIALS_FILE=${credentials} npx kerf approval-code ${handle.workflowId}`,
    );
  }
}

/**
 * Brings the stack up, starts the worker, runs the smoke workflow, fills the shop with generated
 * history on the first start, starts the cut-time lifecycle and says where to approve it, then keeps
 * the worker running until Ctrl-C (with `once`, it stops once the run waits for approval: the run
 * keeps waiting in Temporal). What this call started, it stops.
 */
export async function runMainJob(config: KerfConfig, options: { once: boolean }): Promise<void> {
  // Temporal's SDK logs into the same log: its records in `kerf-start.log`, one line for what matters.
  const { log, activityInterceptors } = startTerminal(config, 'start');
  try {
    await mainJob(config, { once: options.once, report: (line) => log.say(line), activityInterceptors });
  } catch (error) {
    // The command line prints the error; the file keeps it with the run's other records.
    log.write({ level: 'error', message: 'npm start stopped', error, fileOnly: true });
    throw error;
  } finally {
    log.close();
  }
}

async function mainJob(
  config: KerfConfig,
  options: { once: boolean; report: Reporter; activityInterceptors: ActivityInterceptorsFactory[] },
): Promise<void> {
  const { report } = options;
  const { started } = await stackUp(config, report);
  // Migrations and the bucket, also when the stack was already running (a newer checkout).
  await prepareStorage(config);
  // The embedded stack's admin step (not the worker's): trust the development key on the first start.
  const keysAdmin = keysPool(config);
  await trustDevelopmentKeyOnFirstStart(config, keysAdmin, report).finally(() => keysAdmin.end());
  const kerfWorker = await createKerfWorker(config, { activityInterceptors: options.activityInterceptors });
  const workerDone = kerfWorker.run();
  // Warnings and server errors (with the request id a 500 names) for a person to read.
  const api = await startPredictionApi(
    config,
    { level: 'warn', file: path.join(config.dataDir, 'logs', 'api.log') },
    report,
  );
  let connection: Connection | undefined;
  try {
    connection = await connectTemporalClient(config.temporal);
    const client = new Client({ connection, namespace: config.temporal.namespace });
    const workflowId = `smoke-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    report(`Running the smoke workflow ${workflowId}...`);
    const result = await client.workflow.execute<typeof smokeCheck>('smokeCheck', {
      taskQueue: config.temporal.taskQueue,
      workflowId,
      args: [{ note: 'npm start' }],
    });
    report(
      `Smoke workflow completed: smoke_checks row ${result.rowId}, object s3://${config.s3.bucket}/${result.objectKey}`,
    );
    report(`Temporal Web UI: ${config.temporal.uiUrl}`);
    report(`This run: ${workflowUiUrl(config, workflowId)}`);
    await ensureShopData(config, report);
    const accessPool = createPool(config.postgres, { max: 2, applicationName: 'kerf start' });
    try {
      const people = await firstPeople(accessPool, config, report);
      await startCutTime(client, accessPool, config, people, report);
    } finally {
      await accessPool.end();
    }
    if (!options.once) {
      report(
        `Worker running on task queues "${config.temporal.taskQueue}" (light) and "${config.temporal.heavyTaskQueue}" (heavy). Press Ctrl-C to stop.`,
      );
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      report('Stopping...');
    }
  } finally {
    await api.close();
    await connection?.close().catch(() => undefined);
    await kerfWorker.shutdown();
    await workerDone.catch(() => undefined);
    if (started) await stackDown(config, report);
  }
}
