/** The embedded Temporal: the official CLI's dev server, persisted in a SQLite file, with its Web UI. */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { KerfConfig } from '../../platform/config';
import { checkTemporal } from './health';
import type { ServerHandle } from './postgresServer';
import { hasExited, spawnLogged, stopPid, tailOfFile, waitUntil } from './processes';

export async function startTemporalServer(
  config: KerfConfig,
  binary: string,
  logFile: string,
  timeoutMs: number,
): Promise<ServerHandle> {
  const temporalDir = path.join(config.dataDir, 'temporal');
  await mkdir(temporalDir, { recursive: true });
  const { namespace, port, uiPort } = config.temporal;
  const args = [
    'server',
    'start-dev',
    '--db-filename',
    path.join(temporalDir, 'temporal.sqlite'),
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--ui-port',
    String(uiPort),
    '--log-level',
    'warn',
    ...(namespace === 'default' ? [] : ['--namespace', namespace]),
  ];
  const child = spawnLogged(binary, args, logFile);
  const healthy = await waitUntil(
    async () => hasExited(child) || (await checkTemporal(config)).healthy,
    timeoutMs,
    500,
  );
  if (!healthy || hasExited(child)) {
    if (child.pid) await stopPid(child.pid, 5000);
    throw new Error(
      `The Temporal dev server did not become healthy on ${config.temporal.address} (UI ${config.temporal.uiUrl}). ` +
        `Last lines of ${logFile}:\n${await tailOfFile(logFile)}`,
    );
  }
  return {
    pid: child.pid,
    address: `${config.temporal.address} (UI ${config.temporal.uiUrl})`,
    logFile,
    stop: async () => {
      if (child.pid) await stopPid(child.pid, 20_000);
    },
  };
}
