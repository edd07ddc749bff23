/**
 * Kerf's configuration, parsed once from the environment at start-up and handed to whatever needs it.
 * Nothing below the entry points reads `process.env`.
 */
import path from 'node:path';
import { z } from 'zod';
import { fileSecrets, type SecretSource } from './secrets';

/**
 * Ports and role names of the embedded stack; used when no external address is configured. The
 * passwords and S3 keys are not here: they are generated on first start (see platform/secrets.ts).
 */
export const EMBEDDED_DEFAULTS = {
  postgresPort: 5433,
  /** The bootstrap superuser: only the stack (and tests making their own databases) use it. */
  postgresAdminUser: 'kerf',
  /** Owns Kerf's schemas and runs migrations, data loading (shop generate, import-csv). */
  postgresOwnerUser: 'kerf_owner',
  /** Workers, serving and the CLI: a member of kerf_app, with only the grants each table needs. */
  postgresAppUser: 'kerf_app_user',
  /** The SQL of pipeline specs: a member of kerf_reader, SELECT on the data schemas only. */
  postgresReaderUser: 'kerf_reader_user',
  postgresDatabase: 'kerf',
  /** The local Temporal cluster's role: owns the databases `temporal` and `temporal_visibility`. */
  postgresTemporalUser: 'temporal',
  s3Port: 7070,
  temporalPort: 7233,
  temporalUiPort: 8233,
} as const;

/**
 * The local cluster's services listen on KERF_TEMPORAL_PORT + 1 to + 7, and Temporal records their
 * membership ports in a PostgreSQL smallint: the highest of them must stay at or below 32767.
 */
export const CLUSTER_HIGHEST_FRONTEND_PORT = 32_767 - 7;

/** Kerf's own schemas: never readable by spec SQL, whatever KERF_SPEC_SCHEMAS says. */
export const KERF_OWN_SCHEMAS = ['registry', 'serving', 'monitoring', 'access'] as const;

const port = (name: string) =>
  z.coerce
    .number({ error: `${name} must be a port number` })
    .int(`${name} must be a whole number`)
    .min(1, `${name} must be between 1 and 65535`)
    .max(65535, `${name} must be between 1 and 65535`);

const postgresUrl = z.string().refine(
  (value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'postgres:' || url.protocol === 'postgresql:') && url.hostname !== '';
    } catch {
      return false;
    }
  },
  {
    error:
      'DATABASE_URL must look like postgres://USER:PASSWORD@HOST:PORT/DATABASE; unset it to use the embedded PostgreSQL',
  },
);

const httpUrl = z.string().refine(
  (value) => {
    try {
      const url = new URL(value);
      return url.protocol === 'http:' || url.protocol === 'https:';
    } catch {
      return false;
    }
  },
  {
    error:
      'S3_ENDPOINT must be an http(s) URL such as http://127.0.0.1:9000; unset it to use the embedded S3',
  },
);

const hostAndPort = z
  .string()
  .regex(/^[^\s:/]+:\d{1,5}$/, 'TEMPORAL_ADDRESS must be HOST:PORT, for example temporal.internal:7233');

const booleanFlag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'must be true or false' })
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

const emptyAsUndefined = (value: unknown) => (value === '' ? undefined : value);

