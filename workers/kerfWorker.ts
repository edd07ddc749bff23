/**
 * The Kerf worker: runs every workflow and activity on one task queue. It owns the PostgreSQL pool
 * and the S3 client and closes them when it stops.
 */
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import type { KerfConfig } from '../platform/config';
import { createPool, createReaderPool } from '../platform/database';
import { ObjectStore } from '../platform/objectStore';
import { currentCodeVersion } from '../platform/codeVersion';
import { loadOrCreateSigningKey } from '../lifecycle/signing';
import { recordSigningKey } from '../registry';

export const workflowsPath = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

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
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const pool = createPool(config.postgres, { applicationName: 'kerf-worker' });
  const readerPool = createReaderPool(config.postgres, config.specSql, {
    applicationName: 'kerf-worker-spec-sql',
  });
  const objectStore = ObjectStore.fromConfig(config.s3);
  const clientConnection = await Connection.connect({ address: config.temporal.address });
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
    // The registry trusts the keys it has recorded: deploy and serving verify manifests against them.
    await recordSigningKey(pool, {
      keyId: signingKey.keyId,
      publicKey: signingKey.publicKeyPem,
      actor: 'kerf-worker',
    });
    const codeVersion = config.codeVersion ?? currentCodeVersion();
    worker = await Worker.create({
      connection,
      namespace: config.temporal.namespace,
      taskQueue,
      workflowsPath,
      // Training heartbeats carry its progress: send them every 2 s so `kerf run` shows it moving.
      maxHeartbeatThrottleInterval: '2 seconds',
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
