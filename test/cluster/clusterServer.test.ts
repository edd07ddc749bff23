/**
 * The stack in cluster mode (KERF_TEMPORAL_SERVER=cluster) runs a real Temporal server on the
 * embedded PostgreSQL: the frontend says so itself, and `kerf stack status` names it.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { clusterDir } from '../../scripts/stack/clusterConfig';
import { connectTemporalClient } from '../../platform/temporalConnection';
import { runKerf, testConfig } from '../helpers';

const config = testConfig();

describe('the stack in cluster mode', () => {
  it('is configured for the cluster', () => {
    expect(config.temporal.server).toBe('cluster');
  });

  it('runs Temporal server 1.29.1 persisting to PostgreSQL, with the namespace registered', async () => {
    const connection = await connectTemporalClient(config.temporal);
    try {
      const system = await connection.workflowService.getSystemInfo({});
      const cluster = await connection.workflowService.getClusterInfo({});
      expect(system.serverVersion).toBe('1.29.1');
      expect(cluster.serverVersion).toBe('1.29.1');
      expect(cluster.persistenceStore).toBe('postgres12');
      expect(cluster.visibilityStore).toContain('postgres12');
      expect(cluster.historyShardCount).toBe(4);
      const namespace = await connection.workflowService.describeNamespace({
        namespace: config.temporal.namespace,
      });
      expect(namespace.namespaceInfo?.name).toBe(config.temporal.namespace);
    } finally {
      await connection.close();
    }
  });

  it('says in kerf stack status which Temporal runs', async () => {
    const { stdout, code } = await runKerf(['stack', 'status', '--json']);
    expect(code).toBe(0);
    const temporal = (JSON.parse(stdout) as { part: string; detail: string }[]).find(
      (part) => part.part === 'temporal',
    );
    expect(temporal?.detail).toMatch(/^local cluster.*server 1\.29\.1, persistence postgres12/);
  });

  it('keeps the database password out of its config files, which only this user reads', async () => {
    const password = decodeURIComponent(new URL(config.temporal.clusterDatabaseUrl ?? '').password);
    expect(password.length).toBeGreaterThan(16);
    for (const file of ['server/config/development.yaml', 'ui/config/development.yaml']) {
      const full = path.join(clusterDir(config.dataDir), file);
      expect(await readFile(full, 'utf8')).not.toContain(password);
      expect(((await stat(full)).mode & 0o777).toString(8)).toBe('600');
    }
  });
});