/** The environment variables Kerf reads, all optional. */
const environmentSchema = z.object({
  KERF_DATA_DIR: z.preprocess(emptyAsUndefined, z.string().optional()),
  KERF_TOOLS_DIR: z.preprocess(emptyAsUndefined, z.string().optional()),
  DATABASE_URL: z.preprocess(emptyAsUndefined, postgresUrl.optional()),
  KERF_OWNER_DATABASE_URL: z.preprocess(emptyAsUndefined, postgresUrl.optional()),
  KERF_READER_DATABASE_URL: z.preprocess(emptyAsUndefined, postgresUrl.optional()),
  KERF_SPEC_SCHEMAS: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(
        /^[a-z_][a-z0-9_]*(,[a-z_][a-z0-9_]*)*$/,
        'KERF_SPEC_SCHEMAS must be a comma-separated list of lower-case schema names, e.g. shop,imported,public',
      )
      .default('shop,imported,public'),
  ),
  KERF_SPEC_SQL_TIMEOUT_SECONDS: z.preprocess(
    emptyAsUndefined,
    z.coerce.number({ error: 'must be a number of seconds' }).positive().default(300),
  ),
  KERF_POSTGRES_PORT: z.preprocess(
    emptyAsUndefined,
    port('KERF_POSTGRES_PORT').default(EMBEDDED_DEFAULTS.postgresPort),
  ),
  TEMPORAL_ADDRESS: z.preprocess(emptyAsUndefined, hostAndPort.optional()),
  TEMPORAL_NAMESPACE: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'TEMPORAL_NAMESPACE may hold letters, digits, ".", "_" and "-"')
      .default('default'),
  ),
  TEMPORAL_TASK_QUEUE: z.preprocess(emptyAsUndefined, z.string().min(1).default('kerf')),
  TEMPORAL_CLI: z.preprocess(emptyAsUndefined, z.string().optional()),
  KERF_TEMPORAL_SERVER: z.preprocess(
    emptyAsUndefined,
    z
      .enum(['dev', 'cluster'], {
        error:
          'KERF_TEMPORAL_SERVER must be dev (the Temporal CLI dev server) or cluster (a Temporal server on the embedded PostgreSQL)',
      })
      .default('dev'),
  ),
  KERF_TEMPORAL_TLS: z.preprocess(
    emptyAsUndefined,
    z
      .enum(['none', 'mtls'], {
        error:
          'KERF_TEMPORAL_TLS must be none or mtls (mutual TLS on the local cluster, with KERF_TEMPORAL_SERVER=cluster)',
      })
      .default('none'),
  ),
  KERF_TEMPORAL_PORT: z.preprocess(
    emptyAsUndefined,
    port('KERF_TEMPORAL_PORT').default(EMBEDDED_DEFAULTS.temporalPort),
  ),
  KERF_TEMPORAL_UI_PORT: z.preprocess(
    emptyAsUndefined,
    port('KERF_TEMPORAL_UI_PORT').default(EMBEDDED_DEFAULTS.temporalUiPort),
  ),
  TEMPORAL_UI_URL: z.preprocess(emptyAsUndefined, httpUrl.optional()),
  S3_ENDPOINT: z.preprocess(emptyAsUndefined, httpUrl.optional()),
  S3_REGION: z.preprocess(emptyAsUndefined, z.string().default('us-east-1')),
  S3_BUCKET: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(
        /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
        'S3_BUCKET must be 3-63 lower-case letters, digits, "." or "-"',
      )
      .default('kerf'),
  ),
  S3_ACCESS_KEY_ID: z.preprocess(emptyAsUndefined, z.string().optional()),
  S3_SECRET_ACCESS_KEY: z.preprocess(emptyAsUndefined, z.string().optional()),
  S3_FORCE_PATH_STYLE: z.preprocess(emptyAsUndefined, booleanFlag.default(true)),
  KERF_S3_PORT: z.preprocess(emptyAsUndefined, port('KERF_S3_PORT').default(EMBEDDED_DEFAULTS.s3Port)),
  KERF_SIGNING_KEY: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .includes('PRIVATE KEY', { message: 'KERF_SIGNING_KEY must be an Ed25519 private key in PEM form' })
      .optional(),
  ),
  KERF_SIGNING_KEY_FILE: z.preprocess(emptyAsUndefined, z.string().optional()),
  KERF_CODE_VERSION: z.preprocess(emptyAsUndefined, z.string().optional()),
  KERF_PIPELINES_DIR: z.preprocess(emptyAsUndefined, z.string().optional()),
  KERF_WEBHOOK_URL: z.preprocess(emptyAsUndefined, httpUrl.optional()),
  KERF_API_TOKEN: z.preprocess(
    emptyAsUndefined,
    z.string().min(16, 'KERF_API_TOKEN must be at least 16 characters').optional(),
  ),
  KERF_API_PORT: z.preprocess(emptyAsUndefined, port('KERF_API_PORT').default(8080)),
  KERF_STACK_TIMEOUT_SECONDS: z.preprocess(
    emptyAsUndefined,
    z.coerce.number({ error: 'must be a number of seconds' }).positive().default(180),
  ),
});

/** Where one part of the stack lives and whether Kerf runs it itself. */
interface PartLocation {
  /** True when Kerf starts this part locally; false when an external address was configured. */
  embedded: boolean;
}

export interface PostgresConfig extends PartLocation {
  /** The application role's connection string: workers, serving and the CLI at run time. */
  url: string;
  /**
   * The owner role's connection string: migrations and data loading (KERF_OWNER_DATABASE_URL; for
   * an external database without it, DATABASE_URL).
   */
  ownerUrl: string;
  /**
   * The reader role's connection string: the SQL of pipeline specs (KERF_READER_DATABASE_URL; for
   * an external database without it, DATABASE_URL).
   */
  readerUrl: string;
  /** The embedded bootstrap superuser on the `postgres` database; undefined for an external one. */
  adminUrl: string | undefined;
  /** Port of the embedded server (ignored when external). */
  port: number;
}

/** How the SQL of pipeline specs runs. */
export interface SpecSqlConfig {
  /** The schemas a spec may read (KERF_SPEC_SCHEMAS), without Kerf's own. */
  schemas: string[];
  /** The longest one statement of spec SQL (one FETCH of a snapshot) may run (KERF_SPEC_SQL_TIMEOUT_SECONDS). */
  statementTimeoutMs: number;
}

