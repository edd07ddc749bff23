/**
 * The prediction API as a fastify app: the served models kept in step with the registry, the
 * prediction log, the metrics, the bearer token, and the routes. `buildServingApp` builds it without
 * listening (tests use it with `inject` or `listen` on port 0); `startServing` (start.ts) listens.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
} from 'fastify';
import type pg from 'pg';
import type { ObjectStore } from '../platform/objectStore';
import { requestAuthenticator } from './auth';
import { type ErrorBody, ServingHttpError } from './errors';
import { DEFAULT_JSON_BODY_LIMITS, type JsonBodyLimits, parseJsonBody } from './jsonBody';
import { ServingMetrics } from './metrics';
import { PredictionLog, type PredictionLogOptions } from './predictionLog';
import { type CategoryMappingsHook, PredictionService } from './predictionService';
import { registerModelRoutes } from './routes/models';
import { PUBLIC_ROUTES, registerOperationRoutes } from './routes/operations';
import { ServedModels } from './servedModels';

export interface ServingOptions {
  /** Kerf's database: the registry, `serving.predictions` and `serving.outcomes`. The caller ends it. */
  pool: pg.Pool;
  /** Where the artifacts are. The caller destroys it. */
  objectStore: ObjectStore;
  /** The bearer token callers must send (at least 16 characters). */
  token: string;
  /**
   * How often the registry's aliases are read besides LISTEN/NOTIFY, in milliseconds.
   * @default 30000
   */
  pollIntervalMs?: number;
  /**
   * Whether to LISTEN on `kerf_registry` for alias moves (off behind PgBouncer in transaction mode).
   * @default true
   */
  listen?: boolean;
  /**
   * The request and event log: true for fastify's own (pino, level info), `{ level, file }` for
   * fastify's own writing to a file (`npm start` writes warnings and errors to `.data/logs/api.log`),
   * or a pino-compatible logger. Server errors (500) are logged at error level with their request id.
   * @default false (silent)
   */
  logger?: boolean | { level: 'error' | 'warn' | 'info' | 'debug'; file: string } | FastifyBaseLogger;
  /**
   * Taught mappings of unseen categories to known ones, per model; applied before scoring and named
   * in the prediction's warning.
   * @default undefined (unseen categories are scored as missing values)
   */
  categoryMappings?: CategoryMappingsHook;
  /**
   * Uniform numbers in [0, 1) for canary routing; a seeded generator makes routing repeatable.
   * @default Math.random
   */
  random?: () => number;
  /**
   * The most rows one predict request may carry.
   * @default 1000
   */
  maxRowsPerRequest?: number;
  /**
   * The largest request body, in bytes.
   * @default 10485760 (10 MiB)
   */
  bodyLimitBytes?: number;
  /**
   * How deep a JSON body may nest and how long its strings may be; checked before any value is built.
   * @default { maxDepth: 16, maxStringLength: 1000 }
   */
  jsonLimits?: Partial<JsonBodyLimits>;
  /** Batching of `serving.predictions` writes. */
  predictionLog?: PredictionLogOptions;
}

export interface ServingApp {
  app: FastifyInstance;
  /** The served-model registry: `ready()`, `status()`, `close()`. */
  models: ServedModels;
  predictionLog: PredictionLog;
  metrics: ServingMetrics;
  /** Closes the server, waits for shadow scoring, writes the buffered predictions, frees the models. */
  close(): Promise<void>;
}

/**
 * Builds the prediction API. Loading the deployed models starts at once; await `models.ready()`
 * before sending traffic (`startServing` does).
 *
 * @throws when the token or a numeric option is unusable, naming it
 */
