import { Client, type Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../platform/database';
import { ObjectStore } from '../../platform/objectStore';
import { createKerfWorker, type KerfWorker } from '../../workers/kerfWorker';
import type { smokeCheck } from '../../workflows/smoke';
import { testConfig, uniqueName } from '../helpers';
import { trustWorkerSigningKey } from '../trustedKeys';
import { connectTemporalClient } from '../../platform/temporalConnection';

const config = testConfig();
const taskQueue = uniqueName('smoke');
let kerfWorker: KerfWorker;
let running: Promise<void>;
let connection: Connection;

beforeAll(async () => {
  const admin = createPool({ url: config.postgres.ownerUrl }, { max: 1 });
  await trustWorkerSigningKey(admin, config).finally(() => admin.end());
  kerfWorker = await createKerfWorker(config, { taskQueue });
  running = kerfWorker.run();
  connection = await connectTemporalClient(config.temporal);
});

afterAll(async () => {
  await connection.close();
  await kerfWorker.shutdown();
  await running;
});

describe('the smoke workflow on the real stack', () => {
  it('writes a row to PostgreSQL and an object to S3 and returns both ids', async () => {
    const client = new Client({ connection, namespace: config.temporal.namespace });
    const workflowId = uniqueName('smoke-test');
    const result = await client.workflow.execute<typeof smokeCheck>('smokeCheck', {
      taskQueue,
      workflowId,
      args: [{ note: 'from the test suite' }],
    });
    expect(result.objectKey).toBe(`smoke/${workflowId}.json`);

    const pool = createPool(config.postgres, { max: 1 });
    const store = ObjectStore.fromConfig(config.s3);
    try {
      const { rows } = await pool.query<{ workflow_id: string; note: string; object_key: string }>(
        'SELECT workflow_id, note, object_key FROM smoke_checks WHERE id = $1',
        [result.rowId],
      );
      expect(rows).toEqual([
        { workflow_id: workflowId, note: 'from the test suite', object_key: result.objectKey },
      ]);
      const stored = JSON.parse(new TextDecoder().decode(await store.get(result.objectKey))) as Record<
        string,
        unknown
      >;
      expect(stored).toMatchObject({ workflowId, note: 'from the test suite' });
      await store.delete(result.objectKey);
    } finally {
      store.destroy();
      await pool.end();
    }
  });
});
