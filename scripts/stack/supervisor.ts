/**
 * The stack supervisor: a background process started by `kerf stack up` that owns the embedded
 * servers. It starts each one, waits until it is healthy, applies migrations, creates the bucket,
 * then records "ready" in the state file. SIGTERM or SIGINT stops every server it started, in order.
 *
 * Usage (internal): supervisor.ts '{"temporalCli": "...", "versitygw": "..."}'
 */
import path from 'node:path';
import { loadConfig } from '../../platform/config';
import { dropAwsNodeVersionNotice } from '../../platform/nodeWarnings';
import { defaultPaths } from '../../platform/paths';
import { prepareStorage } from '../../platform/prepare';
import type { PartName } from './health';
import { startPostgres, type ServerHandle } from './postgresServer';
import { startS3Server } from './s3Server';
import { logsDir, writeState, type StackState } from './state';
import { startTemporalServer } from './temporalServer';

interface SupervisorArgs {
  temporalCli?: string;
  versitygw?: string;
}

async function main(): Promise<void> {
  dropAwsNodeVersionNotice();
  const config = loadConfig(process.env, defaultPaths);
  const args = JSON.parse(process.argv[2] ?? '{}') as SupervisorArgs;
  const logs = logsDir(config.dataDir);
  const timeoutMs = config.stackTimeoutMs;
  const servers = new Map<PartName, ServerHandle>();
  const state: StackState = {
    supervisorPid: process.pid,
    status: 'starting',
    startedAt: new Date().toISOString(),
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
      // Temporal first (it is the client of nothing here but holds workers' connections), then storage.
      for (const part of ['temporal', 's3', 'postgres'] as const) {
        await servers
          .get(part)
          ?.stop()
          .catch((error: unknown) => console.error(`stopping ${part}:`, error));
      }
      console.log(`${new Date().toISOString()} stack stopped`);
      process.exit(exitCode);
    })();
  };
  process.on('SIGTERM', () => stopAll(0));
  process.on('SIGINT', () => stopAll(0));

  const record = (part: PartName, handle: ServerHandle) => {
    servers.set(part, handle);
    state.parts[part] = { pid: handle.pid, address: handle.address, logFile: handle.logFile };
    console.log(
      `${new Date().toISOString()} ${part} healthy at ${handle.address} (pid ${handle.pid ?? '?'})`,
    );
    return save();
  };

  try {
    const starts: Promise<void>[] = [];
    if (config.postgres.embedded) {
      starts.push(
        startPostgres(config, path.join(logs, 'postgres.log')).then((handle) => record('postgres', handle)),
      );
    }
    if (config.s3.embedded) {
      if (!args.versitygw) throw new Error('the supervisor was started without a versitygw binary');
      const binary = args.versitygw;
      starts.push(
        startS3Server(config, binary, path.join(logs, 's3.log'), timeoutMs).then((handle) =>
          record('s3', handle),
        ),
      );
    }
    if (config.temporal.embedded) {
      if (!args.temporalCli) throw new Error('the supervisor was started without a Temporal CLI binary');
      const binary = args.temporalCli;
      starts.push(
        startTemporalServer(config, binary, path.join(logs, 'temporal.log'), timeoutMs).then((handle) =>
          record('temporal', handle),
        ),
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
