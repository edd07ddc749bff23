/** The embedded S3: versitygw's posix backend, objects as plain files under `<dataDir>/s3/root`. */
import type { ChildProcess } from 'node:child_process';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { KerfConfig } from '../../platform/config';
import { ObjectStore } from '../../platform/objectStore';
import type { ServerHandle } from './postgresServer';
import { hasExited, spawnLogged, stopPid, tailOfFile, waitUntil } from './processes';
import { logsDir } from './state';

type MetadataMode = 'xattr' | 'sidecar';

/** The embedded S3's access log: one line per request, in S3's server access log format. */
export const s3AccessLog = (dataDir: string) => path.join(logsDir(dataDir), 's3-access.log');

/** The embedded store's endpoint, region and keys, which loadConfig always fills in for it. */
function embeddedS3(config: KerfConfig) {
  const { endpoint, region, credentials } = config.s3;
  if (endpoint === undefined || region === undefined || credentials === undefined) {
    throw new Error('the embedded S3 needs an endpoint, a region and keys; S3_ENDPOINT=aws is not embedded');
  }
  return { endpoint, region, credentials };
}

function launch(binary: string, config: KerfConfig, mode: MetadataMode, logFile: string): ChildProcess {
  const s3Dir = path.join(config.dataDir, 's3');
  const { region, credentials } = embeddedS3(config);
  const args = [
    '--port',
    `127.0.0.1:${config.s3.port}`,
    '--region',
    region,
    '--quiet',
    // One line per request (operation, key, HTTP status, who): what was written when, for an audit
    // or a check that no artifact was written twice.
    '--access-log',
    s3AccessLog(config.dataDir),
    'posix',
    ...(mode === 'sidecar' ? ['--sidecar', path.join(s3Dir, 'meta')] : []),
    path.join(s3Dir, 'root'),
  ];
  // The root keys through the environment (versitygw reads ROOT_ACCESS_KEY_ID and
  // ROOT_SECRET_ACCESS_KEY for --access and --secret), so no other local user sees them.
  return spawnLogged(binary, args, logFile, {
    env: { ROOT_ACCESS_KEY_ID: credentials.accessKeyId, ROOT_SECRET_ACCESS_KEY: credentials.secretAccessKey },
  });
}

/** Waits until the server answers S3 calls and the bucket exists, or the process exits. */
async function becameHealthy(child: ChildProcess, config: KerfConfig, timeoutMs: number): Promise<boolean> {
  const store = ObjectStore.fromConfig(config.s3);
  try {
    const answered = await waitUntil(async () => {
      if (hasExited(child)) return true;
      try {
        await store.ensureBucket();
        return true;
      } catch {
        return false;
      }
    }, timeoutMs);
    return answered && !hasExited(child);
  } finally {
    store.destroy();
  }
}

export async function startS3Server(
  config: KerfConfig,
  binary: string,
  logFile: string,
  timeoutMs: number,
): Promise<ServerHandle> {
  const s3Dir = path.join(config.dataDir, 's3');
  await mkdir(path.join(s3Dir, 'root'), { recursive: true });
  // Made here, readable by this user alone: versitygw would create it readable by everyone.
  await mkdir(logsDir(config.dataDir), { recursive: true });
  await writeFile(s3AccessLog(config.dataDir), '', { flag: 'a', mode: 0o600 });
  await chmod(s3AccessLog(config.dataDir), 0o600);
  const modeFile = path.join(s3Dir, 'metadata-mode');
  // Object metadata lives in user xattrs where the filesystem has them, else in a sidecar folder.
  // The choice is remembered: switching later would lose the metadata stored the other way.
  let mode: MetadataMode = (await readFile(modeFile, 'utf8').catch(() => 'xattr')).trim() as MetadataMode;
  let child = launch(binary, config, mode, logFile);
  let healthy = await becameHealthy(child, config, timeoutMs);
  if (!healthy && mode === 'xattr' && (await tailOfFile(logFile, 5)).includes('xattr check failed')) {
    mode = 'sidecar';
    await mkdir(path.join(s3Dir, 'meta'), { recursive: true });
    child = launch(binary, config, mode, logFile);
    healthy = await becameHealthy(child, config, timeoutMs);
  }
  if (!healthy) {
    if (child.pid) await stopPid(child.pid, 5000);
    throw new Error(
      `versitygw did not become healthy on port ${config.s3.port}. Last lines of ${logFile}:\n${await tailOfFile(logFile)}`,
    );
  }
  await writeFile(modeFile, `${mode}\n`);
  const running = child;
  return {
    pid: running.pid,
    address: embeddedS3(config).endpoint,
    logFile,
    stop: async () => {
      if (running.pid) await stopPid(running.pid, 10_000);
    },
  };
}
