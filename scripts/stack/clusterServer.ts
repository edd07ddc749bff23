/**
 * The local Temporal cluster: a real Temporal server (frontend, history, matching and worker
 * services) persisting to the embedded PostgreSQL, with the Web UI server in front of it. Used
 * instead of the dev server when KERF_TEMPORAL_SERVER=cluster, on the same ports.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import type { KerfConfig } from '../../platform/config';
import { connectTemporalClient } from '../../platform/temporalConnection';
import {
  CLUSTER_DATABASES,
  CLUSTER_PASSWORD_VARIABLE,
  CLUSTER_SERVICES,
  clusterPorts,
  type ClusterService,
  clusterDir,
  clusterServerConfig,
  clusterUiConfig,
  renderClusterServerConfig,
  renderClusterUiConfig,
  type ClusterTlsFiles,
} from './clusterConfig';
import { ensureClusterTls } from './clusterTls';
import { refusedConnection } from './health';
import type { ServerHandle } from './postgresServer';
import { provisionClusterDatabases } from './postgresRoles';
import { hasExited, spawnLogged, stopPid, tailOfFile, waitUntil } from './processes';

/** The binaries the cluster runs (see CLUSTER_TOOLS). */
export interface ClusterBinaries {
  server: string;
  sqlTool: string;
  uiServer: string;
}

/** How long a namespace keeps closed workflows: as long as the dev server keeps them. */
const RETENTION = '24h';

/**
 * Creates or upgrades one database's schema with the SQL tool, as the cluster's role. The tool
 * carries the schema files of its release (`--schema-name postgresql/v12/...`), so a newer server
 * upgrades the schema at the next start; the password reaches it through SQL_PASSWORD.
 */
async function migrateSchema(
  config: KerfConfig,
  sqlTool: string,
  database: string,
  schemaName: string,
  logFile: string,
): Promise<void> {
  const role = clusterRole(config);
  const env = {
    SQL_PLUGIN: 'postgres12',
    SQL_HOST: '127.0.0.1',
    SQL_PORT: String(config.postgres.port),
    SQL_USER: role.user,
    SQL_PASSWORD: role.password,
    SQL_DATABASE: database,
  };
  const steps = [
    ['setup-schema', '-v', '0.0'],
    ['update-schema', '--schema-name', schemaName],
  ];
  for (const step of steps) {
    const child = spawnLogged(sqlTool, step, logFile, { env });
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', resolve);
    });
    if (code !== 0) {
      throw new Error(
        `The Temporal SQL tool could not ${step[0]} on database ${database} (exit code ${code}). ` +
          `Last lines of ${logFile}:\n${await tailOfFile(logFile)}`,
      );
    }
  }
}

/** Registers the namespace Kerf uses, unless it exists: the cluster starts with none of its own. */
async function ensureNamespace(config: KerfConfig): Promise<void> {
  const connection = await connectTemporalClient(config.temporal, { connectTimeout: '10s' });
  try {
    await connection.workflowService.registerNamespace({
      namespace: config.temporal.namespace,
      workflowExecutionRetentionPeriod: msToTs(RETENTION),
    });
  } catch (error) {
    // 6 is gRPC ALREADY_EXISTS: a restart finds the namespace from the last time.
    if ((error as { code?: number }).code !== 6) throw error;
  } finally {
    await connection.close();
  }
}

