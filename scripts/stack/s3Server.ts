/** The embedded S3: versitygw's posix backend, objects as plain files under `<dataDir>/s3/root`. */
import type { ChildProcess } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { KerfConfig } from '../../platform/config';
import { ObjectStore } from '../../platform/objectStore';
import type { ServerHandle } from './postgresServer';
import { hasExited, spawnLogged, stopPid, tailOfFile, waitUntil } from './processes';

type MetadataMode = 'xattr' | 'sidecar';

function launch(binary: string, config: KerfConfig, mode: MetadataMode, logFile: string): ChildProcess {
  const s3Dir = path.join(config.dataDir, 's3');
  const args = [
    '--port',
    `127.0.0.1:${config.s3.port}`,
    '--region',
    config.s3.region,
    '--quiet',
    'posix',
    ...(mode === 'sidecar' ? ['--sidecar', path.join(s3Dir, 'meta')] : []),
    path.join(s3Dir, 'root'),
  ];
  // The root keys through the environment (versitygw reads ROOT_ACCESS_KEY_ID and
  // ROOT_SECRET_ACCESS_KEY for --access and --secret), so no other local user sees them.
  return spawnLogged(binary, args, logFile, {
    env: { ROOT_ACCESS_KEY_ID: config.s3.accessKeyId, ROOT_SECRET_ACCESS_KEY: config.s3.secretAccessKey },
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
    address: config.s3.endpoint,
    logFile,
    stop: async () => {
      if (running.pid) await stopPid(running.pid, 10_000);
    },
  };
}
