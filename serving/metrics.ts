/**
 * The prediction API's Prometheus metrics, in a registry of the app's own (not prom-client's global
 * one), so two apps in one process (tests, a second port) never clash. Served at `GET /metrics`.
 */
import {
  Counter,
  Gauge,
  Histogram,
  type MetricObjectWithValues,
  type MetricType,
  type MetricValueWithName,
  Registry,
  collectDefaultMetrics,
} from 'prom-client';

/** Latency buckets in seconds: scoring a row takes well under a millisecond, a big batch longer. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** A count kept as a plain number on the request path, under one set of a counter's labels. */
interface CountBetweenScrapes<Labels> {
  labels: Labels;
  count: number;
  /** How much of `count` the counter has been given. */
  reported: number;
}

/** Gives `counter` what each count gained since the last scrape (prom-client hashes labels per call). */
function reportCounts<Labels extends Record<string, string>>(
  counter: { inc(labels: Labels, value: number): void },
  counts: Iterable<CountBetweenScrapes<Labels>>,
): void {
  for (const count of counts) {
    if (count.count === count.reported) continue;
    counter.inc(count.labels, count.count - count.reported);
    count.reported = count.count;
  }
}

/** Rows scored under one set of labels, added to the counter before each scrape. */
class ScoredRowCount implements CountBetweenScrapes<{ model: string; version: string; alias: string }> {
  count = 0;
  reported = 0;

  constructor(readonly labels: { model: string; version: string; alias: string }) {}

  inc(rows: number): void {
    this.count += rows;
  }
}

/** One method and route's latencies as plain numbers: per bucket (not cumulative), sum and count. */
class LatencySeries {
  /** Per bound of LATENCY_BUCKETS, then the observations above every bound. */
  readonly counts = new Float64Array(LATENCY_BUCKETS.length + 1);
  sum = 0;
  count = 0;

  constructor(readonly labels: { method: string; route: string }) {}

  observe(seconds: number): void {
    let bucket = 0;
    while (bucket < LATENCY_BUCKETS.length && seconds > (LATENCY_BUCKETS[bucket] as number)) bucket++;
    this.counts[bucket] = (this.counts[bucket] as number) + 1;
    this.sum += seconds;
    this.count += 1;
  }
}

/**
 * `kerf_serving_request_duration_seconds`, a histogram by method and route whose observations are a
 * bucket search and three additions on the request path (prom-client's Histogram checks and hashes
 * the labels at each one); the series are turned into prom-client's histogram samples when scraped.
 */
class RequestLatency extends Histogram<'method' | 'route'> {
  private static readonly NAME = 'kerf_serving_request_duration_seconds';
  private static readonly HELP = 'Time from receiving a request to sending its answer, by method and route';
  /** By method and route, made with the first series (the base constructor calls `reset` before fields exist). */
  private series: Map<string, LatencySeries> | undefined;

