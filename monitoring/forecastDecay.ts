/**
 * The nightly check of a forecast model: the forecasts its version made at its origin (what serving
 * answers) scored against the periods that have arrived since, as a monitoring report. There are no
 * served rows to compare with a reference profile: what can go wrong is that the orders stop
 * following the pattern (a large customer leaves, demand surges), so the report judges decay of the
 * backtest's primary metric (MASE by default) and each series' bias: a customer that leaves takes a
 * third of a few series, which MASE averaged over every series barely notices, while the sum of
 * those series' arrived periods falls far below anything their intervals allow.
 */
import { BIAS_MIN_PERIODS, type SeriesBias } from '../lifecycle/forecast';
import type { TaskMetrics } from '../ml/slices';
import type { PipelineSpec } from '../lifecycle/spec';
import type { PerformanceDecay } from './decay';
import { buildMonitoringReport, type MonitoringReport, monitoringThresholds, percent } from './report';

/** How the forecasts of a version fared on the periods that arrived after its origin. */
export interface ArrivedForecastScores {
  /** Forecast points (series x periods) with an actual value. */
  points: number;
  /** Periods after the origin that have arrived. */
  periods: number;
  /** Mean of the series' MASE over the arrived periods (each series' scale from training). */
  mase: number;
  smape: number;
  /** Mean forecast minus mean actual, over the mean actual: 0.2 = forecasts 20 % too high. */
  bias: number;
  /** Share of actual values inside the prediction interval. */
  coverage: number;
}

export interface ForecastDecayInput {
  arrived: ArrivedForecastScores;
  /** The backtest's MASE of this version (its evaluation). */
  referenceMase: number | null;
  /** The spec's `monitoring.decayTolerance`. */
  decayTolerance: number;
  /** The spec's `monitoring.minSamples`: fewest forecast points to judge. */
  minSamples: number;
}

/** MASE on the arrived periods against the backtest's, judged like any performance decay. */
export function forecastDecay(input: ForecastDecayInput): PerformanceDecay {
  const { arrived, referenceMase, decayTolerance, minSamples } = input;
  const current = Number.isFinite(arrived.mase) ? arrived.mase : null;
  const relativeChange =
    current === null || referenceMase === null || referenceMase === 0
      ? null
      : (current - referenceMase) / Math.abs(referenceMase);
  const metrics = {
    mase: arrived.mase,
    smape: arrived.smape,
    bias: arrived.bias,
    coverage: arrived.coverage,
  } as unknown as TaskMetrics;
  const base = {
    metric: 'mase' as const,
    referenceValue: referenceMase,
    currentValue: current,
    relativeChange,
    tolerance: decayTolerance,
    rows: arrived.points,
    metrics,
  };
  if (arrived.points < minSamples) {
    return {
      ...base,
      judged: false,
      stale: false,
      reason: `${arrived.points} forecast points have arrived (${arrived.periods} periods), fewer than the ${minSamples} the spec's monitoring.minSamples asks for`,
    };
  }
  if (relativeChange === null) {
    return {
      ...base,
      judged: false,
      stale: false,
      reason: 'MASE is undefined at evaluation or on the arrived periods',
    };
  }
  return { ...base, judged: true, stale: relativeChange > decayTolerance };
}

/**
 * Standard deviations between a series' arrived total and its forecast total past which the
 * forecasts are biased: 4, since one origin's errors are correlated from period to period (a level
 * misjudged once is misjudged for every step) and a shop's dozen series are judged every night.
 */
export const FORECAST_BIAS_ALARM = 4;

/** The series whose arrived periods are biased beyond {@link FORECAST_BIAS_ALARM}, worst first. */
export function biasedSeries(seriesBias: readonly SeriesBias[]): SeriesBias[] {
  return seriesBias
    .filter(
      (series) =>
        series.periods >= BIAS_MIN_PERIODS && series.z !== null && Math.abs(series.z) > FORECAST_BIAS_ALARM,
    )
    .sort((a, b) => Math.abs(b.z ?? 0) - Math.abs(a.z ?? 0));
}

function biasReason(series: SeriesBias, period: string): string {
  const change =
    series.forecast > 0 ? ` (${formatPercent((series.actual - series.forecast) / series.forecast)})` : '';
  const side = (series.z ?? 0) < 0 ? 'below' : 'above';
  return (
    `Forecast bias: ${series.key.join(' / ')}: the latest ${series.periods} ${period}s brought ${formatAmount(series.actual)} ` +
    `against ${formatAmount(series.forecast)} forecast${change}, ${Math.abs(series.z ?? 0).toFixed(1)} standard deviations ${side} ` +
    `(the alarm is at ${FORECAST_BIAS_ALARM}); retrain to forecast from what the series brings now`
  );
}

function formatPercent(value: number): string {
  return `${value > 0 ? '+' : ''}${percent(value)}`;
}

function formatAmount(value: number): string {
  return Math.round(value).toLocaleString('en-GB');
}

/** Every period a version forecast has arrived: it has nothing left to say about the future. */
export interface ForecastsComeDue {
  /** Periods arrived since the origin. */
  periods: number;
  period: string;
  /** The version's origin, `YYYY-MM-DD`. */
  origin: string;
}

/**
 * The nightly report of a forecast model: the decay of its forecasts, and whether they have all come
 * due (both make it stale: a retraining run forecasts from the periods that arrived); no drift or
 * fairness watch.
 */
export function forecastMonitoringReport(input: {
  model: string;
  version: number;
  spec: Pick<PipelineSpec, 'target' | 'monitoring'>;
  from: string;
  to: string;
  /** The spec's period (`week`, `day`), for the reasons' words. */
  period: string;
  decay: PerformanceDecay;
  /** Series biased beyond the alarm ({@link biasedSeries}); judged only when the decay was. */
  biased?: readonly SeriesBias[];
  comeDue?: ForecastsComeDue | undefined;
}): MonitoringReport {
  const report = buildMonitoringReport({
    model: input.model,
    version: input.version,
    task: 'regression',
    target: input.spec.target,
    window: { from: input.from, to: input.to, predictions: input.decay.rows, labelled: input.decay.rows },
    thresholds: monitoringThresholds(input.spec.monitoring),
    featureDrift: [],
    predictionDrift: null,
    unseen: [],
    decay: input.decay,
    fairness: null,
  });
  const reasons = input.decay.judged
    ? (input.biased ?? []).map((series) => biasReason(series, input.period))
    : [];
  const due = input.comeDue;
  if (due) {
    reasons.push(
      `Forecasts come due: ${due.periods} ${due.period}s have arrived since the origin ${due.origin}, every one this version forecast; retrain to forecast the coming ${due.period}s`,
    );
  }
  if (reasons.length === 0) return report;
  return {
    ...report,
    stale: true,
    staleReasons: [...report.staleReasons, ...reasons],
    alarms: [...report.alarms, ...reasons],
  };
}
