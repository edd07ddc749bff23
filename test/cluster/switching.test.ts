/**
 * Switching one data folder between the dev server and the local cluster: each keeps its own
 * Temporal data, so a workflow started on one is found again on it, never on the other, and a
 * running stack of one kind is not silently taken for the other. A stack of its own.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultPaths } from '../../platform/paths';
import { stackDown, stackUp } from '../../scripts/stack/control';
import { freeClusterPort, freePort, testConfig, uniqueName } from '../helpers';

const name = uniqueName('switch');
const environment: Record<string, string> = {
  KERF_DATA_DIR: path.join(defaultPaths.dataDir, 'test-stacks', name),
  DATABASE_URL: '',
  TEMPORAL_ADDRESS: '',
  TEMPORAL_UI_URL: '',
  S3_ENDPOINT: '',
  KERF_TEMPORAL_TLS: '',
};
const quiet = () => undefined;
const as = (server: 'dev' | 'cluster') => testConfig({ ...environment, KERF_TEMPORAL_SERVER: server });

/** Starts a workflow no worker polls (it waits, like a run awaiting approval) and returns its id. */
async function startWaiting(server: 'dev' | 'cluster'): Promise<string> {
  const config = as(server);
  const connection = await Connection.connect({ address: config.temporal.address });
  try {
    const workflowId = uniqueName(`waiting-on-${server}`);
    await new Client({ connection, namespace: config.temporal.namespace }).workflow.start('smokeCheck', {
      taskQueue: uniqueName('nobody-polls'),
      workflowId,
      args: [{ note: `started on the ${server} Temporal` }],
    });
    return workflowId;
  } finally {
    await connection.close();
  }
}

/** The workflow's status on the running Temporal, or 'not found'. */
async function statusOf(server: 'dev' | 'cluster', workflowId: string): Promise<string> {
  const config = as(server);
  const connection = await Connection.connect({ address: config.temporal.address });
  try {
    const client = new Client({ connection, namespace: config.temporal.namespace });
    return (await client.workflow.getHandle(workflowId).describe()).status.name;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return 'not found';
    throw error;
  } finally {
    await connection.close();
  }
}

afterAll(async () => {
  await stackDown(as('dev'), quiet);
  await rm(as('dev').dataDir, { recursive: true, force: true });
}, 120_000);

describe('switching a data folder between the dev server and the cluster', () => {
  it('keeps each one its own workflows and refuses to switch under a running stack', async () => {
    Object.assign(environment, {
      KERF_POSTGRES_PORT: String(await freePort()),
      KERF_S3_PORT: String(await freePort()),
      KERF_TEMPORAL_PORT: String(await freeClusterPort()),
      KERF_TEMPORAL_UI_PORT: String(await freePort()),
    });
    await stackUp(as('cluster'), quiet);
    const onCluster = await startWaiting('cluster');
    await expect(stackUp(as('dev'), quiet)).rejects.toThrow(
      /already runs the Temporal local cluster, not the dev server .* Stop it with "kerf stack down" first/,
    );
    await stackDown(as('cluster'), quiet);

    await stackUp(as('dev'), quiet);
    expect(await statusOf('dev', onCluster)).toBe('not found');
    const onDev = await startWaiting('dev');
    await stackDown(as('dev'), quiet);

    await stackUp(as('cluster'), quiet);
    expect(await statusOf('cluster', onCluster)).toBe('RUNNING');
    expect(await statusOf('cluster', onDev)).toBe('not found');
    await stackDown(as('cluster'), quiet);

    await stackUp(as('dev'), quiet);
    expect(await statusOf('dev', onDev)).toBe('RUNNING');
  }, 600_000);
});
