/**
 * One predict request from body to answer: the served versions are leased, the rows checked against
 * the input contract of every version that may answer, routed between production and the canary,
 * scored through each version's scoring queue (concurrent requests share one onnxruntime run,
 * `scoringQueue.ts`), handed to the prediction log's buffer, and, when a shadow version is deployed,
 * scored again by the shadow after the answer is on its way (logged, never returned).
 */
import type { Feature } from '../ml/model';
import {
  type CategoryMappings,
  checkRowsAgainst,
  distinctFeatures,
  type PredictionWarning,
  unknownColumns,
  type UnseenCategory,
} from './contract';
import { errorMessage, invalidInput, ServingHttpError } from './errors';
import { answerForecast, type ForecastResponse, parseForecastRequest } from './forecasts';
import type { LoadedVersion } from './loadVersion';
import type { PredictionValue } from './outputs';
import type { ServingMetrics } from './metrics';
import { parsePredictRequest, type RawRow } from './payload';
import { newPredictionId } from './predictionIds';
import type { PredictionLog, PredictionRecord } from './predictionLog';

export type { PredictionValue } from './outputs';
import { type AnsweringAlias, routeRows, rowsByAlias } from './routing';
import { NO_HISTORY, ScoringQueue, type ScoredRow } from './scoringQueue';
import type { ModelLease, ServedModels } from './servedModels';

/** The input columns of every version of the lease, production's first. */
function leasedColumns(lease: ModelLease): Set<string> {
  const versions = [lease.production, lease.canary?.version, lease.shadow];
  return new Set(versions.flatMap((version) => version?.features.map((feature) => feature.name) ?? []));
}

/**
 * Taught mappings from unseen categories to known ones, per column, for a model (see
 * `CategoryMappings`); undefined when there are none. May be async (a cached table lookup).
 */
export type CategoryMappingsHook = (
  model: string,
) => CategoryMappings | undefined | Promise<CategoryMappings | undefined>;

export interface Prediction {
  /** Send it back with the outcome (`POST /v1/outcomes`) to join the two. */
  predictionId: string;
  version: number;
  alias: AnsweringAlias;
  value: PredictionValue;
  warnings: PredictionWarning[];
}

export interface PredictResponse {
  model: string;
  predictions: Prediction[];
}

export interface PredictionServiceDeps {
  models: ServedModels;
  predictionLog: PredictionLog;
  metrics: ServingMetrics;
  log: { warn(details: object, message: string): void };
  /** Uniform in [0, 1), for canary routing. */
  random: () => number;
  categoryMappings?: CategoryMappingsHook;
  maxRowsPerRequest: number;
}

/** What a request's rows are checked against, for one set of leased versions. */
interface LeaseChecks {
  canary: LoadedVersion | undefined;
  shadow: LoadedVersion | undefined;
  /** Every column a leased version takes. */
  columns: Set<string>;
  /** The features of production and the canary, each once. */
  features: Feature[];
}

export class PredictionService {
  private readonly shadowRuns = new Set<Promise<void>>();
  /** Each loaded version's scoring queues: answers (which count unseen categories) and shadow scores. */
  private readonly queues = new WeakMap<LoadedVersion, { answers?: ScoringQueue; shadow?: ScoringQueue }>();
  /** The checks of the last set of versions leased with each production version. */
  private readonly checks = new WeakMap<LoadedVersion, LeaseChecks>();
  /** Each loaded version's count of scored rows per alias (`ServingMetrics.scoredRows`). */
  private readonly counters = new WeakMap<LoadedVersion, Map<string, { inc(rows: number): void }>>();

  constructor(private readonly deps: PredictionServiceDeps) {}

