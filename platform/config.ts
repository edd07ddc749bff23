/**
 * Kerf's configuration, parsed once from the environment at start-up and handed to whatever needs it.
 * Nothing below the entry points reads `process.env`.
 */
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { PostgresTlsError, postgresConnection } from './postgresTls';
import { fileSecrets, type SecretSource } from './secrets';
import { heavyQueueOf } from './taskQueues';

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

/**
 * The sslmode values of a PostgreSQL URL Kerf honours (libpq's meaning). `prefer` and `allow` are
 * refused: node-pg cannot fall back between TLS and plain text, so they would silently mean one.
 */
export const POSTGRES_SSL_MODES = ['disable', 'require', 'verify-ca', 'verify-full'] as const;

const postgresSslMode = (name: string) =>
  z.string().refine(
    (value) => {
      try {
        const mode = new URL(value).searchParams.get('sslmode');
        return mode === null || (POSTGRES_SSL_MODES as readonly string[]).includes(mode);
      } catch {
        return true; // the URL check names the problem
      }
    },
    { error: `${name}: sslmode must be one of ${POSTGRES_SSL_MODES.join(', ')}` },
  );

const databaseUrl = (name: string) =>
  z.preprocess(emptyAsUndefined, postgresUrl.pipe(postgresSslMode(name)).optional());

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

/** S3_ENDPOINT: an http(s) URL of an S3-compatible store, or `aws` for AWS S3 itself. */
const s3Endpoint = z.string().refine((value) => value === 'aws' || httpUrl.safeParse(value).success, {
  error:
    'S3_ENDPOINT must be an http(s) URL such as http://127.0.0.1:9000, or aws for AWS S3; unset it to use the embedded S3',
});

/** A file path given in a variable; the file itself is read where it is used, at start-up. */
const filePath = (name: string) =>
  z.preprocess(emptyAsUndefined, z.string({ error: `${name} must be the path of a PEM file` }).optional());

const booleanFlag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'must be true or false' })
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

const emptyAsUndefined = (value: unknown) => (value === '' ? undefined : value);

const concurrency = (name: string) =>
  z.coerce
    .number({ error: `${name} must be a whole number of activities` })
    .int(`${name} must be a whole number`)
    .min(1, `${name} must be at least 1`);

/**
 * Light activities wait on PostgreSQL, S3 and Temporal far more than they compute: a few dozen at
 * once keep one process busy without starving its event loop.
 */
export const DEFAULT_LIGHT_CONCURRENCY = 20;

/** How long Kerf keeps what it no longer needs (KERF_PREDICTION_RETENTION_MONTHS, KERF_GC_AFTER_DAYS). */
export interface RetentionConfig {
  /**
   * Months the prediction log keeps: a month partition of `serving.predictions` is dropped once its
   * whole month is older than this, so every prediction younger is kept.
   * @default 12
   */
  predictionMonths: number;
  /**
   * Days after a version was rejected, superseded or failed before garbage collection removes its
   * objects (never those of a version that was ever approved, never an object a kept version uses).
   * @default 30
   */
  gcAfterDays: number;
}

export const DEFAULT_RETENTION: Readonly<RetentionConfig> = { predictionMonths: 12, gcAfterDays: 30 };

/** How worker and start logs are written (KERF_LOG_FORMAT): lines for a person, or JSON lines. */
export const LOG_FORMATS = ['text', 'json'] as const;
/** The least severe record the log file keeps (KERF_LOG_LEVEL). */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/** Where and how `kerf worker` and `npm start` log (`platform/log.ts`). */
export interface LogConfig {
  /**
   * `text`: a line per stage and decision on the terminal, the full records in the file; `json`:
   * the full records on standard output too, one JSON object a line (KERF_LOG_FORMAT).
   * @default 'text'
   */
  format: (typeof LOG_FORMATS)[number];
  /**
   * The least severe record written to the file and, with `json`, to standard output (KERF_LOG_LEVEL).
   * @default 'info'
   */
  level: (typeof LOG_LEVELS)[number];
  /**
   * The folder of the log files, `kerf-worker.log` and `kerf-start.log` (KERF_LOG_DIR).
   * @default `<dataDir>/logs`, beside the stack's own logs
   */
  dir: string;
}

