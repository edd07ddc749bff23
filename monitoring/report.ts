/**
 * The nightly monitoring report of one production model: every measure of the window, one readable
 * sentence per alarm, notes for what was shown but not judged, and whether the model is stale.
 *
 * Stale (a retraining run starts) when the model no longer fits the shop: its primary metric decayed
 * beyond the tolerance, categories it never saw reach the alarm rate (it scores them as missing), a
 * feature drifted past its alarm, or a slice is served worse than the fairness gate allows. Drift of
 * the predictions alone raises an alarm but does not make the model stale: it follows from the
 * inputs, and when they have not moved, retraining on the same kind of rows would learn the same.
 *
 * A classifier is also stale when its probabilities lost their calibration. A shift of the class
 * balance, or outcomes with a label the model does not know, raise an alarm without making it
 * stale: what they do to the model shows in its calibration and metrics, which decide.
 */
import type { TaskKind } from '../ml/model';
import { formatNumber, metricLabel } from '../lifecycle/gates/quality';
import type { GateCheck } from '../lifecycle/gates/verdict';
import { type CalibrationDrift, CHANCE_ALLOWANCE } from './calibration';
import type { UnknownOutcomes } from './classOutcomes';
import type { ClassPriorShift } from './classPrior';
import { type FairnessWatch, type PerformanceDecay, sliceAtFault } from './decay';
import type { DriftMeasure, FeatureDrift, MonitoringSpec, PredictionDrift, UnseenCategories } from './drift';
import type { CanaryJudgement } from './canary';
import type { ShadowComparison } from './shadow';

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
  /** Classifiers with labelled outcomes: ECE against the test rows at training. @default null */
  calibration?: CalibrationDrift | null;
  /** Classifiers with labelled outcomes: class shares against the test rows at training. @default null */
  classPrior?: ClassPriorShift | null;
  /** Classifiers: labelled outcomes whose label the model does not know. @default null (none) */
  unknownOutcomes?: UnknownOutcomes | null;
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
  /** Null for regression, and without labelled outcomes. */
  calibration: CalibrationDrift | null;
  /** Null for regression, and without labelled outcomes. */
  classPrior: ClassPriorShift | null;
  /** Null when every outcome's label is one of the model's classes. */
  unknownOutcomes: UnknownOutcomes | null;
  /**
   * The canary against production on labelled outcomes, and what the check did (`deployments.ts`).
   * @default undefined (no canary served, or a report from before canaries were judged)
   */
  canary?: CanaryJudgement;
  /**
   * The shadow against production on the same requests (`deployments.ts`).
   * @default undefined (no shadow scored, or a report from before shadows were compared)
   */
  shadow?: ShadowComparison;
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

function calibrationSentence(calibration: CalibrationDrift): string {
  const now = calibration.currentValue ?? Number.NaN;
  const then = calibration.referenceValue ?? Number.NaN;
  return (
    `Calibration drift: expected calibration error ${formatNumber(now)} on ${count(calibration.rows, 'labelled row')} ` +
    `against ${formatNumber(then)} on the test rows at training, ${formatNumber(now - then)} worse ` +
    `(alarm beyond ${formatNumber(calibration.allowed)}: ${formatNumber(calibration.tolerance)} plus ${CHANCE_ALLOWANCE} x the ` +
    `${formatNumber(calibration.chance ?? 0)} a calibrated model shows on these rows by chance)`
  );
}

/** `p = 0.0003`, `p < 0.0001`. */
function pValueText(pValue: number): string {
  return pValue < 1e-4 ? 'p < 0.0001' : `p = ${formatNumber(pValue, 2)}`;
}

function classPriorSentence(shift: ClassPriorShift, target: string): string {
  // Binary: the positive class (a failure rate reads better than a rate of passes); else the most moved.
  const [moved] =
    shift.classes.length === 2
      ? shift.classes.slice(1)
      : [...shift.classes].sort(
          (a, b) => Math.abs(b.current - b.reference) - Math.abs(a.current - a.reference),
        );
  const where = shift.reference === 'test' ? 'the test rows' : 'the training rows';
  const share = moved
    ? `${target} = ${moved.label} is ${percent(moved.current)} of ${count(shift.rows, 'labelled outcome')} against ` +
      `${percent(moved.reference)} of ${where} at training`
    : `the classes of ${count(shift.rows, 'labelled outcome')} moved from ${where} at training`;
  return (
    `Class balance: ${share} (chi-square ${formatNumber(shift.statistic ?? Number.NaN)} on ` +
    `${count(shift.degreesOfFreedom, 'degree')} of freedom, ${pValueText(shift.pValue ?? Number.NaN)}; alarm below p = ${formatNumber(shift.level)})`
  );
}