export interface TemporalConfig extends PartLocation {
  /** gRPC address of the Temporal frontend, HOST:PORT. */
  address: string;
  namespace: string;
  /** Task queue of the Kerf worker. */
  taskQueue: string;
  /** Web UI address shown to people. */
  uiUrl: string;
  /** Ports of the embedded dev server. */
  port: number;
  uiPort: number;
  /** Explicit Temporal CLI binary, from TEMPORAL_CLI. */
  cliPath: string | undefined;
  /**
   * Which Temporal the embedded stack runs (KERF_TEMPORAL_SERVER): the CLI's dev server, or a
   * Temporal server with PostgreSQL persistence and its own Web UI server.
   * @default 'dev'
   */
  server: 'dev' | 'cluster';
  /**
   * Transport security of the local cluster's frontend (KERF_TEMPORAL_TLS): `mtls` makes the stack
   * generate a CA, a server and a client certificate and require client certificates.
   * @default 'none'
   */
  tls: 'none' | 'mtls';
  /**
   * The local cluster's login role on the embedded PostgreSQL (databases `temporal` and
   * `temporal_visibility`), with its generated password; undefined unless the cluster runs there.
   */
  clusterDatabaseUrl: string | undefined;
}

export interface S3Config extends PartLocation {
  endpoint: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  forcePathStyle: boolean;
  /** Port of the embedded server (ignored when external). */
  port: number;
}

export interface KerfConfig {
  /** Folder for everything the embedded stack keeps (databases, objects, logs, state). */
  dataDir: string;
  /** Folder for tools Kerf builds itself (the Temporal CLI, versitygw). */
  toolsDir: string;
  /** How long `stack up` waits for every part to become healthy. */
  stackTimeoutMs: number;
  postgres: PostgresConfig;
  specSql: SpecSqlConfig;
  temporal: TemporalConfig;
  s3: S3Config;
  /** The key model manifests are signed with. */
  signing: {
    /** An Ed25519 private key in PEM form (KERF_SIGNING_KEY); wins over the key file. */
    privateKeyPem: string | undefined;
    /** The development key, created on first use (KERF_SIGNING_KEY_FILE, default `.data/keys/`). */
    keyFile: string;
  };
  /** The code version recorded with every model version (KERF_CODE_VERSION; else the git commit). */
  codeVersion: string | undefined;
  /** The pipeline specs the nightly check compares with production (KERF_PIPELINES_DIR). */
  pipelinesDir: string;
  /** Where stale models and pending approvals are announced with a JSON POST (KERF_WEBHOOK_URL). */
  webhookUrl: string | undefined;
  /** The prediction API. */
  api: {
    port: number;
    /** The bearer token (KERF_API_TOKEN); without it a development token is kept in `tokenFile`. */
    token: string | undefined;
    tokenFile: string;
  };
}

/** A configuration problem, with one line per bad variable naming it. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Kerf's configuration is invalid:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Parses Kerf's configuration from an environment.
 *
 * @param env the variables to read; the entry point passes `process.env`
 * @param paths where the repository keeps its data and tools by default
 * @param secrets where the embedded stack's passwords and S3 keys come from
 *   @default the 0600 files under `<dataDir>/secrets/`, made on first use
 * @throws ConfigError naming each malformed variable and what it should look like
 */