  constructor(registry: Registry) {
    super({
      name: RequestLatency.NAME,
      help: RequestLatency.HELP,
      labelNames: ['method', 'route'] as const,
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
  }

  /** The series of a method and route (one for all their statuses): keep it, `observe` each answer. */
  seriesOf(method: string, route: string): LatencySeries {
    const all = (this.series ??= new Map<string, LatencySeries>());
    const key = `${method} ${route}`;
    let series = all.get(key);
    if (!series) all.set(key, (series = new LatencySeries({ method, route })));
    return series;
  }

  override get(): Promise<MetricObjectWithValues<MetricValueWithName<'method' | 'route'>>> {
    const name = RequestLatency.NAME;
    const values: MetricValueWithName<'method' | 'route' | 'le'>[] = [];
    for (const { labels, counts, sum, count } of this.series?.values() ?? []) {
      if (count === 0) continue;
      let cumulative = 0;
      LATENCY_BUCKETS.forEach((bound, bucket) => {
        cumulative += counts[bucket] as number;
        values.push({ labels: { ...labels, le: bound }, value: cumulative, metricName: `${name}_bucket` });
      });
      values.push({ labels: { ...labels, le: '+Inf' }, value: count, metricName: `${name}_bucket` });
      values.push({ labels, value: sum, metricName: `${name}_sum` });
      values.push({ labels, value: count, metricName: `${name}_count` });
    }
    return Promise.resolve({
      name,
      help: RequestLatency.HELP,
      // prom-client's typings declare an enum here; its code (and the exposition text) uses the name.
      type: 'histogram' as unknown as MetricType,
      values,
      aggregator: 'sum',
      collect: () => undefined,
    });
  }

  /** What the registry reads for the exposition text: the same samples as `get`. */
  getForPromString(): Promise<MetricObjectWithValues<MetricValueWithName<'method' | 'route'>>> {
    return this.get();
  }

  override reset(): void {
    super.reset();
    for (const series of this.series?.values() ?? []) {
      series.counts.fill(0);
      series.sum = 0;
      series.count = 0;
    }
  }
}

export class ServingMetrics {
  readonly registry = new Registry();
  /** Brings gauges up to date before a scrape, so the request path need not keep them current. */
  private readonly scrapeRefreshes: (() => void)[] = [];

  /**
   * Answered requests counted by `answered`, per method, route and status, with the latency child of
   * their method and route: the count is a plain number on the request path, added to the counter
   * before each scrape.
   */
  private readonly answers = new Map<
    string,
    CountBetweenScrapes<{ method: string; route: string; status: string }> & {
      latency: LatencySeries;
    }
  >();

  /** Every HTTP request, by method, route pattern (`/v1/models/:name/predict`) and status code. */
  readonly requests: Counter<'method' | 'route' | 'status'> = new Counter({
    name: 'kerf_serving_requests_total',
    help: 'HTTP requests answered, by method, route and status code',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
    collect: (): void => reportCounts(this.requests, this.answers.values()),
  });

  /** Request latency by method and route, observed through `answered`. */
  private readonly latency = new RequestLatency(this.registry);

  /** The counts of `scoredRows`, added to `predictions` before each scrape. */
  private readonly scored: ScoredRowCount[] = [];

  /** Rows scored, by model, version and alias (shadow included); counted through `scoredRows`. */
  readonly predictions: Counter<'model' | 'version' | 'alias'> = new Counter({
    name: 'kerf_serving_predictions_total',
    help: 'Rows scored, by model, version and alias (production, canary, shadow)',
    labelNames: ['model', 'version', 'alias'] as const,
    registers: [this.registry],
    collect: (): void => reportCounts(this.predictions, this.scored),
  });

  /** Categories a model never saw in training, per column; `handling` says how they were scored. */
  readonly unseenCategories = this.counter(
    'kerf_serving_unseen_categories_total',
    'Input categories the answering model never saw in training, by model and column; handling is missing-value or mapped (a taught mapping)',
    ['model', 'column', 'handling'],
  );

  /** Versions serving refused to load (a tampered artifact, say), by reason. */
  readonly loadRefusals = this.counter(
    'kerf_model_load_refusals_total',
    'Model versions serving refused to load, by model, alias, version and reason',
    ['model', 'alias', 'version', 'reason'],
  );

  readonly modelSwaps = this.counter(
    'kerf_serving_model_swaps_total',
    'Times a newly loaded version took over an alias, by model and alias',
    ['model', 'alias'],
  );

  /** The version each alias serves (1 per served alias and version). */
  readonly servedVersion = this.gauge(
    'kerf_serving_model_version',
    'The version each alias of each model serves now (the value is the version number)',
    ['model', 'alias'],
  );

  readonly shadowFailures = this.counter(
    'kerf_serving_shadow_failures_total',
    'Rows the shadow version could not score (its contract differs, or it failed), by model',
    ['model'],
  );

  readonly loggedPredictions = this.counter(
    'kerf_serving_prediction_log_written_total',
    'Predictions written to serving.predictions',
  );

  readonly droppedPredictions = this.counter(
    'kerf_serving_prediction_log_dropped_total',
    'Predictions not logged: the buffer was full while PostgreSQL could not keep up, or serving closed before it took them',
  );

  readonly pendingPredictions = this.gauge(
    'kerf_serving_prediction_log_pending',
    'Predictions waiting in memory to be written to serving.predictions',
    [],
    true,
  );

  /** Rows PostgreSQL refused, set aside in `serving.prediction_dead_letters`, by model. */
  readonly predictionDeadLetters = this.counter(
    'kerf_serving_prediction_log_dead_letters_total',
    'Prediction rows PostgreSQL refused, set aside in serving.prediction_dead_letters, by model',
    ['model'],
  );

  readonly predictionLogFlushFailures = this.counter(
    'kerf_serving_prediction_log_flush_failures_total',
    'Batch writes to serving.predictions that failed (PostgreSQL away, or a row it refused)',
  );

  /** 1 while the prediction log is degraded (see `GET /v1/status`), else 0. */
  readonly predictionLogDegraded = this.gauge(
    'kerf_serving_prediction_log_degraded',
    '1 while the prediction log is degraded: rows piling up, writes failing, or a recent dead letter',
    [],
    true,
  );

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'kerf_serving_' });
  }

  /**
   * Counts an answered request and observes its latency. prom-client hashes and checks the labels at
   * every call; here an answer costs a map lookup, an addition and a bucket search.
   */
  answered(method: string, route: string, status: number, seconds: number): void {
    const key = `${status} ${method} ${route}`;
    let answer = this.answers.get(key);
    if (!answer) {
      answer = {
        labels: { method, route, status: String(status) },
        count: 0,
        reported: 0,
        latency: this.latency.seriesOf(method, route),
      };
      this.answers.set(key, answer);
    }
    answer.count += 1;
    answer.latency.observe(seconds);
  }

  /**
   * The count of rows one version scored for one alias, in `kerf_serving_predictions_total`: keep it
   * and call `inc` for each request. An increment is an addition (prom-client would hash and check
   * the labels at each call); the counter gets it before the next scrape.
   */
  scoredRows(model: string, version: number, alias: string): { inc(rows: number): void } {
    const count = new ScoredRowCount({ model, version: String(version), alias });
    this.scored.push(count);
    return count;
  }

  /** Runs `refresh` before every scrape (before the gauges that depend on it are read). */
  beforeScrape(refresh: () => void): void {
    this.scrapeRefreshes.push(refresh);
  }

  // Every metric registers in this app's registry only (see the module comment).
  private counter<Label extends string>(name: string, help: string, labelNames: readonly Label[] = []) {
    return new Counter<Label>({ name, help, labelNames, registers: [this.registry] });
  }

  private gauge<Label extends string>(
    name: string,
    help: string,
    labelNames: readonly Label[] = [],
    refreshedBeforeScrape = false,
  ) {
    return new Gauge<Label>({
      name,
      help,
      labelNames,
      registers: [this.registry],
      ...(refreshedBeforeScrape
        ? {
            collect: () => {
              for (const refresh of this.scrapeRefreshes) refresh();
            },
          }
        : {}),
    });
  }
}
