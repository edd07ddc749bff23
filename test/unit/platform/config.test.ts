import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  DEFAULT_LIGHT_CONCURRENCY,
  EMBEDDED_DEFAULTS,
  loadConfig,
} from '../../../platform/config';

const paths = { dataDir: '/srv/kerf/.data', toolsDir: '/srv/kerf/.tools' };
// The embedded stack's generated secrets, without touching the disk.
const secrets = (name: string) => `generated-${name}`;

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env, paths, secrets);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('defaults to the embedded stack', () => {
    const config = loadConfig({}, paths, secrets);
    expect(config.postgres.embedded).toBe(true);
    expect(config.postgres).toMatchObject({
      url: `postgres://${EMBEDDED_DEFAULTS.postgresAppUser}:generated-postgres-app-password@127.0.0.1:5433/kerf`,
      ownerUrl: `postgres://${EMBEDDED_DEFAULTS.postgresOwnerUser}:generated-postgres-owner-password@127.0.0.1:5433/kerf`,
      readerUrl: `postgres://${EMBEDDED_DEFAULTS.postgresReaderUser}:generated-postgres-reader-password@127.0.0.1:5433/kerf`,
      adminUrl: `postgres://${EMBEDDED_DEFAULTS.postgresAdminUser}:generated-postgres-admin-password@127.0.0.1:5433/postgres`,
    });
    expect(config.s3.credentials).toEqual({
      accessKeyId: 'generated-s3-access-key-id',
      secretAccessKey: 'generated-s3-secret-access-key',
    });
    expect(config.temporal).toMatchObject({ tls: undefined, apiKey: undefined });
    expect(config.specSql).toEqual({ schemas: ['shop', 'imported', 'public'], statementTimeoutMs: 300_000 });
    expect(config.temporal).toMatchObject({
      embedded: true,
      address: '127.0.0.1:7233',
      namespace: 'default',
      uiUrl: 'http://127.0.0.1:8233',
    });
    expect(config.s3).toMatchObject({ embedded: true, endpoint: 'http://127.0.0.1:7070', bucket: 'kerf' });
    expect(config.dataDir).toBe(paths.dataDir);
  });

  it('uses external parts when their addresses are given', () => {
    const config = loadConfig(
      {
        DATABASE_URL: 'postgresql://shop:secret@db.internal:5432/kerf',
        TEMPORAL_ADDRESS: 'temporal.internal:7233',
        TEMPORAL_NAMESPACE: 'shop-floor',
        S3_ENDPOINT: 'https://s3.eu-central-1.amazonaws.com',
        S3_BUCKET: 'shop-models',
        S3_ACCESS_KEY_ID: 'AKIA',
        S3_SECRET_ACCESS_KEY: 'secret',
        S3_FORCE_PATH_STYLE: 'false',
      },
      paths,
      secrets,
    );
    expect(config.postgres).toMatchObject({
      embedded: false,
      url: 'postgresql://shop:secret@db.internal:5432/kerf',
      // One role for everything unless the owner and reader roles are given.
      ownerUrl: 'postgresql://shop:secret@db.internal:5432/kerf',
      readerUrl: 'postgresql://shop:secret@db.internal:5432/kerf',
      adminUrl: undefined,
    });
    expect(config.temporal).toMatchObject({
      embedded: false,
      address: 'temporal.internal:7233',
      namespace: 'shop-floor',
    });
    expect(config.s3).toMatchObject({ embedded: false, bucket: 'shop-models', forcePathStyle: false });
  });

  it('takes the owner and reader roles of an external database, and never lets spec SQL read Kerf schemas', () => {
    const config = loadConfig(
      {
        DATABASE_URL: 'postgresql://kerf_app_user:a@db.internal/kerf',
        KERF_OWNER_DATABASE_URL: 'postgresql://kerf_owner:o@db.internal/kerf',
        KERF_READER_DATABASE_URL: 'postgresql://kerf_reader_user:r@db.internal/kerf',
        KERF_SPEC_SCHEMAS: 'shop,registry,erp,serving',
        KERF_SPEC_SQL_TIMEOUT_SECONDS: '20',
      },
      paths,
      secrets,
    );
    expect(config.postgres.ownerUrl).toBe('postgresql://kerf_owner:o@db.internal/kerf');
    expect(config.postgres.readerUrl).toBe('postgresql://kerf_reader_user:r@db.internal/kerf');
    expect(config.specSql).toEqual({ schemas: ['shop', 'erp'], statementTimeoutMs: 20_000 });
    expect(problemsOf({ KERF_SPEC_SCHEMAS: 'shop; drop' })[0]).toMatch(
      /^KERF_SPEC_SCHEMAS must be a comma-separated list/,
    );
  });

  it('makes data and tools folders absolute', () => {
    const config = loadConfig({ KERF_DATA_DIR: 'relative/data' }, paths, secrets);
    expect(config.dataDir).toBe(path.resolve('relative/data'));
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', S3_BUCKET: '' }, paths, secrets).postgres.embedded).toBe(true);
  });

  it.each(['not a url', 'mysql://user@host/db', 'postgres://'])(
    'rejects DATABASE_URL=%j naming it',
    (value) => {
      const problems = problemsOf({ DATABASE_URL: value });
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(
        /^DATABASE_URL must look like postgres:\/\/USER:PASSWORD@HOST:PORT\/DATABASE/,
      );
    },
  );

  it('names every bad variable at once', () => {
    const problems = problemsOf({
      KERF_POSTGRES_PORT: '99999',
      TEMPORAL_ADDRESS: 'no-port',
      S3_BUCKET: 'Bad_Bucket',
    });
    expect(problems.join('\n')).toMatch(/KERF_POSTGRES_PORT must be between 1 and 65535/);
    expect(problems.join('\n')).toMatch(/TEMPORAL_ADDRESS must be HOST:PORT/);
    expect(problems.join('\n')).toMatch(/S3_BUCKET must be 3-63 lower-case/);
    expect(problems).toHaveLength(3);
  });

  describe('task queues', () => {
    it('splits work into a light queue (TEMPORAL_TASK_QUEUE) and a heavy one beside it', () => {
      const config = loadConfig({}, paths, secrets, 8);
      expect(config.temporal).toMatchObject({
        taskQueue: 'kerf',
        heavyTaskQueue: 'kerf-heavy',
        heavyConcurrency: 8,
        lightConcurrency: DEFAULT_LIGHT_CONCURRENCY,
      });
    });

    it('names the heavy queue after a configured light one, unless it is configured too', () => {
      expect(loadConfig({ TEMPORAL_TASK_QUEUE: 'press-shop' }, paths, secrets).temporal.heavyTaskQueue).toBe(
        'press-shop-heavy',
      );
      const both = loadConfig(
        { TEMPORAL_TASK_QUEUE: 'press-shop', TEMPORAL_HEAVY_TASK_QUEUE: 'gpu-box' },
        paths,
        secrets,
      );
      expect(both.temporal).toMatchObject({ taskQueue: 'press-shop', heavyTaskQueue: 'gpu-box' });
    });

    it('takes a heavy concurrency up to the cores, and a light one of any size', () => {
      const config = loadConfig(
        { KERF_HEAVY_CONCURRENCY: '2', KERF_LIGHT_CONCURRENCY: '50' },
        paths,
        secrets,
        4,
      );
      expect(config.temporal).toMatchObject({ heavyConcurrency: 2, lightConcurrency: 50 });
      expect(loadConfig({ KERF_HEAVY_CONCURRENCY: '4' }, paths, secrets, 4).temporal.heavyConcurrency).toBe(
        4,
      );
    });

    it('refuses more heavy activities at once than the machine has cores, saying how many it has', () => {
      expect(() => loadConfig({ KERF_HEAVY_CONCURRENCY: '5' }, paths, secrets, 4)).toThrow(
        /KERF_HEAVY_CONCURRENCY is 5, but this machine has 4 cores: a heavy worker runs at most one training per core; set it to 4 or less/,
      );
    });

    it.each(['0', '-1', '1.5', 'many'])(
      'refuses KERF_HEAVY_CONCURRENCY=%j and KERF_LIGHT_CONCURRENCY=%j',
      (value) => {
        const problems = problemsOf({ KERF_HEAVY_CONCURRENCY: value, KERF_LIGHT_CONCURRENCY: value });
        expect(problems).toHaveLength(2);
        expect(problems[0]).toMatch(/^KERF_HEAVY_CONCURRENCY must be/);
        expect(problems[1]).toMatch(/^KERF_LIGHT_CONCURRENCY must be/);
      },
    );
  });

  it('asks for credentials with an external S3 endpoint', () => {
    expect(problemsOf({ S3_ENDPOINT: 'http://minio:9000' })[0]).toMatch(
      /^S3_ENDPOINT is set, so S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY must be set too/,
    );
    expect(problemsOf({ S3_ENDPOINT: 'aws', S3_ACCESS_KEY_ID: 'AKIA' })).toEqual([
      'S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY go together: set both or neither',
    ]);
    expect(problemsOf({ S3_ENDPOINT: 'minio:9000' })[0]).toMatch(
      /^S3_ENDPOINT must be an http\(s\) URL .* or aws/,
    );
  });

  it('lets the AWS SDK find credentials and region for S3_ENDPOINT=aws without static keys', () => {
    const config = loadConfig(
      { S3_ENDPOINT: 'aws', AWS_REGION: 'eu-central-1', S3_BUCKET: 'acme-kerf' },
      paths,
      secrets,
    );
    expect(config.s3).toMatchObject({
      embedded: false,
      endpoint: undefined,
      region: 'eu-central-1',
      credentials: undefined,
      forcePathStyle: false,
      bucket: 'acme-kerf',
    });
    // S3_REGION wins over the SDK's variables; static keys are still taken when both are given.
    const withKeys = loadConfig(
      {
        S3_ENDPOINT: 'aws',
        S3_REGION: 'eu-west-1',
        AWS_REGION: 'us-east-2',
        S3_ACCESS_KEY_ID: 'AKIA',
        S3_SECRET_ACCESS_KEY: 's',
      },
      paths,
      secrets,
    );
    expect(withKeys.s3).toMatchObject({
      region: 'eu-west-1',
      credentials: { accessKeyId: 'AKIA', secretAccessKey: 's' },
    });
    expect(loadConfig({ S3_ENDPOINT: 'aws' }, paths, secrets).s3.region).toBeUndefined();
  });

  describe('Temporal TLS', () => {
    it('is off unless asked for', () => {
      expect(
        loadConfig({ TEMPORAL_ADDRESS: 't.internal:7233' }, paths, secrets).temporal.tls,
      ).toBeUndefined();
      expect(loadConfig({ TEMPORAL_TLS: 'false' }, paths, secrets).temporal.tls).toBeUndefined();
    });

    it('is on with TEMPORAL_TLS=true alone: the system roots, no client certificate', () => {
      expect(loadConfig({ TEMPORAL_TLS: 'true' }, paths, secrets).temporal.tls).toEqual({
        clientCertFile: undefined,
        clientKeyFile: undefined,
        caFile: undefined,
        serverName: undefined,
      });
    });

    it.each([
      { TEMPORAL_API_KEY: 'cloud-key' },
      { TEMPORAL_TLS_CA: '/etc/kerf/ca.pem' },
      { TEMPORAL_TLS_SERVER_NAME: 'temporal.internal' },
      { TEMPORAL_TLS_CERT: '/etc/kerf/client.pem', TEMPORAL_TLS_KEY: '/etc/kerf/client.key' },
    ])('is implied by %j', (env) => {
      expect(loadConfig(env, paths, secrets).temporal.tls).toBeDefined();
    });

    it('takes the paths, the server name and the API key', () => {
      const config = loadConfig(
        {
          TEMPORAL_ADDRESS: 'kerf.a1b2c.tmprl.cloud:7233',
          TEMPORAL_TLS_CERT: '/etc/kerf/client.pem',
          TEMPORAL_TLS_KEY: '/etc/kerf/client.key',
          TEMPORAL_TLS_CA: '/etc/kerf/ca.pem',
          TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
          TEMPORAL_API_KEY: 'cloud-key',
        },
        paths,
        secrets,
      );
      expect(config.temporal.tls).toEqual({
        clientCertFile: '/etc/kerf/client.pem',
        clientKeyFile: '/etc/kerf/client.key',
        caFile: '/etc/kerf/ca.pem',
        serverName: 'temporal.internal',
      });
      expect(config.temporal.apiKey).toBe('cloud-key');
    });

    it('wants the certificate and key together, and refuses TLS settings with TEMPORAL_TLS=false', () => {
      expect(problemsOf({ TEMPORAL_TLS_CERT: '/etc/kerf/client.pem' })).toEqual([
        'TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together: set both (client certificate and key PEM paths) or neither',
      ]);
      const problems = problemsOf({ TEMPORAL_TLS: 'false', TEMPORAL_API_KEY: 'do-not-print-me' });
      expect(problems).toEqual([
        'TEMPORAL_TLS is false, but TEMPORAL_API_KEY need TLS: unset them or TEMPORAL_TLS',
      ]);
      expect(problems.join('\n')).not.toContain('do-not-print-me');
      expect(problemsOf({ TEMPORAL_TLS: 'maybe' })[0]).toMatch(/^TEMPORAL_TLS: must be true or false/);
      expect(problemsOf({ TEMPORAL_TLS_SERVER_NAME: 'bad name' })[0]).toMatch(
        /^TEMPORAL_TLS_SERVER_NAME must be a host name/,
      );
    });
  });

  it('honours sslmode in the database URLs and refuses the modes node-pg cannot keep', () => {
    const url = 'postgres://kerf_app_user:a@db.internal:5432/kerf?sslmode=verify-full';
    expect(loadConfig({ DATABASE_URL: url }, paths, secrets).postgres.url).toBe(url);
    expect(problemsOf({ DATABASE_URL: 'postgres://a:b@db/kerf?sslmode=prefer' })).toEqual([
      'DATABASE_URL: sslmode must be one of disable, require, verify-ca, verify-full',
    ]);
    expect(
      problemsOf({
        DATABASE_URL: 'postgres://a:b@db/kerf',
        KERF_READER_DATABASE_URL: 'postgres://r:b@db/kerf?sslmode=allow',
      }),
    ).toEqual(['KERF_READER_DATABASE_URL: sslmode must be one of disable, require, verify-ca, verify-full']);
  });

  it('puts the whole list in the error message', () => {
    expect(() => loadConfig({ DATABASE_URL: 'nope' }, paths, secrets)).toThrow(
      /configuration is invalid:\n {2}- DATABASE_URL/,
    );
  });

  it('runs the dev server unless the cluster is asked for, with the cluster role only then', () => {
    expect(loadConfig({}, paths, secrets).temporal).toMatchObject({
      server: 'dev',
      clusterTls: 'none',
      tls: undefined,
      clusterDatabaseUrl: undefined,
    });
    const cluster = loadConfig(
      { KERF_TEMPORAL_SERVER: 'cluster', KERF_TEMPORAL_TLS: 'mtls' },
      paths,
      secrets,
    );
    expect(cluster.temporal).toMatchObject({
      server: 'cluster',
      clusterTls: 'mtls',
      // The same ports as the dev server: every command and test runs on either.
      address: '127.0.0.1:7233',
      uiUrl: 'http://127.0.0.1:8233',
      clusterDatabaseUrl: 'postgres://temporal:generated-postgres-temporal-password@127.0.0.1:5433/temporal',
    });
    // Kerf's own workers and clients present the client certificate the stack makes.
    const tls = cluster.temporal.tls;
    expect(tls?.clientCertFile).toMatch(/cluster\/tls\/client\.pem$/);
    expect(tls?.clientKeyFile).toMatch(/cluster\/tls\/client\.key$/);
    expect(tls?.caFile).toMatch(/cluster\/tls\/ca\.pem$/);
    expect(tls?.serverName).toBe('localhost');
  });

  it('refuses an unknown Temporal kind, mTLS without the cluster, and cluster ports above a smallint', () => {
    expect(problemsOf({ KERF_TEMPORAL_SERVER: 'prod' })).toEqual([
      expect.stringMatching(/^KERF_TEMPORAL_SERVER must be dev .* or cluster/),
    ]);
    expect(problemsOf({ KERF_TEMPORAL_TLS: 'mtls' })).toEqual([
      expect.stringMatching(
        /^KERF_TEMPORAL_TLS=mtls applies to the local cluster only: set KERF_TEMPORAL_SERVER=cluster/,
      ),
    ]);
    expect(problemsOf({ KERF_TEMPORAL_SERVER: 'cluster', KERF_TEMPORAL_PORT: '40000' })).toEqual([
      expect.stringMatching(/^KERF_TEMPORAL_PORT must be 32760 or lower with KERF_TEMPORAL_SERVER=cluster/),
    ]);
    expect(loadConfig({ KERF_TEMPORAL_PORT: '40000' }, paths, secrets).temporal.port).toBe(40_000);
  });
});