  /**
   * Answers one predict request.
   *
   * @throws ServingHttpError: 404 for a model nothing serves, 503 when its only version was refused,
   *   400 for a body or rows that do not fit
   */
  async predict(model: string, body: unknown): Promise<PredictResponse> {
    const lease = this.deps.models.lease(model);
    if (!lease) throw this.notServed(model);
    if (lease.production.forecast) {
      lease.release();
      throw new ServingHttpError(
        400,
        'forecast-model',
        `${model} forecasts periods, it does not score rows: POST /v1/models/${model}/forecast with {"series": {...}, "horizon": n}`,
      );
    }
    let handedToShadow = false;
    try {
      const request = parsePredictRequest(body, this.deps.maxRowsPerRequest);
      const { columns, features } = this.checksFor(lease);
      const unknown = unknownColumns(request.rows, columns, request.field);
      const issues = checkRowsAgainst(request.rows, features, request.field);
      if (unknown.length > 0 || issues.length > 0) throw invalidInput([...unknown, ...issues]);
      const found = this.mappingsFor(model);
      const mappings = found instanceof Promise ? await found : found;
      const servedAt = new Date();
      const predictions = new Array<Prediction>(request.rows.length);
      const records: PredictionRecord[] = [];
      // Without a canary every row is production's: no routes to draw or group.
      const groups = lease.canary
        ? rowsByAlias(routeRows(request.rows.length, lease.canary.trafficShare, this.deps.random))
        : [['production', null] as const];
      for (const [alias, indices] of groups) {
        const version = alias === 'canary' && lease.canary ? lease.canary.version : lease.production;
        const scored = await this.queueOf(version, 'answers').score(
          indices === null || indices.length === request.rows.length
            ? request.rows
            : indices.map((index) => request.rows[index] as RawRow),
          mappings,
        );
        const count = indices === null ? request.rows.length : indices.length;
        for (let i = 0; i < count; i++) {
          const rowIndex = indices === null ? i : (indices[i] as number);
          const { output, value, warnings, history } = scored[i] as ScoredRow;
          const predictionId = newPredictionId(servedAt.getTime());
          predictions[rowIndex] = { predictionId, version: version.version, alias, value, warnings };
          // Only the columns a served version takes (unknownColumns refused any other), already
          // checked against its contract: the row itself, with the history features it was scored with.
          const row = request.rows[rowIndex] as RawRow;
          const inputs = history === NO_HISTORY ? row : { ...row, ...history };
          records.push({
            predictionId,
            model,
            version: version.version,
            alias,
            key: request.keys[rowIndex] ?? null,
            inputs,
            output,
            warnings,
            servedAt,
            shadowOf: null,
          });
        }
        this.predictionCounter(version, alias).inc(count);
      }
      this.deps.predictionLog.add(records);
      if (lease.shadow) {
        handedToShadow = true;
        this.startShadow(lease, lease.shadow, records, mappings);
      }
      return { model, predictions };
    } finally {
      if (!handedToShadow) lease.release();
    }
  }

  /** Waits for shadow scoring still running (before closing). */
  async drain(): Promise<void> {
    await Promise.all(this.shadowRuns);
  }

  /** The columns and features a request to these leased versions is checked against. */
  private checksFor(lease: ModelLease): LeaseChecks {
    const canary = lease.canary?.version;
    const known = this.checks.get(lease.production);
    if (known && known.canary === canary && known.shadow === lease.shadow) return known;
    const checks: LeaseChecks = {
      canary,
      shadow: lease.shadow,
      columns: leasedColumns(lease),
      features: distinctFeatures([lease.production.features, ...(canary ? [canary.features] : [])]),
    };
    this.checks.set(lease.production, checks);
    return checks;
  }

  private predictionCounter(
    version: LoadedVersion,
    alias: AnsweringAlias | 'shadow',
  ): { inc(rows: number): void } {
    let byAlias = this.counters.get(version);
    if (!byAlias) this.counters.set(version, (byAlias = new Map<string, { inc(rows: number): void }>()));
    let counter = byAlias.get(alias);
    if (!counter) {
      counter = this.deps.metrics.scoredRows(version.model, version.version, alias);
      byAlias.set(alias, counter);
    }
    return counter;
  }

  /** A version's scoring queue: `answers` counts the unseen categories it meets, `shadow` does not. */
  private queueOf(version: LoadedVersion, purpose: 'answers' | 'shadow'): ScoringQueue {
    let queues = this.queues.get(version);
    if (!queues) this.queues.set(version, (queues = {}));
    let queue = queues[purpose];
    if (!queue) {
      queue = new ScoringQueue(
        version,
        purpose === 'answers' ? (unseen) => this.countUnseen(version, unseen) : () => undefined,
      );
      queues[purpose] = queue;
    }
    return queue;
  }

  private countUnseen(version: LoadedVersion, unseen: readonly UnseenCategory[]): void {
    for (const category of unseen) {
      this.deps.metrics.unseenCategories.inc({
        model: version.model,
        column: category.column,
        handling: category.mapped ? 'mapped' : 'missing-value',
      });
    }
  }

