/**
 * Restarts a stack of its own (its own data folder and ports), so the shared test stack keeps
 * serving the other test files while this one stops and starts everything.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { Client } from '@temporalio/client';
import { afterAll, describe, expect, it } from 'vitest';
import { createPool } from '../../platform/database';
import { ObjectStore } from '../../platform/objectStore';
import { defaultPaths } from '../../platform/paths';
import { stackDown, stackStatus, stackUp } from '../../scripts/stack/control';
import { readState } from '../../scripts/stack/state';
import { freePort, runKerf, testConfig, uniqueName } from '../helpers';
import { connectTemporalClient } from '../../platform/temporalConnection';

const name = uniqueName('restart');
const environment = {
  KERF_DATA_DIR: path.join(defaultPaths.dataDir, 'test-stacks', name),
  // Empty means unset: this stack is embedded whatever the shared one is.
  DATABASE_URL: '',
  TEMPORAL_ADDRESS: '',
  TEMPORAL_UI_URL: '',
  S3_ENDPOINT: '',
  KERF_POSTGRES_PORT: '',
  KERF_S3_PORT: '',
  KERF_TEMPORAL_PORT: '',
  KERF_TEMPORAL_UI_PORT: '',
};
const quiet = () => undefined;

afterAll(async () => {
  const config = testConfig(environment);
  await stackDown(config, quiet);
  await rm(config.dataDir, { recursive: true, force: true });
});

describe('a stack restart', () => {
  it('keeps running workflows, rows and objects, and status tells down from up', async () => {
    Object.assign(environment, {
      KERF_POSTGRES_PORT: String(await freePort()),
      KERF_S3_PORT: String(await freePort()),
      KERF_TEMPORAL_PORT: String(await freePort()),
      KERF_TEMPORAL_UI_PORT: String(await freePort()),
    });
    const config = testConfig(environment);
    expect((await stackUp(config, quiet)).started).toBe(true);

    // A workflow on a queue no worker polls stays running: like a run waiting for approval.
    const workflowId = uniqueName('waiting');
    let connection = await connectTemporalClient(config.temporal);
    const started = await new Client({ connection, namespace: config.temporal.namespace }).workflow.start(
      'smokeCheck',
      { taskQueue: uniqueName('nobody-polls'), workflowId, args: [{ note: 'before the restart' }] },
    );
    await connection.close();
    let pool = createPool(config.postgres, { max: 1 });
    await pool.query("INSERT INTO smoke_checks (workflow_id, note, object_key) VALUES ($1, 'kept', 'none')", [
      workflowId,
    ]);
    await pool.end();
    let store = ObjectStore.fromConfig(config.s3);
    await store.put(`restart/${workflowId}.txt`, 'kept');
    store.destroy();

    await stackDown(config, quiet);
    expect((await stackStatus(config)).map((part) => part.healthy)).toEqual([false, false, false]);
    const status = await runKerf(['stack', 'status'], environment);
    expect(status.code).toBe(1);
    expect(status.stdout).toMatch(/postgres\s+UNHEALTHY/);

    expect((await stackUp(config, quiet)).started).toBe(true);
    connection = await connectTemporalClient(config.temporal);
    try {
      const client = new Client({ connection, namespace: config.temporal.namespace });
      const description = await client.workflow.getHandle(workflowId).describe();
      expect(description.runId).toBe(started.firstExecutionRunId);
      expect(description.status.name).toBe('RUNNING');
      await client.workflow.getHandle(workflowId).terminate('test finished');
    } finally {
      await connection.close();
    }
    pool = createPool(config.postgres, { max: 1 });
    const { rows } = await pool.query('SELECT note FROM smoke_checks WHERE workflow_id = $1', [workflowId]);
    await pool.end();
    expect(rows).toEqual([{ note: 'kept' }]);
    store = ObjectStore.fromConfig(config.s3);
    expect(new TextDecoder().decode(await store.get(`restart/${workflowId}.txt`))).toBe('kept');
    store.destroy();
  });

  it('restarts Temporal alone with `kerf stack restart temporal`, keeping its runs and the other parts', async () => {
    const config = testConfig(environment);
    await stackUp(config, quiet);
    const before = await readState(config.dataDir);
    const workflowId = uniqueName('waiting');
    let connection = await connectTemporalClient(config.temporal);
    await new Client({ connection, namespace: config.temporal.namespace }).workflow.start('smokeCheck', {
      taskQueue: uniqueName('nobody-polls'),
      workflowId,
      args: [{ note: 'before the restart' }],
    });
    await connection.close();

    const restarted = await runKerf(['stack', 'restart', 'temporal'], environment);
    expect(restarted.stderr).toBe('');
    expect(restarted.code).toBe(0);
    expect(restarted.stdout).toMatch(
      /^Restarting temporal \(pid \d+\)\.\.\.\n {2}temporal is healthy again \(pid \d+\)\n/,
    );
    const after = await readState(config.dataDir);
    expect(after?.status).toBe('ready');
    expect(after?.restarts).toBe(1);
    expect(after?.parts.temporal?.pid).not.toBe(before?.parts.temporal?.pid);
    // PostgreSQL and S3 went on as they were.
    expect(after?.parts.postgres?.pid).toBe(before?.parts.postgres?.pid);
    expect(after?.parts.s3?.pid).toBe(before?.parts.s3?.pid);
    connection = await connectTemporalClient(config.temporal);
    try {
      const handle = new Client({ connection, namespace: config.temporal.namespace }).workflow.getHandle(
        workflowId,
      );
      expect((await handle.describe()).status.name).toBe('RUNNING');
      await handle.terminate('test finished');
    } finally {
      await connection.close();
    }

    await stackDown(config, quiet);
    const refused = await runKerf(['stack', 'restart', 'temporal'], environment);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim()).toBe('kerf: The stack is not running: start it with "kerf stack up".');
    const unknown = await runKerf(['stack', 'restart', 'postgres'], environment);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(
      "value 'postgres' is invalid for argument 'part'. Allowed choices are temporal.",
    );
  });
});
