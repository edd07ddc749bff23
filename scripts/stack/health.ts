/** Live health checks of the three parts, usable from any process (status, up, tests). */
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import { Connection, type ConnectionOptions } from '@temporalio/client';
import type { KerfConfig } from '../../platform/config';
import { createPool } from '../../platform/database';
import { ObjectStore } from '../../platform/objectStore';
import { clusterTlsFiles } from './clusterTls';

export type PartName = 'temporal' | 'postgres' | 's3';
export const PART_NAMES: readonly PartName[] = ['postgres', 's3', 'temporal'];

export interface PartHealth {
  part: PartName;
  /** Where the part answers, as a person would type it. */
  address: string;
  embedded: boolean;
  healthy: boolean;
  /** What was checked, or what failed. */
  detail: string;
}

const describe = (error: unknown): string => {
  if (error instanceof AggregateError && error.errors.length > 0) return describe(error.errors[0]);
  if (error instanceof Error) return error.message.split('\n')[0] ?? error.name;
  return String(error);
};

export async function checkPostgres(config: KerfConfig): Promise<PartHealth> {
  const url = new URL(config.postgres.url);
  const address = `postgres://${url.hostname}:${url.port || '5432'}${url.pathname}`;
  const base = { part: 'postgres' as const, address, embedded: config.postgres.embedded };
  const pool = createPool(config.postgres, { max: 1, applicationName: 'kerf-health' });
  try {
    const { rows } = await pool.query<{ version: string }>('SELECT current_setting($1) AS version', [
      'server_version',
    ]);
    return { ...base, healthy: true, detail: `PostgreSQL ${rows[0]?.version ?? '?'} answers` };
  } catch (error) {
    return { ...base, healthy: false, detail: describe(error) };
  } finally {
    await pool.end().catch(() => undefined);
  }
}

export async function checkS3(config: KerfConfig): Promise<PartHealth> {
  const base = {
    part: 's3' as const,
    address: `${config.s3.endpoint}/${config.s3.bucket}`,
    embedded: config.s3.embedded,
  };
  const store = ObjectStore.fromConfig(config.s3);
  try {
    await store.list('.kerf-health/');
    return { ...base, healthy: true, detail: `bucket ${config.s3.bucket} is listable` };
  } catch (error) {
    return { ...base, healthy: false, detail: describe(error) };
  } finally {
    store.destroy();
  }
}

/** Resolves to an error text when nothing accepts a TCP connection at `host:port`, else undefined. */
export function refusedConnection(address: string, timeoutMs = 3000): Promise<string | undefined> {
  const separator = address.lastIndexOf(':');
  const host = address.slice(0, separator);
  const port = Number(address.slice(separator + 1));
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: timeoutMs });
    const finish = (problem: string | undefined) => {
      socket.destroy();
      resolve(problem);
    };
    socket.once('connect', () => finish(undefined));
    socket.once('timeout', () => finish(`no answer from ${address} within ${timeoutMs} ms`));
    socket.once('error', (error) => finish(`nothing accepts connections at ${address} (${error.message})`));
  });
}

/**
 * How the stack itself reaches its Temporal: plain gRPC, or with the local cluster's client
 * certificate when KERF_TEMPORAL_TLS=mtls. (Kerf's workers and clients get their own TLS settings.)
 */
export async function temporalConnectionOptions(config: KerfConfig): Promise<ConnectionOptions> {
  const { address, embedded, server, tls } = config.temporal;
  if (!embedded || server !== 'cluster' || tls !== 'mtls') return { address };
  const files = clusterTlsFiles(config.dataDir);
  const [crt, key, ca] = await Promise.all(
    [files.clientCert, files.clientKey, files.caCert].map((file) => readFile(file)),
  );
  return {
    address,
    tls: {
      clientCertPair: { crt: crt as Buffer, key: key as Buffer },
      serverRootCACertificate: ca,
      serverNameOverride: files.serverName,
    },
  };
}

/**
 * Which Temporal the stack runs, in words: what the configuration asks for, or, once the server
 * answers, what its persistence shows (the dev server keeps SQLite).
 */
const temporalKind = (config: KerfConfig, persistenceStore?: string) => {
  if (!config.temporal.embedded) return 'external Temporal';
  const server = persistenceStore
    ? persistenceStore === 'sqlite'
      ? 'dev'
      : 'cluster'
    : config.temporal.server;
  return server === 'cluster'
    ? `local cluster${config.temporal.tls === 'mtls' ? ' (mTLS)' : ''}`
    : 'dev server';
};

export async function checkTemporal(config: KerfConfig): Promise<PartHealth> {
  const { address, namespace, uiUrl } = config.temporal;
  const base = {
    part: 'temporal' as const,
    address: `${address} (UI ${uiUrl})`,
    embedded: config.temporal.embedded,
  };
  // gRPC keeps retrying a refused connection until its deadline; a plain TCP probe answers at once.
  const refused = await refusedConnection(address);
  if (refused) return { ...base, healthy: false, detail: `${temporalKind(config)}: ${refused}` };
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({
      ...(await temporalConnectionOptions(config)),
      connectTimeout: '10s',
    });
    const info = await connection.workflowService.getSystemInfo({});
    const cluster = await connection.workflowService.getClusterInfo({});
    await connection.workflowService.describeNamespace({ namespace });
    const details = [
      temporalKind(config, cluster.persistenceStore),
      `server ${info.serverVersion || '?'}`,
      `persistence ${cluster.persistenceStore || '?'}`,
      `namespace ${namespace}`,
    ];
    if (config.temporal.embedded) {
      // The embedded dev server must also serve its Web UI: approvers use it.
      const response = await fetch(uiUrl, { signal: AbortSignal.timeout(3000) });
      if (!response.ok) return { ...base, healthy: false, detail: `Web UI answered HTTP ${response.status}` };
      details.push('Web UI answers');
    }
    return { ...base, healthy: true, detail: details.join(', ') };
  } catch (error) {
    return { ...base, healthy: false, detail: `${temporalKind(config)}: ${describe(error)}` };
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

/** Checks every part at once. */
export async function checkStack(config: KerfConfig): Promise<PartHealth[]> {
  return Promise.all([checkPostgres(config), checkS3(config), checkTemporal(config)]);
}
