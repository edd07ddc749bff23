/**
 * The prediction API's Prometheus metrics, in a registry of the app's own (not prom-client's global
 * one), so two apps in one process (tests, a second port) never clash. Served at `GET /metrics`.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Latency buckets in seconds: scoring a row takes well under a millisecond, a big batch longer. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export class ServingMetrics {
  readonly registry = new Registry();

  /** Every HTTP request, by method, route pattern (`/v1/models/:name/predict`) and status code. */
  readonly requests = new Counter({
    name: 'kerf_serving_requests_total',
    help: 'HTTP requests answered, by method, route and status code',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });

  readonly latency = new Histogram({
    name: 'kerf_serving_request_duration_seconds',
    help: 'Time from receiving a request to sending its answer, by method and route',
    labelNames: ['method', 'route'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  /** Rows scored, by model, version and alias (shadow included). */
  readonly predictions = new Counter({
    name: 'kerf_serving_predictions_total',
    help: 'Rows scored, by model, version and alias (production, canary, shadow)',
    labelNames: ['model', 'version', 'alias'] as const,
    registers: [this.registry],
  });

  /** Categories a model never saw in training, per column; `handling` says how they were scored. */
  readonly unseenCategories = new Counter({
    name: 'kerf_serving_unseen_categories_total',
    help: 'Input categories the answering model never saw in training, by model and column; handling is missing-value or mapped (a taught mapping)',
    labelNames: ['model', 'column', 'handling'] as const,
    registers: [this.registry],
  });

  /** Versions serving refused to load (a tampered artifact, say), by reason. */
  readonly loadRefusals = new Counter({
    name: 'kerf_model_load_refusals_total',
    help: 'Model versions serving refused to load, by model, alias, version and reason',
    labelNames: ['model', 'alias', 'version', 'reason'] as const,
    registers: [this.registry],
  });

  readonly modelSwaps = new Counter({
    name: 'kerf_serving_model_swaps_total',
    help: 'Times a newly loaded version took over an alias, by model and alias',
    labelNames: ['model', 'alias'] as const,
    registers: [this.registry],
  });

  /** The version each alias serves (1 per served alias and version). */
  readonly servedVersion = new Gauge({
    name: 'kerf_serving_model_version',
    help: 'The version each alias of each model serves now (the value is the version number)',
    labelNames: ['model', 'alias'] as const,
    registers: [this.registry],
  });

  readonly shadowFailures = new Counter({
    name: 'kerf_serving_shadow_failures_total',
    help: 'Rows the shadow version could not score (its contract differs, or it failed), by model',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });

  readonly loggedPredictions = new Counter({
    name: 'kerf_serving_prediction_log_written_total',
    help: 'Predictions written to serving.predictions',
    registers: [this.registry],
  });

  readonly droppedPredictions = new Counter({
    name: 'kerf_serving_prediction_log_dropped_total',
    help: 'Predictions not logged: the buffer was full while PostgreSQL could not keep up, or serving closed before it took them',
    registers: [this.registry],
  });

  readonly pendingPredictions = new Gauge({
    name: 'kerf_serving_prediction_log_pending',
    help: 'Predictions waiting in memory to be written to serving.predictions',
    registers: [this.registry],
  });

  /** Rows PostgreSQL refused, set aside in `serving.prediction_dead_letters`, by model. */
  readonly predictionDeadLetters = new Counter({
    name: 'kerf_serving_prediction_log_dead_letters_total',
    help: 'Prediction rows PostgreSQL refused, set aside in serving.prediction_dead_letters, by model',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });

  readonly predictionLogFlushFailures = new Counter({
    name: 'kerf_serving_prediction_log_flush_failures_total',
    help: 'Batch writes to serving.predictions that failed (PostgreSQL away, or a row it refused)',
    registers: [this.registry],
  });

  /** 1 while the prediction log is degraded (see `GET /v1/status`), else 0. */
  readonly predictionLogDegraded = new Gauge({
    name: 'kerf_serving_prediction_log_degraded',
    help: '1 while the prediction log is degraded: rows piling up, writes failing, or a recent dead letter',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'kerf_serving_' });
  }
}
