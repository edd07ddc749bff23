/**
 * The nightly monitoring report of one production model: every measure of the window, one readable
 * sentence per alarm, notes for what was shown but not judged, and whether the model is stale.
 *
 * Stale (a retraining run starts) when the model no longer fits the shop: its primary metric decayed
 * beyond the tolerance, categories it never saw reach the alarm rate (it scores them as missing), a
 * feature drifted past its alarm, or a slice is served worse than the fairness gate allows. Drift of
 * the predictions alone raises an alarm but does not make the model stale: it follows from the
 * inputs, and when they have not moved, retraining on the same kind of rows would learn the same.
 */
import type { TaskKind } from '../ml/model';
import { formatNumber, metricLabel } from '../lifecycle/gates/quality';
import type { FairnessWatch, PerformanceDecay } from './decay';
import type { DriftMeasure, FeatureDrift, MonitoringSpec, PredictionDrift, UnseenCategories } from './drift';

/** Bumped when the report's shape changes. */
export const MONITORING_REPORT_FORMAT = 1;

/** The spec's monitoring thresholds (its `monitoring` without the schedule). */
export type MonitoringThresholds = Omit<MonitoringSpec, 'schedule'>;

/** The thresholds of the spec's `monitoring`. */
export function monitoringThresholds(monitoring: MonitoringSpec): MonitoringThresholds {
  const { psiAlarm, jsAlarm, decayTolerance, unseenCategoryRateAlarm, minSamples } = monitoring;
  return { psiAlarm, jsAlarm, decayTolerance, unseenCategoryRateAlarm, minSamples };
}

/** The window of served requests a nightly run looked at. */
export interface MonitoringWindow {
  /** Start, ISO 8601: the end of the last run's window. */
  from: string;
  /** End, ISO 8601. */
  to: string;
  /** Predictions served in the window. */
  predictions: number;
  /** Of those, how many have a labelled outcome. */
  labelled: number;
}

/** What a nightly run watched: one served model version over a window, against which thresholds. */
export interface MonitoredModel {
  model: string;
  version: number;
  task: TaskKind;
  /** The predicted column (`bend_seconds_per_part`). */
  target: string;
  window: MonitoringWindow;
  thresholds: MonitoringThresholds;
}

export interface MonitoringReportInput extends MonitoredModel {
  featureDrift: FeatureDrift[];
  predictionDrift: PredictionDrift | null;
  unseen: UnseenCategories[];
  /** Null when the window has no labelled outcome. */
  decay: PerformanceDecay | null;
  /** Null when the window has no labelled outcome. */
  fairness: FairnessWatch | null;
  /**
   * Unit of the target, shown after errors (`s`, `kWh`).
   * @default undefined (no unit)
   */
  targetUnit?: string;
}

export interface MonitoringReport extends MonitoredModel {
  format: typeof MONITORING_REPORT_FORMAT;
  /** True when a retraining run should start (see the module comment). */
  stale: boolean;
  /** The alarms that make the model stale, one sentence each. */
  staleReasons: string[];
  /** Every alarm, one sentence each: what moved, by how much, against which threshold. */
  alarms: string[];
  /** What was found but not judged (too few rows, a missing column, a new category below the alarm rate). */
  notes: string[];
  drift: { features: FeatureDrift[]; prediction: PredictionDrift | null };
  unseen: UnseenCategories[];
  decay: PerformanceDecay | null;
  fairness: FairnessWatch | null;
}

/** `12.5 %`. */
export function percent(fraction: number): string {
  return `${formatNumber(fraction * 100, 3)} %`;
}

function count(rows: number, noun: string): string {
  return `${rows} ${noun}${rows === 1 ? '' : 's'}`;
}

function statisticName(measure: DriftMeasure): string {
  return measure.statistic === 'psi' ? 'PSI' : 'Jensen-Shannon divergence';
}

/** `; most changed: > 3, 12 % of rows now against 2 % at training`, or '' without buckets. */
function mostChanged(measure: DriftMeasure, rowsNoun: string): string {
  const [largest] = [...measure.buckets].sort(
    (a, b) => Math.abs(b.current - b.reference) - Math.abs(a.current - a.reference),
  );
  return largest
    ? `; most changed: ${largest.label}, ${percent(largest.current)} of ${rowsNoun} now against ${percent(largest.reference)} at training`
    : '';
}

function featureSentence(drift: FeatureDrift): string {
  return (
    `Feature drift: ${drift.feature} has moved from its training distribution, ${statisticName(drift)} ` +
    `${formatNumber(drift.value ?? Number.NaN)} on ${count(drift.rows, 'row')} (alarm at ${formatNumber(drift.threshold)})` +
    mostChanged(drift, 'rows')
  );
}

function predictionSentence(drift: PredictionDrift): string {
  return (
    `Prediction drift: predicted ${drift.target} has moved from the test-set predictions at training, ` +
    `${statisticName(drift)} ${formatNumber(drift.value ?? Number.NaN)} on ${count(drift.rows, 'prediction')} ` +
    `(alarm at ${formatNumber(drift.threshold)})${mostChanged(drift, 'predictions')}`
  );
}

