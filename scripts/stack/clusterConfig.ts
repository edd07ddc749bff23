/**
 * The local Temporal cluster's configuration files, as plain data: the Temporal server's (PostgreSQL
 * persistence and visibility, four services) and the Web UI server's. Pure: the stack writes what
 * these return.
 */
import path from 'node:path';

/** The environment variable that carries the cluster role's password into the server's config. */
export const CLUSTER_PASSWORD_VARIABLE = 'KERF_TEMPORAL_DB_PASSWORD';

/** The cluster's two databases in the embedded PostgreSQL. */
export const CLUSTER_DATABASES = { persistence: 'temporal', visibility: 'temporal_visibility' } as const;

/** Where the cluster keeps its files under the data folder: configs, certificates. */
export const clusterDir = (dataDir: string) => path.join(dataDir, 'cluster');

/**
 * The ports of the services behind the frontend. They follow KERF_TEMPORAL_PORT (frontend P; P+1 to
 * P+7 for the frontend's membership, history, matching and the system worker) so one variable
 * moves the whole cluster, as it moves the dev server.
 */
export function clusterPorts(frontendPort: number) {
  return {
    frontend: { grpc: frontendPort, membership: frontendPort + 1 },
    history: { grpc: frontendPort + 2, membership: frontendPort + 3 },
    matching: { grpc: frontendPort + 4, membership: frontendPort + 5 },
    worker: { grpc: frontendPort + 6, membership: frontendPort + 7 },
  };
}

/** The certificate files of the cluster's mutual TLS (see clusterTls.ts). */
export interface ClusterTlsFiles {
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** The name the server certificate is made for; clients check it. */
  serverName: string;
}

export interface ClusterServerOptions {
  frontendPort: number;
  postgresPort: number;
  /** The cluster's PostgreSQL login role; its password comes from CLUSTER_PASSWORD_VARIABLE. */
  databaseUser: string;
  /** @default 4 */
  numHistoryShards?: number;
  /** @default 'warn' */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** When set, the frontend requires client certificates signed by the CA. */
  tls?: ClusterTlsFiles;
}

/** The cluster's services, each a process of its own, in start order (the frontend last). */
export const CLUSTER_SERVICES = ['history', 'matching', 'worker', 'frontend'] as const;
export type ClusterService = (typeof CLUSTER_SERVICES)[number];

/** The Temporal server's configuration (the shape of the server's `config/development.yaml`). */
export function clusterServerConfig(options: ClusterServerOptions): Record<string, unknown> {
  const ports = clusterPorts(options.frontendPort);
  const datastore = (databaseName: string, maxConns: number) => ({
    sql: {
      pluginName: 'postgres12',
      databaseName,
      connectAddr: `127.0.0.1:${options.postgresPort}`,
      connectProtocol: 'tcp',
      user: options.databaseUser,
      // Rendered by the server from its environment: the password is in no file and no argument.
      password: `{{ env \`${CLUSTER_PASSWORD_VARIABLE}\` }}`,
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const frontendAddress = `127.0.0.1:${options.frontendPort}`;
  const config: Record<string, unknown> = {
    log: { stdout: true, level: options.logLevel ?? 'warn' },
    persistence: {
      defaultStore: 'postgres-default',
      visibilityStore: 'postgres-visibility',
      numHistoryShards: options.numHistoryShards ?? 4,
      datastores: {
        'postgres-default': datastore(CLUSTER_DATABASES.persistence, 20),
        'postgres-visibility': datastore(CLUSTER_DATABASES.visibility, 4),
      },
    },
    global: {
      membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' },
      ...(options.tls ? { tls: clusterServerTls(options.tls) } : {}),
    },
    services: Object.fromEntries(
      CLUSTER_SERVICES.map((service) => [
        service,
        {
          rpc: {
            grpcPort: ports[service].grpc,
            membershipPort: ports[service].membership,
            bindOnLocalHost: true,
          },
        },
      ]),
    ),
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: {
          enabled: true,
          initialFailoverVersion: 1,
          rpcName: 'frontend',
          rpcAddress: frontendAddress,
        },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
  };
  return config;
}

/**
 * Mutual TLS on the frontend only: it presents the server certificate and requires a client
 * certificate signed by the CA. The system worker (inside the server) calls the frontend too, so it
 * gets the client certificate. The services behind the frontend talk plain gRPC on loopback.
 */
function clusterServerTls(tls: ClusterTlsFiles) {
  const client = { serverName: tls.serverName, rootCaFiles: [tls.caCert] };
  return {
    frontend: {
      server: {
        certFile: tls.serverCert,
        keyFile: tls.serverKey,
        requireClientAuth: true,
        clientCaFiles: [tls.caCert],
      },
      client,
    },
    systemWorker: { certFile: tls.clientCert, keyFile: tls.clientKey, client },
  };
}

/**
 * The server's config file text. YAML is a superset of JSON, so the file is JSON; the first line
 * turns on the server's template rendering, which fills in the password from the environment.
 */
export function renderClusterServerConfig(config: Record<string, unknown>): string {
  return `# enable-template: generated by kerf stack up; edits are overwritten at the next start\n${JSON.stringify(config, null, 2)}\n`;
}

export interface ClusterUiOptions {
  frontendPort: number;
  uiPort: number;
  namespace: string;
  tls?: ClusterTlsFiles;
}

/** The Web UI server's configuration (the shape of ui-server's `config/development.yaml`). */
export function clusterUiConfig(options: ClusterUiOptions): Record<string, unknown> {
  return {
    temporalGrpcAddress: `127.0.0.1:${options.frontendPort}`,
    host: '127.0.0.1',
    port: options.uiPort,
    enableUi: true,
    defaultNamespace: options.namespace,
    // Approvers sign in over plain HTTP on loopback: a Secure CSRF cookie would never come back.
    cors: { cookieInsecure: true, allowOrigins: [`http://127.0.0.1:${options.uiPort}`] },
    notifyOnNewVersion: false,
    refreshInterval: '1m',
    ...(options.tls
      ? {
          tls: {
            caFile: options.tls.caCert,
            certFile: options.tls.clientCert,
            keyFile: options.tls.clientKey,
            serverName: options.tls.serverName,
            enableHostVerification: true,
          },
        }
      : {}),
  };
}

export const renderClusterUiConfig = (config: Record<string, unknown>) =>
  `# generated by kerf stack up; edits are overwritten at the next start\n${JSON.stringify(config, null, 2)}\n`;