export function buildServingApp(options: ServingOptions): ServingApp {
  const authenticate = requestAuthenticator({ token: options.token, pool: options.pool });
  const maxRowsPerRequest = options.maxRowsPerRequest ?? 1000;
  if (!Number.isSafeInteger(maxRowsPerRequest) || maxRowsPerRequest < 1) {
    throw new Error(`maxRowsPerRequest must be a whole number from 1, got ${maxRowsPerRequest}`);
  }
  const jsonLimits: JsonBodyLimits = { ...DEFAULT_JSON_BODY_LIMITS, ...options.jsonLimits };
  for (const [name, value] of Object.entries(jsonLimits)) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new Error(`jsonLimits.${name} must be a whole number from 1, got ${value}`);
    }
  }
  if (typeof options.logger === 'object' && 'file' in options.logger) {
    // pino opens the file itself, and a folder that is not there yet would be an error at start.
    mkdirSync(path.dirname(options.logger.file), { recursive: true });
  }
  const app: FastifyInstance = Fastify({
    bodyLimit: options.bodyLimitBytes ?? 10 * 1024 * 1024,
    // A request id a caller can quote and an operator can find in the log (a 500 names it).
    genReqId: () => randomUUID(),
    // No log line per request, and no pino child logger made for each: a request's log lines name
    // their request id themselves (the 500 handler below), and the hot path logs nothing.
    logController: new LogController({ requestIdLogLabel: 'requestId', disableRequestLogging: true }),
    childLoggerFactory: (logger) => logger,
    ...(isLoggerInstance(options.logger)
      ? { loggerInstance: options.logger }
      : { logger: options.logger ?? false }),
  });
  // JSON only, through the checking parser: fastify's own would build any depth and any number, and
  // its text/plain parser would hand a string to routes that expect an object.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as string, jsonLimits));
    } catch (error) {
      done(error as ServingHttpError, undefined);
    }
  });
  const metrics = new ServingMetrics();
  const predictionLog = new PredictionLog(options.pool, metrics, app.log, options.predictionLog);
  const models = new ServedModels({
    pool: options.pool,
    objectStore: options.objectStore,
    metrics,
    log: app.log,
    ...(options.pollIntervalMs === undefined ? {} : { pollIntervalMs: options.pollIntervalMs }),
    ...(options.listen === undefined ? {} : { listen: options.listen }),
  });
  const service = new PredictionService({
    models,
    predictionLog,
    metrics,
    log: app.log,
    random: options.random ?? Math.random,
    ...(options.categoryMappings ? { categoryMappings: options.categoryMappings } : {}),
    maxRowsPerRequest,
  });

  // A callback hook: the configured token is checked without a promise; a service token's lookup is one.
  app.addHook('onRequest', (request, _reply, done) => {
    const route = request.routeOptions.url ?? '';
    if (PUBLIC_ROUTES.has(route)) return done();
    let checked: void | Promise<void>;
    try {
      checked = authenticate({ method: request.method, route, authorization: request.headers.authorization });
    } catch (error) {
      return done(error as ServingHttpError);
    }
    if (checked) checked.then(() => done(), done);
    else done();
  });
  // After the answer was sent, and without a promise of its own: nothing here delays a caller.
  app.addHook('onResponse', (request, reply, done) => {
    metrics.answered(
      request.method,
      request.routeOptions.url ?? 'unmatched',
      reply.statusCode,
      reply.elapsedTime / 1000,
    );
    done();
  });
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof ServingHttpError) return reply.code(error.statusCode).send(error.body);
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) return reply.code(status).send(clientError(error, status));
    // The error's own text can be PostgreSQL's or a library's: it goes to the log, never to the caller.
    request.log.error({ err: error, requestId: request.id }, 'a request failed');
    const body: ErrorBody = {
      error: 'internal',
      message: `Serving failed on this request; the serving log has the details under request id ${request.id}`,
      requestId: request.id,
    };
    return reply.code(500).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    const body: ErrorBody = {
      error: 'not-found',
      message:
        `No route ${request.method} ${request.url.split('?')[0] ?? ''}: the API has POST /v1/models/:name/predict, POST /v1/models/:name/forecast, ` +
        'GET /v1/models, GET /v1/models/:name, GET /v1/models/:name/versions/:version/card, POST /v1/outcomes, ' +
        'GET /v1/status and GET /metrics',
    };
    return reply.code(404).send(body);
  });

  registerModelRoutes(app, { pool: options.pool, objectStore: options.objectStore, models });
  registerOperationRoutes(app, { pool: options.pool, models, service, predictionLog, metrics });

  let closing: Promise<void> | undefined;
  return {
    app,
    models,
    predictionLog,
    metrics,
    close: () => {
      closing ??= (async () => {
        await app.close();
        await service.drain();
        await predictionLog.close();
        await models.close();
      })();
      return closing;
    },
  };
}

function isLoggerInstance(logger: ServingOptions['logger']): logger is FastifyBaseLogger {
  return typeof logger === 'object' && !('file' in logger);
}

/** Fastify's own 4xx (bad JSON, wrong content type, body too large) in the API's error shape. */
function clientError(error: FastifyError, status: number): ErrorBody {
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return {
        error: 'invalid-json',
        message: `${error.message}: send a JSON object with Content-Type: application/json`,
      };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return {
        error: 'unsupported-media-type',
        message: `${error.message}: send JSON with Content-Type: application/json`,
      };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { error: 'body-too-large', message: `${error.message}: split the batch into smaller requests` };
    default:
      return { error: status === 404 ? 'not-found' : 'bad-request', message: error.message };
  }
}