function unknownOutcomeLabels(unknown: UnknownOutcomes, shown = 5): string {
  const listed = unknown.values
    .slice(0, shown)
    .map((value) => `"${value.label}" (${count(value.rows, 'row')})`);
  const more = unknown.values.length - shown;
  return more > 0 ? `${listed.join(', ')} and ${more} more` : listed.join(', ');
}

function unknownOutcomesSentence(unknown: UnknownOutcomes): string {
  return (
    `Unknown outcomes: ${percent(unknown.rate)} of ${count(unknown.rows, 'labelled outcome')} carry a label the model ` +
    `does not know (alarm at ${percent(unknown.threshold)}): ${unknownOutcomeLabels(unknown)}`
  );
}

function unknownOutcomesNote(unknown: UnknownOutcomes): string {
  const why = unknown.judged
    ? `below the ${percent(unknown.threshold)} alarm`
    : (unknown.reason ?? 'not judged');
  return (
    `Unknown outcomes: ${count(unknown.unknownRows, 'labelled outcome')} of ${unknown.rows} carry a label the model ` +
    `does not know, left out of every measure: ${unknownOutcomeLabels(unknown)}; ${why}`
  );
}

/**
 * A failed fairness check as an alarm. A binary check compares the slices of a segment; the alarm
 * starts with the slice served worst (`Type=L: equal opportunity difference 0.31 > 0.2`).
 */
function fairnessSentence(fairness: FairnessWatch, check: GateCheck): string {
  const atFault = sliceAtFault(fairness, check);
  const named = atFault
    ? `${atFault.segment}${atFault.slice === null ? ' missing' : `=${atFault.slice}`}: ${atFault.measure} ` +
      `${formatNumber(atFault.value)} ${atFault.measure === 'disparate impact' ? '<' : '>'} ${formatNumber(atFault.bound)}; `
    : '';
  return `Fairness on ${count(fairness.rows, 'labelled row')}: ${named}${check.message}`;
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

/** `a`, `a and b`, `a, b and c`. */
function listed(names: readonly string[]): string {
  return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names.at(-1) ?? ''}`;
}

function outcomeNotes(input: MonitoringReportInput): string[] {
  const { decay, fairness } = input;
  if (!decay && !fairness) {
    const unchecked =
      input.task === 'regression'
        ? 'performance decay and fairness'
        : 'performance decay, calibration, class balance and fairness';
    return [`No labelled outcomes in the window: ${unchecked} were not checked`];
  }
  const measures = [
    { name: 'performance', measure: decay },
    { name: 'calibration', measure: input.calibration ?? null },
    { name: 'class balance', measure: input.classPrior ?? null },
    { name: 'fairness', measure: fairness },
  ].flatMap(({ name, measure }) => (measure && !measure.judged ? [{ name, reason: measure.reason }] : []));
  // One note for the measures that share a reason (too few labelled rows), rather than one each.
  const reasons = [...new Set(measures.map((entry) => entry.reason))];
  return reasons.map((reason) => {
    const names = listed(measures.filter((entry) => entry.reason === reason).map((entry) => entry.name));
    return `${names.charAt(0).toUpperCase()}${names.slice(1)} not judged: ${reason ?? 'no reason given'}`;
  });
}

/** Puts the night's measures together, words the alarms and notes, and decides whether the model is stale. */
export function buildMonitoringReport(input: MonitoringReportInput): MonitoringReport {
  const { featureDrift, predictionDrift, unseen, decay, fairness } = input;
  const calibration = input.calibration ?? null;
  const classPrior = input.classPrior ?? null;
  const unknownOutcomes = input.unknownOutcomes ?? null;
  const staleReasons = [
    ...unseen.filter((feature) => feature.alarm).map(unseenSentence),
    ...featureDrift.filter((drift) => drift.alarm).map(featureSentence),
    ...(decay?.stale ? [decaySentence(decay, input.task, input.targetUnit)] : []),
    ...(calibration?.alarm ? [calibrationSentence(calibration)] : []),
    ...(fairness?.judged ? fairness.failed.map((check) => fairnessSentence(fairness, check)) : []),
  ];
  const alarms = [
    ...staleReasons,
    ...(predictionDrift?.alarm ? [predictionSentence(predictionDrift)] : []),
    ...(classPrior?.alarm ? [classPriorSentence(classPrior, input.target)] : []),
    ...(unknownOutcomes?.alarm ? [unknownOutcomesSentence(unknownOutcomes)] : []),
  ];
  const notes = [
    ...unseen.filter((feature) => !feature.alarm && feature.values.length > 0).map(unseenNote),
    ...driftNotes(input),
    ...(unknownOutcomes && !unknownOutcomes.alarm ? [unknownOutcomesNote(unknownOutcomes)] : []),
    ...outcomeNotes(input),
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
    calibration,
    classPrior,
    unknownOutcomes,
  };
}
