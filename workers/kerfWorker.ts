/**
 * The Kerf worker: runs every workflow and activity on one task queue. It owns the PostgreSQL pool
 * and the S3 client and closes them when it stops, and it starts only with a signing key an admin trusted.
 */
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import type { KerfConfig } from '../platform/config';
import { createPool, createReaderPool } from '../platform/database';
import { ObjectStore } from '../platform/objectStore';
import { currentCodeVersion } from '../platform/codeVersion';
import { HEARTBEAT_THROTTLE_SECONDS } from '../workflows/activityProfiles';
import { loadOrCreateSigningKey, type SigningKey } from '../lifecycle/signing';
import { appendAudit, signingKeyTrust } from '../registry';
import type { Queryable } from '../registry/sql';
import { connectTemporalClient, connectTemporalWorker } from '../platform/temporalConnection';

export const workflowsPath = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

/**
 * The worker's signing key is not one an admin trusted (or it was revoked): what it signs would be
 * refused at deploy, so it does not start. The message is one line saying what to run.
 */
export class UntrustedSigningKeyError extends Error {
  constructor(
    readonly keyId: string,
    readonly trust: 'unknown' | 'revoked',
    message: string,
  ) {
    super(message);
    this.name = 'UntrustedSigningKeyError';
  }
}

/** The `kerf keys trust` command that makes this key trusted, with a name saying where it signs. */
export function trustCommandFor(key: Pick<SigningKey, 'publicKeyFile'>): string {
  const file = key.publicKeyFile ?? 'PUBLIC_KEY.pem';
  return `kerf keys trust ${file} --name "worker on ${os.hostname()}"`;
}

/**
 * Refuses a signing key the registry does not trust now. Trust is an admin's act (`kerf keys trust`),
 * never the worker's own: a process that can write the database must not be able to vouch for itself.
 *
 * @throws UntrustedSigningKeyError naming the key and the command an admin runs
 */
export async function assertSigningKeyTrusted(db: Queryable, key: SigningKey): Promise<void> {
  const trust = await signingKeyTrust(db, key.keyId);
  if (trust === 'trusted') return;
  const fromConfiguration =
    key.source === 'configuration'
      ? ' (write the public half of KERF_SIGNING_KEY to a file with `openssl pkey -pubout` and name that file)'
      : '';
  if (trust === 'unknown') {
    throw new UntrustedSigningKeyError(
      key.keyId,
      trust,
      `The worker's manifest signing key ${key.keyId} is not trusted, so the worker does not start: an admin runs \`${trustCommandFor(key)}\`${fromConfiguration}.`,
    );
  }
  const newKey =
    key.source === 'key-file' && key.keyFile
      ? `delete ${key.keyFile} and start again for a new development key`
      : 'configure a new KERF_SIGNING_KEY';
  throw new UntrustedSigningKeyError(
    key.keyId,
    trust,
    `The worker's manifest signing key ${key.keyId} was revoked, so the worker does not start: ${newKey}, then an admin runs \`kerf keys trust NEW_PUBLIC_KEY.pem --name "worker on ${os.hostname()}"\`.`,
  );
}

export interface KerfWorker {
  worker: Worker;
  /** Runs until `shutdown()`; resolves once in-flight tasks have finished. */
  run(): Promise<void>;
  shutdown(): Promise<void>;
}

/**
 * Connects to Temporal, PostgreSQL and S3 and builds the worker.
 *
 * @param options.taskQueue overrides the configured queue, so tests can own theirs
 */
export async function createKerfWorker(
  config: KerfConfig,
  options: { taskQueue?: string } = {},
): Promise<KerfWorker> {
  const connection = await connectTemporalWorker(config.temporal);
  const pool = createPool(config.postgres, { applicationName: 'kerf-worker' });
  const readerPool = createReaderPool(config.postgres, config.specSql, {
    applicationName: 'kerf-worker-spec-sql',
  });
  const objectStore = ObjectStore.fromConfig(config.s3);
  const clientConnection = await connectTemporalClient(config.temporal);
  const taskQueue = options.taskQueue ?? config.temporal.taskQueue;
  const release = async () => {
    objectStore.destroy();
    await pool.end().catch(() => undefined);
    await readerPool.end().catch(() => undefined);
    await clientConnection.close().catch(() => undefined);
    await connection.close().catch(() => undefined);
  };
  let worker: Worker;
  try {
    const signingKey = await loadOrCreateSigningKey(config.signing);
    await assertSigningKeyTrusted(pool, signingKey).catch(async (error: unknown) => {
      if (error instanceof UntrustedSigningKeyError) {
        // Someone tried to sign with a key no admin vouched for: worth a row in the audit log.
        await appendAudit(pool, {
          actor: `kerf-worker@${os.hostname()}`,
          action: 'worker-start-refused',
          details: { keyId: error.keyId, trust: error.trust },
        }).catch(() => undefined);
      }
      throw error;
    });
    const codeVersion = config.codeVersion ?? currentCodeVersion();
    worker = await Worker.create({
      connection,
      namespace: config.temporal.namespace,
      taskQueue,
      workflowsPath,
      // Heartbeats reach Temporal at least every 2 s: `kerf run` shows training moving, and with the
      // training profile's short heartbeat timeout a killed worker is noticed within seconds.
      maxHeartbeatThrottleInterval: `${HEARTBEAT_THROTTLE_SECONDS} seconds`,
      activities: createActivities({
        pool,
        readerPool,
        objectStore,
        signingKey,
        codeVersion,
        temporal: {
          client: new Client({ connection: clientConnection, namespace: config.temporal.namespace }),
          taskQueue,
        },
        pipelinesDir: config.pipelinesDir,
        webhookUrl: config.webhookUrl,
      }),
    });
  } catch (error) {
    await release();
    throw error;
  }
  let running: Promise<void> | undefined;
  return {
    worker,
    run() {
      running ??= worker.run().finally(release);
      return running;
    },
    async shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    },
  };
}
