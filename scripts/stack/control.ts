/**
 * `kerf stack up|down|status`: starts the embedded stack in a background supervisor, stops it,
 * and reports each part's address and health.
 */
import { spawn } from 'node:child_process';
import { mkdir, open } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KerfConfig } from '../../platform/config';
import { repoRoot } from '../../platform/paths';
import { prepareStorage } from '../../platform/prepare';
import { checkStack, type PartHealth } from './health';
import { assertPortFree } from './ports';
import { isAlive, sleep, stopPid, tailOfFile } from './processes';
import { logsDir, readState, removeState, SUPERVISOR_ARGS_VARIABLE, type StackState } from './state';
import type { SupervisorArgs } from './supervisor';
import { clusterPorts } from './clusterConfig';
import {
  ensureTool,
  TEMPORAL_CLI,
  TEMPORAL_SERVER,
  TEMPORAL_SQL_TOOL,
  TEMPORAL_UI_SERVER,
  VERSITYGW,
} from './tools';

export type Reporter = (line: string) => void;

export class StackError extends Error {
  override name = 'StackError';
}

const supervisorScript = fileURLToPath(new URL('./supervisor.ts', import.meta.url));

const hasEmbeddedPart = (config: KerfConfig) =>
  config.postgres.embedded || config.s3.embedded || config.temporal.embedded;

/** The binaries the supervisor runs, by what they are. */
export interface StackTools {
  temporalCli?: string;
  versitygw?: string;
  temporalServer?: string;
  temporalSqlTool?: string;
  temporalUiServer?: string;
}

/**
 * Builds or finds the servers the embedded stack needs. The local cluster's three binaries are
 * built only when the cluster is asked for (KERF_TEMPORAL_SERVER=cluster, or `withCluster` from
 * `kerf tools install --cluster`), so the dev quick start does not wait for them.
 */
export async function ensureStackTools(
  config: KerfConfig,
  report: Reporter,
  options: { withCluster?: boolean } = {},
): Promise<StackTools> {
  const lookup = { toolsDir: config.toolsDir, pathVariable: process.env.PATH };
  const tools: StackTools = {};
  const cluster = config.temporal.embedded && config.temporal.server === 'cluster';
  // Sequential on purpose: two Go builds at once on two cores are slower than one after the other.
  if (cluster || options.withCluster) {
    tools.temporalServer = await ensureTool(TEMPORAL_SERVER, lookup, report);
    tools.temporalSqlTool = await ensureTool(TEMPORAL_SQL_TOOL, lookup, report);
    tools.temporalUiServer = await ensureTool(TEMPORAL_UI_SERVER, lookup, report);
  }
  if (config.temporal.embedded && (!cluster || options.withCluster)) {
    tools.temporalCli = await ensureTool(
      TEMPORAL_CLI,
      { ...lookup, explicitPath: config.temporal.cliPath },
      report,
    );
  }
  if (config.s3.embedded) tools.versitygw = await ensureTool(VERSITYGW, lookup, report);
  return tools;
}

async function assertPortsFree(config: KerfConfig): Promise<void> {
  const checks: Promise<void>[] = [];
  if (config.postgres.embedded)
    checks.push(assertPortFree(config.postgres.port, 'embedded PostgreSQL', 'KERF_POSTGRES_PORT'));
  if (config.s3.embedded) checks.push(assertPortFree(config.s3.port, 'embedded S3 server', 'KERF_S3_PORT'));
  if (config.temporal.embedded) {
    checks.push(assertPortFree(config.temporal.port, 'Temporal frontend', 'KERF_TEMPORAL_PORT'));
    checks.push(assertPortFree(config.temporal.uiPort, 'Temporal Web UI', 'KERF_TEMPORAL_UI_PORT'));
    if (config.temporal.server === 'cluster') {
      const { frontend, history, matching, worker } = clusterPorts(config.temporal.port);
      const inner = [frontend.membership, history.grpc, history.membership, matching.grpc];
      inner.push(matching.membership, worker.grpc, worker.membership);
      for (const port of inner) {
        checks.push(
          assertPortFree(
            port,
            'a Temporal cluster service (KERF_TEMPORAL_PORT + 1 to + 7)',
            'KERF_TEMPORAL_PORT',
          ),
        );
      }
    }
  }
  await Promise.all(checks);
}

/** A supervisor that died without stopping its servers leaves them running: stop them. */
async function clearStaleState(config: KerfConfig, state: StackState, report: Reporter): Promise<void> {
  for (const [part, running] of Object.entries(state.parts)) {
    for (const pid of [...(running.otherPids ?? []), running.pid]) {
      if (pid && isAlive(pid)) {
        report(`stopping ${part} left running by an earlier stack (pid ${pid})`);
        await stopPid(pid);
      }
    }
  }
  await removeState(config.dataDir);
}

