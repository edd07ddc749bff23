/**
 * Secrets never on a command line and never readable by others: with the stack and a worker
 * running, no process's /proc/<pid>/cmdline holds a database password, an S3 key, the API token
 * or the signing keys (each read from its 0600 file), and those files are 0600 in a private folder.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { KeyObject } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateModelSigningKey } from '../../lifecycle/modelSigningKey';
import { loadOrCreateSigningKey } from '../../lifecycle/signing';
import { apiToken } from '../../serving/apiToken';
import { repoRoot } from '../../platform/paths';
import { EMBEDDED_SECRET_NAMES, secretsDir } from '../../platform/secrets';
import { testConfig, uniqueName } from '../helpers';

const config = testConfig();
let worker: ChildProcess | undefined;

/** Every secret of the stack, by name, read from where Kerf keeps it. */
async function stackSecrets(): Promise<Record<string, string>> {
  const secrets: Record<string, string> = {};
  for (const name of EMBEDDED_SECRET_NAMES) {
    secrets[name] = (await readFile(path.join(secretsDir(config.dataDir), name), 'utf8')).trim();
  }
  // The local cluster's role exists only in cluster mode (KERF_TEMPORAL_SERVER=cluster).
  if (config.temporal.clusterDatabaseUrl) {
    secrets['postgres-temporal-password'] = decodeURIComponent(
      new URL(config.temporal.clusterDatabaseUrl).password,
    );
  }
  secrets['api-token'] = (await apiToken(config)).token;
  // The base64 body of each key's PEM: what would show if the key were passed as an argument.
  const pemBody = (key: KeyObject) =>
    key
      .export({ type: 'pkcs8', format: 'pem' })
      .toString()
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('-----'))
      .join('');
  secrets['signing-key'] = pemBody((await loadOrCreateSigningKey(config.signing)).privateKey);
  secrets['model-signing-key'] = pemBody((await loadOrCreateModelSigningKey(config.modelSigning)).privateKey);
  return secrets;
}

beforeAll(async () => {
  // A worker of its own, started as a person would, so its command line is scanned too.
  const child = spawn(process.execPath, [path.join(repoRoot, 'scripts/kerf.mjs'), 'worker'], {
    env: { ...process.env, TEMPORAL_TASK_QUEUE: uniqueName('secrets') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  worker = child;
  await new Promise<void>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`the worker did not start:\n${output}`)), 120_000);
    const watch = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.includes('Kerf worker polling')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', watch);
    child.stderr.on('data', watch);
    child.once('exit', (code) => reject(new Error(`the worker exited (${String(code)}):\n${output}`)));
  });
}, 150_000);

afterAll(async () => {
  if (worker && worker.exitCode === null) {
    const exited = new Promise((resolve) => worker?.once('exit', resolve));
    worker.kill('SIGTERM');
    await exited;
  }
});

describe('secrets', () => {
  it('appear on no command line of any process while the stack and a worker run', async () => {
    const secrets = await stackSecrets();
    const pids = (await readdir('/proc')).filter((entry) => /^\d+$/.test(entry));
    expect(pids).toContain(String(worker?.pid));
    const exposed: string[] = [];
    for (const pid of pids) {
      const commandLine = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      for (const [name, secret] of Object.entries(secrets)) {
        if (commandLine.includes(secret)) exposed.push(`${name} in the command line of pid ${pid}`);
      }
    }
    expect(exposed).toEqual([]);
    // The supervisor runs with no configuration on its command line at all.
    const state = JSON.parse(await readFile(path.join(config.dataDir, 'stack/state.json'), 'utf8')) as {
      supervisorPid: number;
    };
    const supervisorLine = (await readFile(`/proc/${state.supervisorPid}/cmdline`, 'utf8')).split('\0');
    expect(supervisorLine.filter((part) => part.includes('{'))).toEqual([]);
  });

  it('are kept in 0600 files, the generated ones in a 0700 folder', async () => {
    await stackSecrets();
    const modeOf = async (file: string) => ((await stat(file)).mode & 0o777).toString(8);
    expect(await modeOf(secretsDir(config.dataDir))).toBe('700');
    const files = [
      ...EMBEDDED_SECRET_NAMES.map((name) => path.join(secretsDir(config.dataDir), name)),
      config.api.tokenFile,
      config.signing.keyFile,
      config.modelSigning.keyFile,
    ];
    const modes: Record<string, string> = Object.fromEntries(
      await Promise.all(files.map(async (file): Promise<[string, string]> => [file, await modeOf(file)])),
    );
    expect(modes).toEqual(Object.fromEntries(files.map((file) => [file, '600'])));
  });

  it('differ from one another and from the passwords older versions fixed in the source', async () => {
    const secrets = Object.values(await stackSecrets());
    expect(new Set(secrets).size).toBe(secrets.length);
    expect(secrets).not.toContain('kerf-dev-password');
    expect(secrets).not.toContain('kerf-dev-secret');
  });
});
