/**
 * The Kerf worker: one process polling the light task queue (the workflows and every activity that
 * mostly waits on I/O), the heavy one (training and evaluation, at most one per core), or both, with
 * one Temporal Worker per queue. It owns the PostgreSQL pool and the S3 client and closes them when
 * it stops, and a light worker starts only with a signing key an admin trusted.
 */
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Client } from '@temporalio/client';
import { type ActivityInterceptorsFactory, Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import type { KerfConfig } from '../platform/config';
import { createPool, createReaderPool } from '../platform/database';
import { ObjectStore } from '../platform/objectStore';
import { currentCodeVersion } from '../platform/codeVersion';
import { HEARTBEAT_THROTTLE_SECONDS, HEAVY_ACTIVITIES } from '../workflows/activityProfiles';
import { ensureRedeliverySchedule } from '../workflows/client/schedules';
import { heavyQueueOf } from '../platform/taskQueues';
import { loadOrCreateModelSigningKey } from '../lifecycle/modelSigningKey';
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

/** Which task queues a worker process polls: `kerf worker --queues`. */
export const WORKER_QUEUES = ['all', 'light', 'heavy'] as const;
export type WorkerQueues = (typeof WORKER_QUEUES)[number];

export interface KerfWorker {
  /** One Temporal Worker per queue this process polls. */
  workers: { light?: Worker; heavy?: Worker };
  /** The queues polled, by kind. */
  taskQueues: { light?: string; heavy?: string };
  /** Runs until `shutdown()`; resolves once in-flight tasks have finished. */
  run(): Promise<void>;
  shutdown(): Promise<void>;
}

/** Splits the activities into the heavy queue's (training, evaluation) and the light queue's (the rest). */
export function activitiesByQueue<T extends Record<string, unknown>>(
  activities: T,
): { light: Partial<T>; heavy: Partial<T> } {
  const heavyNames: readonly string[] = HEAVY_ACTIVITIES;
  const light: Partial<T> = {};
  const heavy: Partial<T> = {};
  for (const name of Object.keys(activities) as (keyof T & string)[]) {
    const activity = activities[name];
    if (heavyNames.includes(name)) heavy[name] = activity;
    else light[name] = activity;
  }
  return { light, heavy };
}

/**
 * Connects to Temporal, PostgreSQL and S3 and builds the worker's Temporal Workers.
 *
 * @param options.taskQueue overrides the configured light queue, so tests can own theirs
 * @param options.heavyTaskQueue overrides the heavy queue
 *   @default the configured one, or `<taskQueue>-heavy` when `taskQueue` is given
 * @param options.queues which queues this process polls
 *   @default 'all'
 * @param options.activityInterceptors run around every activity (the terminal's stage lines,
 *   `workers/terminal.ts`)
 *   @default none
 */
export async function createKerfWorker(
  config: KerfConfig,
  options: {
    taskQueue?: string;
    heavyTaskQueue?: string;
    queues?: WorkerQueues;
    activityInterceptors?: ActivityInterceptorsFactory[];
  } = {},
): Promise<KerfWorker> {
  const connection = await connectTemporalWorker(config.temporal);
  const pool = createPool(config.postgres, { applicationName: 'kerf-worker' });
  const readerPool = createReaderPool(config.postgres, config.specSql, {
    applicationName: 'kerf-worker-spec-sql',
  });
  const objectStore = ObjectStore.fromConfig(config.s3);
  const clientConnection = await connectTemporalClient(config.temporal);
  const taskQueue = options.taskQueue ?? config.temporal.taskQueue;
  const heavyTaskQueue =
    options.heavyTaskQueue ??
    (options.taskQueue ? heavyQueueOf(options.taskQueue) : config.temporal.heavyTaskQueue);
  const queues = options.queues ?? 'all';
  const pollsLight = queues !== 'heavy';
  const pollsHeavy = queues !== 'light';
  const release = async () => {
    objectStore.destroy();
    await pool.end().catch(() => undefined);
    await readerPool.end().catch(() => undefined);
    await clientConnection.close().catch(() => undefined);
    await connection.close().catch(() => undefined);
  };
  const workers: { light?: Worker; heavy?: Worker } = {};
  try {
    const signingKey = await loadOrCreateSigningKey(config.signing);
    const modelSigningKey = await loadOrCreateModelSigningKey(config.modelSigning);
    // Only light activities sign (the security stage); a heavy-only worker trains and scores.
    if (pollsLight)
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
    const activities = activitiesByQueue(
      createActivities({
        pool,
        readerPool,
        objectStore,
        signingKey,
        modelSigningKey,
        codeVersion,
        temporal: {
          client: new Client({ connection: clientConnection, namespace: config.temporal.namespace }),
          taskQueue,
          heavyTaskQueue,
        },
        pipelinesDir: config.pipelinesDir,
        webhooks: config.webhooks,
        retention: config.retention,
      }),
    );
    // What a webhook did not take is posted again by a schedule of the light queue (its workflow runs here).
    if (pollsLight && config.webhooks.urls.length > 0) {
      await ensureRedeliverySchedule(
        new Client({ connection: clientConnection, namespace: config.temporal.namespace }),
        taskQueue,
      );
    }
    const common = {
      connection,
      namespace: config.temporal.namespace,
      // Heartbeats reach Temporal at least every 2 s: `kerf run` shows training moving, and with the
      // training profile's short heartbeat timeout a killed worker is noticed within seconds.
      maxHeartbeatThrottleInterval: `${HEARTBEAT_THROTTLE_SECONDS} seconds`,
      ...(options.activityInterceptors ? { interceptors: { activity: options.activityInterceptors } } : {}),
    } as const;
    if (pollsLight) {
      workers.light = await Worker.create({
        ...common,
        taskQueue,
        workflowsPath,
        activities: activities.light,
        maxConcurrentActivityTaskExecutions: config.temporal.lightConcurrency,
      });
    }
    if (pollsHeavy) {
      // No workflows here: a heavy worker only trains and scores, one activity per core at most.
      workers.heavy = await Worker.create({
        ...common,
        taskQueue: heavyTaskQueue,
        activities: activities.heavy,
        maxConcurrentActivityTaskExecutions: config.temporal.heavyConcurrency,
      });
    }
  } catch (error) {
    await release();
    throw error;
  }
  const created = [workers.light, workers.heavy].filter((worker) => worker !== undefined);
  const stopAll = () => {
    for (const worker of created) if (worker.getState() === 'RUNNING') worker.shutdown();
  };
  let running: Promise<void> | undefined;
  return {
    workers,
    taskQueues: {
      ...(pollsLight ? { light: taskQueue } : {}),
      ...(pollsHeavy ? { heavy: heavyTaskQueue } : {}),
    },
    run() {
      // One Worker failing stops the other: a half-working process would look healthy to Temporal.
      running ??= Promise.all(
        created.map((worker) =>
          worker.run().catch((error: unknown) => {
            stopAll();
            throw error;
          }),
        ),
      )
        .then(() => undefined)
        .finally(release);
      return running;
    },
    async shutdown() {
      stopAll();
      await running;
    },
  };
}