export interface StackUpResult {
  /** True when this call started the supervisor; false when the stack was already up. */
  started: boolean;
  health: PartHealth[];
}

/**
 * Starts whatever is not running yet and returns once every part is healthy, leaving the servers
 * running in the background.
 */
export async function stackUp(config: KerfConfig, report: Reporter): Promise<StackUpResult> {
  if (!hasEmbeddedPart(config)) {
    await prepareStorage(config);
    return { started: false, health: await requireHealthy(config) };
  }
  const existing = await readState(config.dataDir);
  if (existing && isAlive(existing.supervisorPid)) {
    const running = existing.temporalServer;
    if (config.temporal.embedded && running && running !== config.temporal.server) {
      throw new StackError(
        `The stack already runs the Temporal ${running === 'cluster' ? 'local cluster' : 'dev server'}, ` +
          `not the ${config.temporal.server === 'cluster' ? 'local cluster' : 'dev server'} KERF_TEMPORAL_SERVER asks for. ` +
          `Stop it with "kerf stack down" first; each keeps its own data, so switching loses nothing.`,
      );
    }
    if (existing.status === 'starting' || existing.status === 'restarting')
      await waitForSupervisor(config, existing.supervisorPid, report);
    report('The stack is already running.');
    return { started: false, health: await requireHealthy(config) };
  }
  if (existing) await clearStaleState(config, existing, report);
  if (config.temporal.embedded && config.temporal.server === 'cluster' && !config.postgres.embedded) {
    // Processes of a running cluster stack may use databases of their own (tests do); starting
    // one needs the embedded PostgreSQL, where its role and databases are made.
    throw new StackError(
      'KERF_TEMPORAL_SERVER=cluster keeps the local cluster in the embedded PostgreSQL: unset DATABASE_URL, ' +
        'or set TEMPORAL_ADDRESS to a Temporal cluster of your own',
    );
  }

  const tools = await ensureStackTools(config, report);
  await assertPortsFree(config);
  await mkdir(logsDir(config.dataDir), { recursive: true });
  const supervisorLog = path.join(logsDir(config.dataDir), 'supervisor.log');
  const logHandle = await open(supervisorLog, 'a');
  const supervisor = spawn(
    process.execPath,
    ['--import', 'tsx', supervisorScript],
    // `--import tsx` resolves from the working directory: the repository, where tsx is installed.
    // The configuration holds passwords: it goes in the environment, which only this user can read.
    {
      cwd: repoRoot,
      detached: true,
      stdio: ['ignore', logHandle.fd, logHandle.fd],
      env: {
        ...process.env,
        [SUPERVISOR_ARGS_VARIABLE]: JSON.stringify({ config, tools } satisfies SupervisorArgs),
      },
    },
  );
  await logHandle.close();
  supervisor.unref();
  const pid = supervisor.pid;
  if (!pid) throw new StackError(`Could not start the stack supervisor; see ${supervisorLog}`);
  report(`Starting the stack (supervisor pid ${pid}, logs in ${logsDir(config.dataDir)})...`);

  // Ctrl-C while starting stops what was started rather than leaving half a stack behind.
  const interrupt = () => {
    report('Interrupted: stopping the stack...');
    void stopPid(pid).finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupt);
  try {
    await waitForSupervisor(config, pid, report);
  } finally {
    process.removeListener('SIGINT', interrupt);
  }
  return { started: true, health: await requireHealthy(config) };
}

async function waitForSupervisor(config: KerfConfig, pid: number, report: Reporter): Promise<void> {
  const supervisorLog = path.join(logsDir(config.dataDir), 'supervisor.log');
  // The supervisor has its own per-part timeouts; this one only catches a supervisor that hangs.
  const limitMs = config.stackTimeoutMs + 60_000;
  const deadline = Date.now() + limitMs;
  let announced = new Set<string>();
  for (;;) {
    const state = await readState(config.dataDir).catch(() => undefined);
    if (state?.supervisorPid === pid) {
      const parts = new Set(Object.keys(state.parts));
      for (const part of parts) if (!announced.has(part)) report(`  ${part} is healthy`);
      announced = parts;
      if (state.status === 'ready') return;
      if (state.error) {
        await waitForExit(pid);
        throw new StackError(`The stack did not start:\n${state.error}\nLogs: ${logsDir(config.dataDir)}`);
      }
    }
    if (!isAlive(pid)) {
      throw new StackError(
        `The stack supervisor exited during start-up. Last lines of ${supervisorLog}:\n${await tailOfFile(supervisorLog)}`,
      );
    }
    if (Date.now() > deadline) {
      await stopPid(pid);
      throw new StackError(
        `The stack did not become healthy within ${Math.round(limitMs / 1000)}s; ` +
          `it was stopped. See the logs in ${logsDir(config.dataDir)}, or raise KERF_STACK_TIMEOUT_SECONDS.`,
      );
    }
    await sleep(250);
  }
}

