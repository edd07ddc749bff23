/** Live health checks of the three parts, usable from any process (status, up, tests). */
import net from 'node:net';
import type { Connection } from '@temporalio/client';
import { ConfigError, type KerfConfig } from '../../platform/config';
import { createPool } from '../../platform/database';
import { ObjectStore } from '../../platform/objectStore';
import { connectTemporalClient } from '../../platform/temporalConnection';

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
  // A TLS file that is missing or not PEM: the problem itself, not the heading above it.
  if (error instanceof ConfigError) return error.problems.join('; ');
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
    address: `${config.s3.endpoint ?? `AWS S3 (${config.s3.region ?? 'region from the AWS profile'})`}/${config.s3.bucket}`,
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
    ? `local cluster${config.temporal.clusterTls === 'mtls' ? ' (mTLS)' : ''}`
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
    connection = await connectTemporalClient(config.temporal, { connectTimeout: '10s' });
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
