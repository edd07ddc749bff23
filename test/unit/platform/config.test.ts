import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, EMBEDDED_DEFAULTS, loadConfig } from '../../../platform/config';

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
    expect(config.s3).toMatchObject({
      accessKeyId: 'generated-s3-access-key-id',
      secretAccessKey: 'generated-s3-secret-access-key',
    });
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

  it('asks for credentials with an external S3 endpoint', () => {
    expect(problemsOf({ S3_ENDPOINT: 'http://minio:9000' })).toEqual([
      'S3_ENDPOINT is set, so S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY must be set too',
    ]);
  });

  it('puts the whole list in the error message', () => {
    expect(() => loadConfig({ DATABASE_URL: 'nope' }, paths, secrets)).toThrow(
      /configuration is invalid:\n {2}- DATABASE_URL/,
    );
  });

  it('runs the dev server unless the cluster is asked for, with the cluster role only then', () => {
    expect(loadConfig({}, paths, secrets).temporal).toMatchObject({
      server: 'dev',
      tls: 'none',
      clusterDatabaseUrl: undefined,
    });
    const cluster = loadConfig(
      { KERF_TEMPORAL_SERVER: 'cluster', KERF_TEMPORAL_TLS: 'mtls' },
      paths,
      secrets,
    );
    expect(cluster.temporal).toMatchObject({
      server: 'cluster',
      tls: 'mtls',
      // The same ports as the dev server: every command and test runs on either.
      address: '127.0.0.1:7233',
      uiUrl: 'http://127.0.0.1:8233',
      clusterDatabaseUrl: 'postgres://temporal:generated-postgres-temporal-password@127.0.0.1:5433/temporal',
    });
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