async function waitForExit(pid: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(100);
}

/**
 * Confirms every part answers this process too. A server that just started can miss one call on a
 * busy two-core machine, so the check is repeated for a short while before it counts as a failure.
 */
async function requireHealthy(config: KerfConfig, graceMs = 30_000): Promise<PartHealth[]> {
  let health = await checkStack(config);
  const deadline = Date.now() + graceMs;
  while (health.some((part) => !part.healthy) && Date.now() < deadline) {
    await sleep(1000);
    health = await checkStack(config);
  }
  const unhealthy = health.filter((part) => !part.healthy);
  if (unhealthy.length > 0) {
    throw new StackError(
      unhealthy
        .map(
          (part) =>
            `${part.part} at ${part.address} is not healthy: ${part.detail}` +
            (part.embedded
              ? ''
              : ' (it is configured externally: check that it runs and the address is right)'),
        )
        .join('\n'),
    );
  }
  return health;
}

/** Stops what `stackUp` started. Returns false when nothing was running. */
export async function stackDown(config: KerfConfig, report: Reporter): Promise<boolean> {
  const state = await readState(config.dataDir);
  if (!state) {
    report('The stack is not running (no state file).');
    return false;
  }
  if (isAlive(state.supervisorPid)) {
    report(`Stopping the stack (supervisor pid ${state.supervisorPid})...`);
    await stopPid(state.supervisorPid, 60_000);
  }
  await clearStaleState(config, state, report);
  report('The stack is stopped.');
  return true;
}

/** The parts `kerf stack restart` restarts in place. */
export const RESTARTABLE_PARTS = ['temporal'] as const;
export type RestartablePart = (typeof RESTARTABLE_PARTS)[number];

/**
 * Restarts the embedded Temporal (dev server or local cluster) in place and returns once it is
 * healthy again: the supervisor stops its processes and starts them anew; runs, schedules and
 * histories are kept in Temporal's storage and go on. Workers reconnect by themselves.
 *
 * @throws StackError when no stack of this folder runs, Temporal is not embedded, or it does not come back
 */
export async function stackRestart(
  config: KerfConfig,
  part: RestartablePart,
  report: Reporter,
): Promise<PartHealth[]> {
  const state = await readState(config.dataDir);
  if (!state || !isAlive(state.supervisorPid)) {
    throw new StackError('The stack is not running: start it with "kerf stack up".');
  }
  const running = state.parts[part];
  if (!config.temporal.embedded || !running) {
    throw new StackError(
      `This stack does not run ${part} itself (TEMPORAL_ADDRESS points elsewhere): restart it where it runs.`,
    );
  }
  if (state.status !== 'ready') {
    throw new StackError(`The stack is ${state.status}: wait until "kerf stack status" says it is healthy.`);
  }
  const restartsBefore = state.restarts ?? 0;
  report(`Restarting ${part} (pid ${running.pid ?? '?'})...`);
  process.kill(state.supervisorPid, 'SIGHUP');
  const limitMs = config.stackTimeoutMs + 60_000;
  const deadline = Date.now() + limitMs;
  for (;;) {
    const now = await readState(config.dataDir).catch(() => undefined);
    if (now?.status === 'ready' && (now.restarts ?? 0) > restartsBefore) {
      report(`  ${part} is healthy again (pid ${now.parts[part]?.pid ?? '?'})`);
      return requireHealthy(config);
    }
    if (now?.status === 'failed' || !isAlive(state.supervisorPid)) {
      throw new StackError(
        `${now?.error ?? `The stack supervisor exited while restarting ${part}.`}\nLogs: ${logsDir(config.dataDir)}`,
      );
    }
    if (Date.now() > deadline) {
      throw new StackError(
        `${part} did not come back within ${Math.round(limitMs / 1000)}s; see the logs in ${logsDir(config.dataDir)}.`,
      );
    }
    await sleep(250);
  }
}

/** Each part's address and live health. */
export async function stackStatus(config: KerfConfig): Promise<PartHealth[]> {
  return checkStack(config);
}