/** The environment variables Kerf reads, all optional. */
const environmentSchema = z.object({
  KERF_DATA_DIR: z.preprocess(emptyAsUndefined, z.string().optional()),
  KERF_TOOLS_DIR: z.preprocess(emptyAsUndefined, z.string().optional()),
  DATABASE_URL: databaseUrl('DATABASE_URL'),
  KERF_OWNER_DATABASE_URL: databaseUrl('KERF_OWNER_DATABASE_URL'),
  KERF_READER_DATABASE_URL: databaseUrl('KERF_READER_DATABASE_URL'),
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
  TEMPORAL_HEAVY_TASK_QUEUE: z.preprocess(emptyAsUndefined, z.string().min(1).optional()),
  KERF_HEAVY_CONCURRENCY: z.preprocess(emptyAsUndefined, concurrency('KERF_HEAVY_CONCURRENCY').optional()),
  KERF_LIGHT_CONCURRENCY: z.preprocess(
    emptyAsUndefined,
    concurrency('KERF_LIGHT_CONCURRENCY').default(DEFAULT_LIGHT_CONCURRENCY),
  ),
  TEMPORAL_CLI: z.preprocess(emptyAsUndefined, z.string().optional()),
  TEMPORAL_TLS: z.preprocess(emptyAsUndefined, booleanFlag.optional()),
  TEMPORAL_TLS_CERT: filePath('TEMPORAL_TLS_CERT'),
  TEMPORAL_TLS_KEY: filePath('TEMPORAL_TLS_KEY'),
  TEMPORAL_TLS_CA: filePath('TEMPORAL_TLS_CA'),
  TEMPORAL_TLS_SERVER_NAME: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(/^[A-Za-z0-9.-]+$/, 'TEMPORAL_TLS_SERVER_NAME must be a host name, e.g. temporal.internal')
      .optional(),
  ),
  TEMPORAL_API_KEY: z.preprocess(emptyAsUndefined, z.string().optional()),
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
  S3_ENDPOINT: z.preprocess(emptyAsUndefined, s3Endpoint.optional()),
  S3_REGION: z.preprocess(emptyAsUndefined, z.string().optional()),
  // The AWS SDK's own region variables, read here so that `S3_ENDPOINT=aws` follows them too.
  AWS_REGION: z.preprocess(emptyAsUndefined, z.string().optional()),
  AWS_DEFAULT_REGION: z.preprocess(emptyAsUndefined, z.string().optional()),
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
  S3_FORCE_PATH_STYLE: z.preprocess(emptyAsUndefined, booleanFlag.optional()),
  KERF_S3_PORT: z.preprocess(emptyAsUndefined, port('KERF_S3_PORT').default(EMBEDDED_DEFAULTS.s3Port)),
  KERF_SIGNING_KEY: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .includes('PRIVATE KEY', { message: 'KERF_SIGNING_KEY must be an Ed25519 private key in PEM form' })
      .optional(),
  ),
  KERF_SIGNING_KEY_FILE: z.preprocess(emptyAsUndefined, z.string().optional()),
  KERF_MODEL_SIGNING_KEY: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .includes('PRIVATE KEY', {
        message: 'KERF_MODEL_SIGNING_KEY must be an ECDSA P-256 private key in PEM form',
      })
      .optional(),
  ),
  KERF_MODEL_SIGNING_KEY_FILE: z.preprocess(emptyAsUndefined, z.string().optional()),
  KERF_CODE_VERSION: z.preprocess(emptyAsUndefined, z.string().optional()),
  KERF_PIPELINES_DIR: z.preprocess(emptyAsUndefined, z.string().optional()),
  KERF_WEBHOOK_URL: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .refine(
        (value) => value.split(',').every((url) => httpUrl.safeParse(url.trim()).success),
        'KERF_WEBHOOK_URL must be one http(s) URL or several separated by commas',
      )
      .optional(),
  ),
  KERF_WEBHOOK_SECRET: z.preprocess(
    emptyAsUndefined,
    z.string().min(16, 'KERF_WEBHOOK_SECRET must be at least 16 characters').optional(),
  ),
  KERF_API_TOKEN: z.preprocess(
    emptyAsUndefined,
    z.string().min(16, 'KERF_API_TOKEN must be at least 16 characters').optional(),
  ),
  KERF_API_PORT: z.preprocess(emptyAsUndefined, port('KERF_API_PORT').default(8080)),
  KERF_API_HOST: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(/^[A-Za-z0-9.:-]+$/, 'KERF_API_HOST must be an address to listen on, e.g. 0.0.0.0 or 127.0.0.1')
      .default('127.0.0.1'),
  ),
  KERF_STACK_TIMEOUT_SECONDS: z.preprocess(
    emptyAsUndefined,
    z.coerce.number({ error: 'must be a number of seconds' }).positive().default(180),
  ),
  KERF_PREDICTION_RETENTION_MONTHS: z.preprocess(
    emptyAsUndefined,
    z.coerce
      .number({ error: 'KERF_PREDICTION_RETENTION_MONTHS must be a whole number of months' })
      .int('KERF_PREDICTION_RETENTION_MONTHS must be a whole number of months')
      .min(1, 'KERF_PREDICTION_RETENTION_MONTHS must be 1 to 1200 months')
      .max(1200, 'KERF_PREDICTION_RETENTION_MONTHS must be 1 to 1200 months')
      .default(DEFAULT_RETENTION.predictionMonths),
  ),
  KERF_GC_AFTER_DAYS: z.preprocess(
    emptyAsUndefined,
    z.coerce
      .number({ error: 'KERF_GC_AFTER_DAYS must be a whole number of days' })
      .int('KERF_GC_AFTER_DAYS must be a whole number of days')
      .min(1, 'KERF_GC_AFTER_DAYS must be 1 to 36500 days')
      .max(36_500, 'KERF_GC_AFTER_DAYS must be 1 to 36500 days')
      .default(DEFAULT_RETENTION.gcAfterDays),
  ),
  KERF_LOG_FORMAT: z.preprocess(
    emptyAsUndefined,
    z
      .enum(LOG_FORMATS, {
        error:
          'KERF_LOG_FORMAT must be text (a line per stage for a person) or json (every record as a JSON line on standard output, for a log collector)',
      })
      .default('text'),
  ),
  KERF_LOG_LEVEL: z.preprocess(
    emptyAsUndefined,
    z.enum(LOG_LEVELS, { error: `KERF_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
  ),
  KERF_LOG_DIR: z.preprocess(emptyAsUndefined, z.string().optional()),
});

/** Every environment variable Kerf reads: deployment templates are checked against this list. */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(environmentSchema.shape);

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
  /**
   * The light task queue (TEMPORAL_TASK_QUEUE): the workflows and every activity that mostly waits on
   * I/O (ingest, validate, registry, fairness, security, approval, deploy, the nightly check).
   */
  taskQueue: string;
  /**
   * The heavy task queue (TEMPORAL_HEAVY_TASK_QUEUE): training and evaluation, the activities that
   * keep a core busy for minutes.
   * @default `<taskQueue>-heavy`
   */
  heavyTaskQueue: string;
  /**
   * How many heavy activities one worker runs at once (KERF_HEAVY_CONCURRENCY); never more than the
   * machine's cores, since each trains on one.
   * @default os.availableParallelism()
   */
  heavyConcurrency: number;
  /**
   * How many light activities one worker runs at once (KERF_LIGHT_CONCURRENCY).
   * @default 20
   */
  lightConcurrency: number;
  /** Web UI address shown to people. */
  uiUrl: string;
  /** Ports of the embedded dev server. */
  port: number;
  uiPort: number;
  /** Explicit Temporal CLI binary, from TEMPORAL_CLI. */
  cliPath: string | undefined;
  /**
   * TLS towards the frontend (platform/temporalConnection.ts reads the files); undefined for plain
   * text.
   */
  tls: TemporalTlsConfig | undefined;
  /** Temporal Cloud API key (TEMPORAL_API_KEY), sent as a bearer token. A secret: never printed. */
  apiKey: string | undefined;
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
  clusterTls: 'none' | 'mtls';
  /**
   * The local cluster's login role on the embedded PostgreSQL (databases `temporal` and
   * `temporal_visibility`), with its generated password; undefined unless the cluster runs there.
   */
  clusterDatabaseUrl: string | undefined;
}

/** TLS towards the Temporal frontend: paths of PEM files, read when a connection is opened. */
export interface TemporalTlsConfig {
  /** Client certificate and key for mTLS (TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY), both or neither. */
  clientCertFile: string | undefined;
  clientKeyFile: string | undefined;
  /** CA that signed the server's certificate (TEMPORAL_TLS_CA); else the system's roots. */
  caFile: string | undefined;
  /** The name checked in the server's certificate and sent as SNI (TEMPORAL_TLS_SERVER_NAME). */
  serverName: string | undefined;
}

export interface S3Config extends PartLocation {
  /** The store's URL; undefined for AWS S3 itself (`S3_ENDPOINT=aws`: the SDK's regional endpoint). */
  endpoint: string | undefined;
  /** Undefined only for AWS S3 without S3_REGION or AWS_REGION: the SDK then reads its profile. */
  region: string | undefined;
  bucket: string;
  /**
   * Static keys (S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, or the embedded store's generated ones);
   * undefined for AWS S3 without them: the AWS SDK's credential chain (AWS_* variables, shared
   * config and profile, web identity, container or instance role) finds them.
   */
  credentials: { accessKeyId: string; secretAccessKey: string } | undefined;
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
  /** Where and how the worker and `npm start` log. */
  log: LogConfig;
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
  /**
   * The ECDSA key of the model's OpenSSF model-signing signature (`model.sig`), which
   * `model_signing verify key` checks without Kerf.
   */
  modelSigning: {
    /** An ECDSA P-256 private key in PEM form (KERF_MODEL_SIGNING_KEY); wins over the key file. */
    privateKeyPem: string | undefined;
    /** The development key, created on first use (KERF_MODEL_SIGNING_KEY_FILE, default `.data/keys/`). */
    keyFile: string;
  };
  /** The code version recorded with every model version (KERF_CODE_VERSION; else the git commit). */
  codeVersion: string | undefined;
  /** The pipeline specs the nightly check compares with production (KERF_PIPELINES_DIR). */
  pipelinesDir: string;
  /**
   * Where announcements (approval requested, reminder, deadline reached, deployed, rolled back, the
   * nightly check's news) are posted, signed (`platform/webhooks.ts`): the URLs of KERF_WEBHOOK_URL
   * (comma-separated), and the HMAC secret KERF_WEBHOOK_SECRET, else one generated on first use in
   * `<dataDir>/secrets/webhook-signing-secret` for the receivers to share.
   */
  webhooks: { urls: string[]; secret: () => string };
  /** What the prediction log and garbage collection keep (`kerf gc`, the nightly check). */
  retention: RetentionConfig;
  /** The prediction API. */
  api: {
    port: number;
    /** The address it listens on (KERF_API_HOST); `0.0.0.0` in a container. */
    host: string;
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
 * @param cores the cores a heavy worker may fill (KERF_HEAVY_CONCURRENCY's default and ceiling)
 *   @default os.availableParallelism()
 * @throws ConfigError naming each malformed variable and what it should look like
 */
export function loadConfig(
  env: Record<string, string | undefined>,
  paths: { dataDir: string; toolsDir: string; pipelinesDir?: string },
  secrets?: SecretSource,
  cores: number = os.availableParallelism(),
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
  const problems = [...s3Problems(e), ...temporalTlsProblems(e), ...postgresTlsProblems(e)];
  if (e.KERF_HEAVY_CONCURRENCY !== undefined && e.KERF_HEAVY_CONCURRENCY > cores) {
    // Each heavy activity trains or scores on one core: more at once only makes each one slower.
    problems.push(
      `KERF_HEAVY_CONCURRENCY is ${e.KERF_HEAVY_CONCURRENCY}, but this machine has ${cores} core${cores === 1 ? '' : 's'}: a heavy worker runs at most one training per core; set it to ${cores} or less, or unset it`,
    );
  }
  if (e.KERF_TEMPORAL_TLS === 'mtls' && e.KERF_TEMPORAL_SERVER !== 'cluster') {
    problems.push(
      'KERF_TEMPORAL_TLS=mtls applies to the local cluster only: set KERF_TEMPORAL_SERVER=cluster too, or unset KERF_TEMPORAL_TLS',
    );
  }
  if (e.KERF_TEMPORAL_SERVER === 'cluster' && e.KERF_TEMPORAL_PORT > CLUSTER_HIGHEST_FRONTEND_PORT) {
    problems.push(
      `KERF_TEMPORAL_PORT must be ${CLUSTER_HIGHEST_FRONTEND_PORT} or lower with KERF_TEMPORAL_SERVER=cluster: ` +
        'the cluster uses the next seven ports too, and Temporal stores them in PostgreSQL as a smallint (at most 32767)',
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
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
    log: {
      format: e.KERF_LOG_FORMAT,
      level: e.KERF_LOG_LEVEL,
      dir: path.resolve(e.KERF_LOG_DIR ?? path.join(dataDir, 'logs')),
    },
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
      heavyTaskQueue: e.TEMPORAL_HEAVY_TASK_QUEUE ?? heavyQueueOf(e.TEMPORAL_TASK_QUEUE),
      heavyConcurrency: e.KERF_HEAVY_CONCURRENCY ?? cores,
      lightConcurrency: e.KERF_LIGHT_CONCURRENCY,
      uiUrl: e.TEMPORAL_UI_URL ?? `http://127.0.0.1:${e.KERF_TEMPORAL_UI_PORT}`,
      port: e.KERF_TEMPORAL_PORT,
      uiPort: e.KERF_TEMPORAL_UI_PORT,
      cliPath: e.TEMPORAL_CLI,
      tls:
        temporalTls(e) ??
        (e.KERF_TEMPORAL_TLS === 'mtls' && !e.TEMPORAL_ADDRESS ? localClusterClientTls(dataDir) : undefined),
      apiKey: e.TEMPORAL_API_KEY,
      server: e.KERF_TEMPORAL_SERVER,
      clusterTls: e.KERF_TEMPORAL_TLS,
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
    modelSigning: {
      privateKeyPem: e.KERF_MODEL_SIGNING_KEY,
      keyFile: path.resolve(
        e.KERF_MODEL_SIGNING_KEY_FILE ?? path.join(dataDir, 'keys', 'model-signing-dev.pem'),
      ),
    },
    codeVersion: e.KERF_CODE_VERSION,
    pipelinesDir: path.resolve(e.KERF_PIPELINES_DIR ?? paths.pipelinesDir ?? 'pipelines'),
    webhooks: {
      urls: (e.KERF_WEBHOOK_URL ?? '')
        .split(',')
        .map((url) => url.trim())
        .filter((url) => url !== ''),
      secret: () => e.KERF_WEBHOOK_SECRET ?? secret('webhook-signing-secret'),
    },
    retention: { predictionMonths: e.KERF_PREDICTION_RETENTION_MONTHS, gcAfterDays: e.KERF_GC_AFTER_DAYS },
    api: {
      port: e.KERF_API_PORT,
      host: e.KERF_API_HOST,
      token: e.KERF_API_TOKEN,
      tokenFile: path.join(dataDir, 'api-token'),
    },
    s3: s3Config(e, secret),
  };
}

type Environment = z.infer<typeof environmentSchema>;

/**
 * Where objects go. Unset S3_ENDPOINT: the embedded store with its generated keys. `aws`: AWS S3,
 * with static keys when both are given, else the AWS SDK's credential chain. Any URL: an
 * S3-compatible store, which needs the two static keys.
 */
function s3Config(e: Environment, secret: SecretSource): S3Config {
  const staticKeys =
    e.S3_ACCESS_KEY_ID !== undefined && e.S3_SECRET_ACCESS_KEY !== undefined
      ? { accessKeyId: e.S3_ACCESS_KEY_ID, secretAccessKey: e.S3_SECRET_ACCESS_KEY }
      : undefined;
  const common = { bucket: e.S3_BUCKET, port: e.KERF_S3_PORT };
  if (e.S3_ENDPOINT === 'aws') {
    return {
      ...common,
      embedded: false,
      endpoint: undefined,
      region: e.S3_REGION ?? e.AWS_REGION ?? e.AWS_DEFAULT_REGION,
      credentials: staticKeys,
      // AWS addresses buckets as virtual hosts; path style is its legacy form.
      forcePathStyle: e.S3_FORCE_PATH_STYLE ?? false,
    };
  }
  return {
    ...common,
    embedded: e.S3_ENDPOINT === undefined,
    endpoint: e.S3_ENDPOINT ?? `http://127.0.0.1:${e.KERF_S3_PORT}`,
    region: e.S3_REGION ?? 'us-east-1',
    credentials: staticKeys ?? {
      accessKeyId: secret('s3-access-key-id'),
      secretAccessKey: secret('s3-secret-access-key'),
    },
    forcePathStyle: e.S3_FORCE_PATH_STYLE ?? true,
  };
}

function s3Problems(e: Environment): string[] {
  const given = [e.S3_ACCESS_KEY_ID, e.S3_SECRET_ACCESS_KEY].filter((value) => value !== undefined).length;
  if (given === 1) return ['S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY go together: set both or neither'];
  if (e.S3_ENDPOINT !== undefined && e.S3_ENDPOINT !== 'aws' && given === 0) {
    return [
      'S3_ENDPOINT is set, so S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY must be set too (or S3_ENDPOINT=aws for AWS S3 with the AWS credential chain)',
    ];
  }
  return [];
}

/** Reads the PEM files the database URLs name now, so a wrong path stops the program at start-up. */
function postgresTlsProblems(e: Environment): string[] {
  const problems: string[] = [];
  for (const name of ['DATABASE_URL', 'KERF_OWNER_DATABASE_URL', 'KERF_READER_DATABASE_URL'] as const) {
    const url = e[name];
    if (url === undefined) continue;
    try {
      postgresConnection(url);
    } catch (error) {
      if (!(error instanceof PostgresTlsError)) throw error;
      problems.push(`${name}: ${error.message}`);
    }
  }
  return problems;
}

/** TLS is on when TEMPORAL_TLS=true or any other TLS variable or the API key is set. */
/**
 * The client certificate `stack up` makes for the local cluster with KERF_TEMPORAL_TLS=mtls
 * (scripts/stack/clusterTls.ts): Kerf's own workers and clients use it unless TEMPORAL_TLS_* say
 * otherwise.
 */
export function localClusterClientTls(dataDir: string): TemporalTlsConfig {
  const dir = path.join(dataDir, 'cluster', 'tls');
  return {
    clientCertFile: path.join(dir, 'client.pem'),
    clientKeyFile: path.join(dir, 'client.key'),
    caFile: path.join(dir, 'ca.pem'),
    serverName: 'localhost',
  };
}

function temporalTls(e: Environment): TemporalTlsConfig | undefined {
  const implied =
    e.TEMPORAL_TLS_CERT !== undefined ||
    e.TEMPORAL_TLS_KEY !== undefined ||
    e.TEMPORAL_TLS_CA !== undefined ||
    e.TEMPORAL_TLS_SERVER_NAME !== undefined ||
    e.TEMPORAL_API_KEY !== undefined;
  if (!(e.TEMPORAL_TLS ?? implied)) return undefined;
  return {
    clientCertFile: e.TEMPORAL_TLS_CERT,
    clientKeyFile: e.TEMPORAL_TLS_KEY,
    caFile: e.TEMPORAL_TLS_CA,
    serverName: e.TEMPORAL_TLS_SERVER_NAME,
  };
}

function temporalTlsProblems(e: Environment): string[] {
  const problems: string[] = [];
  if ((e.TEMPORAL_TLS_CERT === undefined) !== (e.TEMPORAL_TLS_KEY === undefined)) {
    problems.push(
      'TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together: set both (client certificate and key PEM paths) or neither',
    );
  }
  if (e.TEMPORAL_TLS === false) {
    const set = (
      [
        'TEMPORAL_TLS_CERT',
        'TEMPORAL_TLS_KEY',
        'TEMPORAL_TLS_CA',
        'TEMPORAL_TLS_SERVER_NAME',
        'TEMPORAL_API_KEY',
      ] as const
    ).filter((name) => e[name] !== undefined);
    if (set.length > 0) {
      problems.push(`TEMPORAL_TLS is false, but ${set.join(', ')} need TLS: unset them or TEMPORAL_TLS`);
    }
  }
  return problems;
}
