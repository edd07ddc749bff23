/**
 * The nightly check of a forecast model: the forecasts its version made at its origin (what serving
 * answers) scored against the periods that have arrived since, as a monitoring report. There are no
 * served rows to compare with a reference profile: what can go wrong is that the orders stop
 * following the pattern (a large customer leaves, demand surges), so the report judges decay of the
 * backtest's primary metric (MASE by default) and nothing else.
 */
import type { TaskMetrics } from '../ml/slices';
import type { PipelineSpec } from '../lifecycle/spec';
import type { PerformanceDecay } from './decay';
import { buildMonitoringReport, type MonitoringReport, monitoringThresholds } from './report';

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
  decay: PerformanceDecay;
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
  const due = input.comeDue;
  if (!due) return report;
  const reason = `Forecasts come due: ${due.periods} ${due.period}s have arrived since the origin ${due.origin}, every one this version forecast; retrain to forecast the coming ${due.period}s`;
  return {
    ...report,
    stale: true,
    staleReasons: [...report.staleReasons, reason],
    alarms: [...report.alarms, reason],
  };
}
