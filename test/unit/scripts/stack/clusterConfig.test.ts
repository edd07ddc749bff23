import { describe, expect, it } from 'vitest';
import {
  CLUSTER_PASSWORD_VARIABLE,
  clusterPorts,
  clusterServerConfig,
  clusterUiConfig,
  renderClusterServerConfig,
  type ClusterTlsFiles,
} from '../../../../scripts/stack/clusterConfig';

const tls: ClusterTlsFiles = {
  caCert: '/d/tls/ca.pem',
  serverCert: '/d/tls/server.pem',
  serverKey: '/d/tls/server.key',
  clientCert: '/d/tls/client.pem',
  clientKey: '/d/tls/client.key',
  serverName: 'localhost',
};

describe('the local cluster configuration', () => {
  it('puts the frontend on KERF_TEMPORAL_PORT and the other services on the next seven ports', () => {
    expect(clusterPorts(7233)).toEqual({
      frontend: { grpc: 7233, membership: 7234 },
      history: { grpc: 7235, membership: 7236 },
      matching: { grpc: 7237, membership: 7238 },
      worker: { grpc: 7239, membership: 7240 },
    });
    const config = clusterServerConfig({ frontendPort: 7333, postgresPort: 5533, databaseUser: 'temporal' });
    expect(config.services).toMatchObject({
      frontend: { rpc: { grpcPort: 7333, membershipPort: 7334, bindOnLocalHost: true } },
      worker: { rpc: { grpcPort: 7339, membershipPort: 7340 } },
    });
    expect(config.clusterMetadata).toMatchObject({
      clusterInformation: { active: { rpcAddress: '127.0.0.1:7333' } },
    });
  });

  it('persists to the embedded PostgreSQL with postgres12, the password taken from the environment', () => {
    const config = clusterServerConfig({ frontendPort: 7333, postgresPort: 5533, databaseUser: 'temporal' });
    expect(config.persistence).toMatchObject({
      defaultStore: 'postgres-default',
      visibilityStore: 'postgres-visibility',
      numHistoryShards: 4,
      datastores: {
        'postgres-default': {
          sql: {
            pluginName: 'postgres12',
            databaseName: 'temporal',
            connectAddr: '127.0.0.1:5533',
            user: 'temporal',
          },
        },
        'postgres-visibility': { sql: { pluginName: 'postgres12', databaseName: 'temporal_visibility' } },
      },
    });
    const text = renderClusterServerConfig(config);
    // The first line turns on the server's template rendering; the password is only a reference.
    expect(text.split('\n')[0]).toMatch(/^# enable-template/);
    expect(text).toContain(`"password": "{{ env \`${CLUSTER_PASSWORD_VARIABLE}\` }}"`);
    // The rest is JSON, which YAML reads as it is.
    expect(JSON.parse(text.slice(text.indexOf('\n') + 1))).toEqual(config);
    expect(config.global).not.toHaveProperty('tls');
  });

  it('with mTLS, makes the frontend require client certificates and gives the system worker one', () => {
    const config = clusterServerConfig({
      frontendPort: 7333,
      postgresPort: 5533,
      databaseUser: 'temporal',
      tls,
    });
    expect(config.global).toMatchObject({
      tls: {
        frontend: {
          server: {
            certFile: tls.serverCert,
            keyFile: tls.serverKey,
            requireClientAuth: true,
            clientCaFiles: [tls.caCert],
          },
          client: { serverName: 'localhost', rootCaFiles: [tls.caCert] },
        },
        systemWorker: {
          certFile: tls.clientCert,
          keyFile: tls.clientKey,
          client: { serverName: 'localhost', rootCaFiles: [tls.caCert] },
        },
      },
    });
  });

  it('points the Web UI server at the frontend, with the client certificate under mTLS', () => {
    const plain = clusterUiConfig({ frontendPort: 7333, uiPort: 8333, namespace: 'default' });
    expect(plain).toMatchObject({
      temporalGrpcAddress: '127.0.0.1:7333',
      host: '127.0.0.1',
      port: 8333,
      enableUi: true,
      defaultNamespace: 'default',
      cors: { cookieInsecure: true },
    });
    expect(plain).not.toHaveProperty('tls');
    expect(clusterUiConfig({ frontendPort: 7333, uiPort: 8333, namespace: 'kerf', tls })).toMatchObject({
      tls: {
        caFile: tls.caCert,
        certFile: tls.clientCert,
        keyFile: tls.clientKey,
        serverName: 'localhost',
        enableHostVerification: true,
      },
    });
  });
});