  private startShadow(
    lease: ModelLease,
    shadow: LoadedVersion,
    answers: readonly PredictionRecord[],
    mappings: CategoryMappings | undefined,
  ): void {
    const run = (async () => {
      // After the answer is written: the shadow's checks and scoring never delay it.
      await new Promise((resolve) => setImmediate(resolve));
      const shadowFeatures = distinctFeatures([shadow.features]);
      const fitting = answers.filter(
        (answer) => checkRowsAgainst([answer.inputs], shadowFeatures, 'row').length === 0,
      );
      const skipped = answers.length - fitting.length;
      if (skipped > 0) this.deps.metrics.shadowFailures.inc({ model: lease.model }, skipped);
      if (fitting.length === 0) return;
      const inputs = fitting.map((answer) => answer.inputs);
      const scored = await this.queueOf(shadow, 'shadow').score(inputs, mappings);
      const servedAt = new Date();
      this.deps.predictionLog.add(
        fitting.map((answer, row) => ({
          predictionId: newPredictionId(servedAt.getTime()),
          model: lease.model,
          version: shadow.version,
          alias: 'shadow' as const,
          key: answer.key,
          inputs: answer.inputs,
          output: (scored[row] as ScoredRow).output,
          warnings: (scored[row] as ScoredRow).warnings,
          servedAt,
          shadowOf: answer.predictionId,
        })),
      );
      this.predictionCounter(shadow, 'shadow').inc(fitting.length);
    })()
      .catch((error: unknown) => {
        this.deps.metrics.shadowFailures.inc({ model: lease.model }, answers.length);
        this.deps.log.warn(
          { model: lease.model, version: shadow.version, error: errorMessage(error) },
          'the shadow version failed to score; the answers were not affected',
        );
      })
      .finally(() => {
        lease.release();
        this.shadowRuns.delete(run);
      });
    this.shadowRuns.add(run);
  }

  /** The model's taught mappings: as they are when the hook has them in hand, else its promise. */
  private mappingsFor(model: string): CategoryMappings | undefined | Promise<CategoryMappings | undefined> {
    const hook = this.deps.categoryMappings;
    if (!hook) return undefined;
    // Scoring without the mappings still answers; the warnings then say "missing value". No closure
    // is made for the common case of a synchronous answer: this runs on every request.
    try {
      const found = hook(model);
      return found instanceof Promise
        ? found.catch((error: unknown) => this.mappingsUnread(model, error))
        : found;
    } catch (error) {
      return this.mappingsUnread(model, error);
    }
  }

  private mappingsUnread(model: string, error: unknown): undefined {
    this.deps.log.warn({ model, error: errorMessage(error) }, 'cannot read the taught category mappings');
    return undefined;
  }

  /** One forecast request: the production version's forecasts for the series asked for. */
  async forecast(model: string, body: unknown): Promise<ForecastResponse> {
    const lease = this.deps.models.lease(model);
    if (!lease) throw this.notServed(model);
    try {
      const version = lease.production;
      const state = version.forecast;
      if (!state) {
        throw new ServingHttpError(
          400,
          'not-a-forecast-model',
          `${model} is a ${version.task} model, not a forecast: POST /v1/models/${model}/predict with its rows`,
        );
      }
      return await answerForecast({ ...version, forecast: state }, parseForecastRequest(body, state));
    } finally {
      lease.release();
    }
  }

  private notServed(model: string): ServingHttpError {
    const refusal = this.deps.models.lastRefusal(model);
    if (refusal) {
      return new ServingHttpError(
        503,
        'model-unavailable',
        `${model} has no version to serve: v${refusal.version} was refused (${refusal.reason}): ${refusal.message}`,
      );
    }
    const served = this.deps.models.servedModels().sort();
    if (!this.deps.models.status().ready) {
      return new ServingHttpError(
        503,
        'not-ready',
        'Serving is still loading its models: try again in a moment',
      );
    }
    return new ServingHttpError(
      404,
      'model-not-found',
      `No model named ${JSON.stringify(model)} is deployed: ${
        served.length > 0 ? `served models are ${served.join(', ')}` : 'no model is deployed yet'
      } (GET /v1/models lists them)`,
    );
  }
}
