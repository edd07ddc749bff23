/**
 * Processes a lifecycle test starts and kills on purpose: `kerf worker` as a child process (so a
 * test can SIGKILL it mid-training, as a crash or an OOM kill would), and a look at the heartbeat the
 * pending training activity last sent, as the Temporal server recorded it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import type { TrainingHeartbeat } from '../activities/lifecycle/train';
import { repoRoot } from '../platform/paths';
import { type PendingActivity, pendingActivities } from './activityHistory';

/** What the worker prints once it polls its task queue (workers/main.ts). */
const READY_LINE = /Kerf worker polling task queue "([^"]+)"/;

/** A `kerf worker` child process. */
export interface WorkerProcess {
  pid: number;
  /** Everything it printed so far (the last ~200 KB), to quote when a test fails. */
  output(): string;
  /** True once it has exited, whatever the reason. */
  exited(): boolean;
  /** Sends `signal` and resolves once the process is gone. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

const started = new Set<ChildProcess>();
let guardInstalled = false;

/** A child left running by a test that crashed would keep polling its queue: kill it with us. */
function installExitGuard(): void {
  if (guardInstalled) return;
  guardInstalled = true;
  process.once('exit', () => {
    for (const child of started)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
}

const hasExited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

function waitForExit(child: ChildProcess): Promise<void> {
  if (hasExited(child)) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Starts `node scripts/kerf.mjs worker` with the test's environment on top of this process's, and
 * resolves once it polls its task queue.
 *
 * @param env at least `TEMPORAL_TASK_QUEUE`; `DATABASE_URL` to use the test's own database
 * @throws when it exits or stays silent for `timeoutMs`, quoting what it printed
 */
export async function startWorkerProcess(
  env: Record<string, string>,
  options: { timeoutMs?: number; args?: string[]; cwd?: string } = {},
): Promise<WorkerProcess> {
  installExitGuard();
  const args = [path.join(repoRoot, 'scripts/kerf.mjs'), 'worker', ...(options.args ?? [])];
  const child = spawn(process.execPath, args, {
    cwd: options.cwd ?? repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.add(child);
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-200_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  // A spawn failure (no such binary) arrives as an event; without a listener it would crash the test.
  child.once('error', (error) => keep(Buffer.from(`\n${String(error)}\n`)));
  const pid = child.pid;
  if (!pid) {
    started.delete(child);
    throw new Error(`could not start kerf worker: ${output}`);
  }
  const worker: WorkerProcess = {
    pid,
    output: () => output,
    exited: () => hasExited(child),
    async kill(signal = 'SIGKILL') {
      if (!hasExited(child)) child.kill(signal);
      await waitForExit(child);
      started.delete(child);
    },
  };

  const timeoutMs = options.timeoutMs ?? 60_000;
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => finish(false), timeoutMs);
    const onData = () => {
      if (READY_LINE.test(output)) finish(true);
    };
    const onExit = () => finish(false);
    function finish(value: boolean) {
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.off('exit', onExit);
      resolve(value);
    }
    child.stdout.on('data', onData);
    child.once('exit', onExit);
    onData();
  });
  if (!ready) {
    const why = hasExited(child)
      ? `exited (code ${child.exitCode}, signal ${child.signalCode})`
      : `did not poll within ${timeoutMs} ms`;
    await worker.kill();
    throw new Error(`kerf worker (pid ${pid}) ${why}. Its output:\n${output.slice(-4000)}`);
  }
  return worker;
}

/** Kills every worker process this file started that still runs. */
export async function killWorkerProcesses(): Promise<void> {
  await Promise.all(
    [...started].map(async (child) => {
      if (!hasExited(child)) child.kill('SIGKILL');
      await waitForExit(child);
      started.delete(child);
    }),
  );
}

/** The training activity as the server sees it while it is pending. */
export type PendingTraining = PendingActivity<TrainingHeartbeat>;

/** The run's status and its pending `trainModel` activity (undefined when none is pending). */
async function describeTraining(
  handle: WorkflowHandle,
): Promise<{ running: boolean; status: string; training: PendingTraining | undefined }> {
  const { status, pending } = await pendingActivities<TrainingHeartbeat>(handle, 'trainModel');
  return { running: status === 'RUNNING', status, training: pending[0] };
}

/**
 * Polls the run (through `describe()`) until `accept` holds for its pending training activity, or
 * for `undefined` once no training is pending.
 *
 * @throws when the run closes first or `timeoutMs` passes, naming the last training state seen
 */
export async function waitForTraining(
  handle: WorkflowHandle,
  accept: (training: PendingTraining | undefined) => boolean,
  options: { timeoutMs?: number; pollMs?: number } = {},
): Promise<PendingTraining | undefined> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { running, status, training } = await describeTraining(handle);
    if (accept(training)) return training;
    if (!running) {
      throw new Error(
        `run ${handle.workflowId} is ${status}; last training seen ${JSON.stringify(training)}`,
      );
    }
    if (Date.now() > deadline) {
      throw new Error(
        `run ${handle.workflowId}: training not as expected within ${timeoutMs} ms; last seen ${JSON.stringify(training)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 250));
  }
}