/** `titanium (192 rows), copper (3 rows) and 2 more`. */
function unseenValues(unseen: UnseenCategories, shown = 5): string {
  const listed = unseen.values.slice(0, shown).map((value) => `${value.label} (${count(value.rows, 'row')})`);
  const more = unseen.values.length - shown;
  return more > 0 ? `${listed.join(', ')} and ${more} more` : listed.join(', ');
}

function unseenSentence(unseen: UnseenCategories): string {
  return (
    `Unseen categories: ${unseen.feature} has values never seen in training in ${percent(unseen.rate)} ` +
    `of ${count(unseen.rows, 'row')} (alarm at ${percent(unseen.threshold)}): ${unseenValues(unseen)}`
  );
}

function unseenNote(unseen: UnseenCategories): string {
  const why = unseen.judged
    ? `below the ${percent(unseen.threshold)} alarm`
    : (unseen.reason ?? 'not judged');
  return (
    `New categories: ${unseen.feature} has values never seen in training in ${count(unseen.unseenRows, 'row')} ` +
    `of ${unseen.rows} (${percent(unseen.rate)}): ${unseenValues(unseen)}; ${why}`
  );
}

/** A metric value with its unit: target units for RMSE and MAE, percent for MAPE. */
function metricValue(decay: PerformanceDecay, value: number | null, unit: string | undefined): string {
  if (value === null) return 'undefined';
  if (decay.metric === 'mape') return percent(value);
  return (decay.metric === 'rmse' || decay.metric === 'mae') && unit
    ? `${formatNumber(value)} ${unit}`
    : formatNumber(value);
}

function decaySentence(decay: PerformanceDecay, task: TaskKind, unit: string | undefined): string {
  return (
    `Performance decay: ${metricLabel(task, decay.metric)} ${metricValue(decay, decay.currentValue, unit)} ` +
    `on ${count(decay.rows, 'labelled row')} is ${percent(decay.relativeChange ?? Number.NaN)} worse than ` +
    `${metricValue(decay, decay.referenceValue, unit)} at training (tolerance ${percent(decay.tolerance)})`
  );
}

function driftNotes(input: MonitoringReportInput): string[] {
  const { featureDrift, predictionDrift, window, thresholds } = input;
  const notes: string[] = [];
  const measures: DriftMeasure[] = [...featureDrift, ...(predictionDrift ? [predictionDrift] : [])];
  // A quiet night: one note for all, rather than the same reason per feature.
  const quiet = measures.some((measure) => !measure.judged && measure.rows < thresholds.minSamples);
  if (quiet) {
    notes.push(
      `Drift not judged: only ${count(window.predictions, 'prediction')} in the window, fewer than the ` +
        `${thresholds.minSamples} needed`,
    );
  }
  for (const drift of featureDrift) {
    if (!drift.judged && drift.rows >= thresholds.minSamples) {
      notes.push(`Drift of ${drift.feature} not judged: ${drift.reason ?? 'no reason given'}`);
    }
  }
  if (predictionDrift && !predictionDrift.judged && predictionDrift.rows >= thresholds.minSamples) {
    notes.push(`Prediction drift not judged: ${predictionDrift.reason ?? 'no reason given'}`);
  }
  return notes;
}

function outcomeNotes(decay: PerformanceDecay | null, fairness: FairnessWatch | null): string[] {
  if (!decay && !fairness) {
    return ['No labelled outcomes in the window: performance decay and fairness were not checked'];
  }
  if (decay && fairness && !decay.judged && !fairness.judged && decay.reason === fairness.reason) {
    return [`Performance and fairness not judged: ${decay.reason ?? 'no reason given'}`];
  }
  return [
    ...(decay && !decay.judged ? [`Performance not judged: ${decay.reason ?? 'no reason given'}`] : []),
    ...(fairness && !fairness.judged ? [`Fairness not judged: ${fairness.reason ?? 'no reason given'}`] : []),
  ];
}

/** Puts the night's measures together, words the alarms and notes, and decides whether the model is stale. */
export function buildMonitoringReport(input: MonitoringReportInput): MonitoringReport {
  const { featureDrift, predictionDrift, unseen, decay, fairness } = input;
  const staleReasons = [
    ...unseen.filter((feature) => feature.alarm).map(unseenSentence),
    ...featureDrift.filter((drift) => drift.alarm).map(featureSentence),
    ...(decay?.stale ? [decaySentence(decay, input.task, input.targetUnit)] : []),
    ...(fairness?.judged
      ? fairness.failed.map(
          (check) => `Fairness on ${count(fairness.rows, 'labelled row')}: ${check.message}`,
        )
      : []),
  ];
  const alarms = [...staleReasons, ...(predictionDrift?.alarm ? [predictionSentence(predictionDrift)] : [])];
  const notes = [
    ...unseen.filter((feature) => !feature.alarm && feature.values.length > 0).map(unseenNote),
    ...driftNotes(input),
    ...outcomeNotes(decay, fairness),
  ];
  return {
    format: MONITORING_REPORT_FORMAT,
    model: input.model,
    version: input.version,
    task: input.task,
    target: input.target,
    window: input.window,
    thresholds: input.thresholds,
    stale: staleReasons.length > 0,
    staleReasons,
    alarms,
    notes,
    drift: { features: featureDrift, prediction: predictionDrift },
    unseen,
    decay,
    fairness,
  };
}
