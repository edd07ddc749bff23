/**
 * The local cluster with mutual TLS (KERF_TEMPORAL_TLS=mtls), on a stack of its own (its own data
 * folder and ports): a connection without the client certificate is refused, and a worker that
 * presents it runs the smoke workflow. Raw SDK options on purpose: Kerf's own TLS settings come
 * separately.
 */
import { readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import tls from 'node:tls';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActivityDeps } from '../../activities/deps';
import { createSmokeActivities } from '../../activities/smoke';
import { createPool } from '../../platform/database';
import { ObjectStore } from '../../platform/objectStore';
import { defaultPaths } from '../../platform/paths';
import { clusterTlsFiles } from '../../scripts/stack/clusterTls';
import { stackDown, stackUp } from '../../scripts/stack/control';
import type { smokeCheck } from '../../workflows/smoke';
import { freeClusterPort, freePort, testConfig, uniqueName } from '../helpers';

const name = uniqueName('mtls');
const environment: Record<string, string> = {
  KERF_DATA_DIR: path.join(defaultPaths.dataDir, 'test-stacks', name),
  KERF_TEMPORAL_SERVER: 'cluster',
  KERF_TEMPORAL_TLS: 'mtls',
  // Empty means unset: this stack is embedded whatever the shared one is.
  DATABASE_URL: '',
  TEMPORAL_ADDRESS: '',
  TEMPORAL_UI_URL: '',
  S3_ENDPOINT: '',
};
const quiet = () => undefined;
const smokeWorkflowPath = path.join(import.meta.dirname, '../../workflows/smoke.ts');

beforeAll(async () => {
  Object.assign(environment, {
    KERF_POSTGRES_PORT: String(await freePort()),
    KERF_S3_PORT: String(await freePort()),
    KERF_TEMPORAL_PORT: String(await freeClusterPort()),
    KERF_TEMPORAL_UI_PORT: String(await freePort()),
  });
  await stackUp(testConfig(environment), quiet);
}, 300_000);

afterAll(async () => {
  const config = testConfig(environment);
  await stackDown(config, quiet);
  await rm(config.dataDir, { recursive: true, force: true });
}, 120_000);

describe('the local cluster with mutual TLS', () => {
  it('keeps its keys in 0600 files and writes where the certificates are', async () => {
    const files = clusterTlsFiles(testConfig(environment).dataDir);
    for (const key of [files.clientKey, files.serverKey, path.join(files.dir, 'ca.key')]) {
      expect(((await stat(key)).mode & 0o777).toString(8)).toBe('600');
    }
    expect(((await stat(files.dir)).mode & 0o777).toString(8)).toBe('700');
    expect(await readFile(files.environmentFile, 'utf8')).toContain(`TEMPORAL_TLS_CERT=${files.clientCert}`);
  });

  it('refuses a TLS handshake without a client certificate, and completes it with one', async () => {
    const config = testConfig(environment);
    const files = clusterTlsFiles(config.dataDir);
    const ca = await readFile(files.caCert);
    const handshake = (client: { cert: Buffer; key: Buffer } | object) =>
      new Promise<string>((resolve) => {
        const socket = tls.connect({
          host: '127.0.0.1',
          port: config.temporal.port,
          servername: files.serverName,
          ca,
          ALPNProtocols: ['h2'],
          ...client,
        });
        // TLS 1.3 finishes the handshake before the server checks the client: the refusal is an
        // alert on the first read, so send the HTTP/2 preface and wait for an answer.
        socket.once('secureConnect', () => socket.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'));
        socket.once('data', () => {
          resolve(socket.authorized ? 'answered' : 'answered, unverified');
          socket.destroy();
        });
        socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
        socket.setTimeout(10_000, () => {
          resolve('timed out');
          socket.destroy();
        });
      });
    expect(await handshake({})).toBe('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED');
    expect(
      await handshake({ cert: await readFile(files.clientCert), key: await readFile(files.clientKey) }),
    ).toBe('answered');
  });

  it('gives an SDK client without a client certificate no answer, plain or TLS', async () => {
    const config = testConfig(environment);
    const files = clusterTlsFiles(config.dataDir);
    const attempt = async (tlsOptions?: { serverRootCACertificate: Buffer; serverNameOverride: string }) => {
      const connection = await Connection.connect({
        address: config.temporal.address,
        tls: tlsOptions,
        connectTimeout: '3s',
      });
      try {
        await connection.workflowService.getSystemInfo({});
      } finally {
        await connection.close();
      }
    };
    await expect(attempt()).rejects.toThrow(/Failed to connect/);
    await expect(
      attempt({
        serverRootCACertificate: await readFile(files.caCert),
        serverNameOverride: files.serverName,
      }),
    ).rejects.toThrow(/Failed to connect/);
  });

  it('runs the smoke workflow on a worker that presents the client certificate', async () => {
    const config = testConfig(environment);
    const files = clusterTlsFiles(config.dataDir);
    const clientTls = {
      clientCertPair: { crt: await readFile(files.clientCert), key: await readFile(files.clientKey) },
      serverRootCACertificate: await readFile(files.caCert),
      serverNameOverride: files.serverName,
    };
    const taskQueue = uniqueName('mtls-smoke');
    const pool = createPool(config.postgres, { max: 2 });
    const objectStore = ObjectStore.fromConfig(config.s3);
    const nativeConnection = await NativeConnection.connect({
      address: config.temporal.address,
      tls: clientTls,
    });
    const connection = await Connection.connect({ address: config.temporal.address, tls: clientTls });
    try {
      // The smoke activity uses only the pool and the object store.
      const deps = { pool, objectStore } as unknown as ActivityDeps;
      const worker = await Worker.create({
        connection: nativeConnection,
        namespace: config.temporal.namespace,
        taskQueue,
        workflowsPath: smokeWorkflowPath,
        activities: createSmokeActivities(deps),
      });
      const workflowId = uniqueName('mtls-smoke');
      const result = await worker.runUntil(
        new Client({ connection, namespace: config.temporal.namespace }).workflow.execute<typeof smokeCheck>(
          'smokeCheck',
          { taskQueue, workflowId, args: [{ note: 'over mutual TLS' }] },
        ),
      );
      expect(result.objectKey).toBe(`smoke/${workflowId}.json`);
      const { rows } = await pool.query<{ note: string }>('SELECT note FROM smoke_checks WHERE id = $1', [
        result.rowId,
      ]);
      expect(rows).toEqual([{ note: 'over mutual TLS' }]);
    } finally {
      await connection.close();
      await nativeConnection.close();
      objectStore.destroy();
      await pool.end();
    }
  });
});