export function loadConfig(
  env: Record<string, string | undefined>,
  paths: { dataDir: string; toolsDir: string; pipelinesDir?: string },
  secrets?: SecretSource,
): KerfConfig {
  const parsed = environmentSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const variable = issue.path.join('.');
        return issue.message.startsWith(variable) ? issue.message : `${variable}: ${issue.message}`;
      }),
    );
  }
  const e = parsed.data;
  const s3Credentials = [e.S3_ACCESS_KEY_ID, e.S3_SECRET_ACCESS_KEY];
  if (e.S3_ENDPOINT && s3Credentials.some((value) => value === undefined)) {
    throw new ConfigError([
      'S3_ENDPOINT is set, so S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY must be set too',
    ]);
  }
  if (e.KERF_TEMPORAL_TLS === 'mtls' && e.KERF_TEMPORAL_SERVER !== 'cluster') {
    throw new ConfigError([
      'KERF_TEMPORAL_TLS=mtls applies to the local cluster only: set KERF_TEMPORAL_SERVER=cluster too, or unset KERF_TEMPORAL_TLS',
    ]);
  }
  if (e.KERF_TEMPORAL_SERVER === 'cluster' && e.KERF_TEMPORAL_PORT > CLUSTER_HIGHEST_FRONTEND_PORT) {
    throw new ConfigError([
      `KERF_TEMPORAL_PORT must be ${CLUSTER_HIGHEST_FRONTEND_PORT} or lower with KERF_TEMPORAL_SERVER=cluster: ` +
        'the cluster uses the next seven ports too, and Temporal stores them in PostgreSQL as a smallint (at most 32767)',
    ]);
  }
  const d = EMBEDDED_DEFAULTS;
  const temporalAddress = e.TEMPORAL_ADDRESS ?? `127.0.0.1:${e.KERF_TEMPORAL_PORT}`;
  const dataDir = path.resolve(e.KERF_DATA_DIR ?? paths.dataDir);
  // Only what is embedded needs a generated secret: an external database or S3 brings its own.
  const secret = secrets ?? fileSecrets(dataDir);
  const embeddedUrl = (user: string, password: string, database: string = d.postgresDatabase) =>
    `postgres://${user}:${encodeURIComponent(password)}@127.0.0.1:${e.KERF_POSTGRES_PORT}/${database}`;
  const postgres: PostgresConfig =
    e.DATABASE_URL === undefined
      ? {
          embedded: true,
          url: embeddedUrl(d.postgresAppUser, secret('postgres-app-password')),
          ownerUrl:
            e.KERF_OWNER_DATABASE_URL ?? embeddedUrl(d.postgresOwnerUser, secret('postgres-owner-password')),
          readerUrl:
            e.KERF_READER_DATABASE_URL ??
            embeddedUrl(d.postgresReaderUser, secret('postgres-reader-password')),
          adminUrl: embeddedUrl(d.postgresAdminUser, secret('postgres-admin-password'), 'postgres'),
          port: e.KERF_POSTGRES_PORT,
        }
      : {
          embedded: false,
          url: e.DATABASE_URL,
          ownerUrl: e.KERF_OWNER_DATABASE_URL ?? e.DATABASE_URL,
          readerUrl: e.KERF_READER_DATABASE_URL ?? e.DATABASE_URL,
          adminUrl: undefined,
          port: e.KERF_POSTGRES_PORT,
        };
  const ownSchemas: readonly string[] = KERF_OWN_SCHEMAS;
  return {
    // Absolute, so every process (the supervisor runs in the repository folder) agrees on them.
    dataDir,
    toolsDir: path.resolve(e.KERF_TOOLS_DIR ?? paths.toolsDir),
    stackTimeoutMs: e.KERF_STACK_TIMEOUT_SECONDS * 1000,
    postgres,
    specSql: {
      schemas: [...new Set(e.KERF_SPEC_SCHEMAS.split(','))].filter((schema) => !ownSchemas.includes(schema)),
      statementTimeoutMs: e.KERF_SPEC_SQL_TIMEOUT_SECONDS * 1000,
    },
    temporal: {
      embedded: e.TEMPORAL_ADDRESS === undefined,
      address: temporalAddress,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      uiUrl: e.TEMPORAL_UI_URL ?? `http://127.0.0.1:${e.KERF_TEMPORAL_UI_PORT}`,
      port: e.KERF_TEMPORAL_PORT,
      uiPort: e.KERF_TEMPORAL_UI_PORT,
      cliPath: e.TEMPORAL_CLI,
      server: e.KERF_TEMPORAL_SERVER,
      tls: e.KERF_TEMPORAL_TLS,
      clusterDatabaseUrl:
        e.KERF_TEMPORAL_SERVER === 'cluster' && postgres.embedded
          ? embeddedUrl(d.postgresTemporalUser, secret('postgres-temporal-password'), 'temporal')
          : undefined,
    },
    signing: {
      privateKeyPem: e.KERF_SIGNING_KEY,
      keyFile: path.resolve(
        e.KERF_SIGNING_KEY_FILE ?? path.join(dataDir, 'keys', 'manifest-signing-dev.pem'),
      ),
    },
    codeVersion: e.KERF_CODE_VERSION,
    pipelinesDir: path.resolve(e.KERF_PIPELINES_DIR ?? paths.pipelinesDir ?? 'pipelines'),
    webhookUrl: e.KERF_WEBHOOK_URL,
    api: {
      port: e.KERF_API_PORT,
      token: e.KERF_API_TOKEN,
      tokenFile: path.join(dataDir, 'api-token'),
    },
    s3: {
      embedded: e.S3_ENDPOINT === undefined,
      endpoint: e.S3_ENDPOINT ?? `http://127.0.0.1:${e.KERF_S3_PORT}`,
      region: e.S3_REGION,
      bucket: e.S3_BUCKET,
      accessKeyId: e.S3_ACCESS_KEY_ID ?? secret('s3-access-key-id'),
      secretAccessKey: e.S3_SECRET_ACCESS_KEY ?? secret('s3-secret-access-key'),
      forcePathStyle: e.S3_FORCE_PATH_STYLE,
      port: e.KERF_S3_PORT,
    },
  };
}