/** True when the frontend answers `ask` (the server is up, the namespace is there...). */
async function frontendAnswers(
  config: KerfConfig,
  ask: (connection: Connection) => Promise<unknown>,
): Promise<boolean> {
  let connection: Connection | undefined;
  try {
    connection = await connectTemporalClient(config.temporal, { connectTimeout: '3s' });
    await ask(connection);
    return true;
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

/** The cluster's PostgreSQL role, from its URL in the configuration. */
function clusterRole(config: KerfConfig): { user: string; password: string } {
  const url = new URL(config.temporal.clusterDatabaseUrl ?? 'postgres://unset@127.0.0.1/none');
  return { user: decodeURIComponent(url.username), password: decodeURIComponent(url.password) };
}

/**
 * Provisions the databases, migrates their schemas, writes the config files, starts the server
 * and the Web UI server and registers the namespace. PostgreSQL must already be running.
 */
export async function startTemporalCluster(
  config: KerfConfig,
  binaries: ClusterBinaries,
  logFiles: { service: (service: ClusterService) => string; ui: string; schema: string },
  timeoutMs: number,
): Promise<ServerHandle> {
  const root = clusterDir(config.dataDir);
  await provisionClusterDatabases(config, Object.values(CLUSTER_DATABASES));
  await migrateSchema(
    config,
    binaries.sqlTool,
    CLUSTER_DATABASES.persistence,
    'postgresql/v12/temporal',
    logFiles.schema,
  );
  await migrateSchema(
    config,
    binaries.sqlTool,
    CLUSTER_DATABASES.visibility,
    'postgresql/v12/visibility',
    logFiles.schema,
  );

  const tls: ClusterTlsFiles | undefined =
    config.temporal.clusterTls === 'mtls' ? await ensureClusterTls(config.dataDir) : undefined;
  const serverRoot = path.join(root, 'server');
  const uiRoot = path.join(root, 'ui');
  await mkdir(path.join(serverRoot, 'config'), { recursive: true, mode: 0o700 });
  await mkdir(path.join(uiRoot, 'config'), { recursive: true, mode: 0o700 });
  const serverConfig = clusterServerConfig({
    frontendPort: config.temporal.port,
    postgresPort: config.postgres.port,
    databaseUser: clusterRole(config).user,
    tls,
  });
  await writeFile(
    path.join(serverRoot, 'config', 'development.yaml'),
    renderClusterServerConfig(serverConfig),
    {
      mode: 0o600,
    },
  );
  const uiConfig = clusterUiConfig({
    frontendPort: config.temporal.port,
    uiPort: config.temporal.uiPort,
    namespace: config.temporal.namespace,
    tls,
  });
  await writeFile(path.join(uiRoot, 'config', 'development.yaml'), renderClusterUiConfig(uiConfig), {
    mode: 0o600,
  });

  const { password } = clusterRole(config);
  // One process per service, as a production cluster runs them: they find each other through the
  // membership table in PostgreSQL. They start one after the other, each once the one before
  // listens: on a new database each would otherwise race to write the cluster's metadata.
  const ports = clusterPorts(config.temporal.port);
  const services: { service: ClusterService; logFile: string; child: ChildProcess }[] = [];
  let ui: ReturnType<typeof spawnLogged> | undefined;
  const stopAll = async () => {
    if (ui?.pid) await stopPid(ui.pid, 10_000);
    await Promise.all(
      services.map(({ child }) => (child.pid ? stopPid(child.pid, 30_000) : Promise.resolve())),
    );
  };
  const exitedService = () => services.find(({ child }) => hasExited(child));
  const failure = async (failed: (typeof services)[number], what: string) => {
    // The server logs JSON lines with Go stack traces: quote the messages, not the traces.
    const tail = (await tailOfFile(failed.logFile, 6)).replace(/,"stacktrace":"(?:[^"\\]|\\.)*"/g, '');
    return new Error(
      `The Temporal ${failed.service} service ${hasExited(failed.child) ? 'exited during start-up' : what} ` +
        `(frontend ${config.temporal.address}). Last lines of ${failed.logFile}:\n${tail}`,
    );
  };
  try {
    for (const service of CLUSTER_SERVICES) {
      const logFile = logFiles.service(service);
      const args = ['--root', serverRoot, '--config', 'config', '--env', 'development', '--allow-no-auth'];
      const child = spawnLogged(binaries.server, [...args, 'start', '--service', service], logFile, {
        env: { [CLUSTER_PASSWORD_VARIABLE]: password },
      });
      const started = { service, logFile, child };
      services.push(started);
      const listening = await waitUntil(
        async () =>
          hasExited(child) ||
          (await refusedConnection(`127.0.0.1:${ports[service].membership}`, 1000)) === undefined,
        timeoutMs,
        250,
      );
      if (!listening || hasExited(child))
        throw await failure(started, 'did not listen on its membership port');
    }
    const frontendUp = await waitUntil(
      async () =>
        exitedService() !== undefined ||
        (await frontendAnswers(config, (connection) => connection.workflowService.getSystemInfo({}))),
      timeoutMs,
      1000,
    );
    const failed = exitedService() ?? (frontendUp ? undefined : services[services.length - 1]);
    if (failed) throw await failure(failed, 'did not become healthy');
    await ensureNamespace(config);
    // A new namespace reaches every frontend's cache within seconds.
    const { namespace } = config.temporal;
    const describe = (connection: Connection) => connection.workflowService.describeNamespace({ namespace });
    if (!(await waitUntil(() => frontendAnswers(config, describe), 30_000, 500))) {
      throw new Error(`The Temporal server does not show the namespace ${config.temporal.namespace}.`);
    }
    ui = spawnLogged(
      binaries.uiServer,
      ['--root', uiRoot, '--config', 'config', '--env', 'development', 'start'],
      logFiles.ui,
    );
    const uiChild = ui;
    const uiUp = await waitUntil(
      async () =>
        hasExited(uiChild) ||
        (await fetch(config.temporal.uiUrl, { signal: AbortSignal.timeout(2000) }).then(
          (response) => response.ok,
          () => false,
        )),
      timeoutMs,
      500,
    );
    if (!uiUp || hasExited(uiChild)) {
      throw new Error(
        `The Temporal Web UI server did not answer at ${config.temporal.uiUrl}. ` +
          `Last lines of ${logFiles.ui}:\n${await tailOfFile(logFiles.ui)}`,
      );
    }
  } catch (error) {
    await stopAll();
    throw error;
  }
  const [frontend, ...others] = [...services].reverse();
  return {
    pid: frontend?.child.pid,
    otherPids: [...others.map(({ child }) => child.pid), ui.pid].filter((pid) => pid !== undefined),
    address: `${config.temporal.address} (UI ${config.temporal.uiUrl})`,
    logFile: frontend?.logFile ?? logFiles.service('frontend'),
    stop: stopAll,
  };
}
