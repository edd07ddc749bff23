/**
 * The reference profile: what "as at training" means to nightly monitoring, taken once when a
 * candidate is trained and stored with its version as plain JSON (a few KB). Per numeric feature the
 * quantile bins of the training rows and their shares; per categorical feature the share of each
 * category known to the model; the distribution of the candidate's predictions on the test rows; and
 * its test-set metrics, the baseline of performance decay. For a classifier also its classes with
 * their rows at training and in the test rows (class-prior shift) and the calibration of its test
 * predictions; both are optional, so profiles stored before them still read.
 */
import { argmaxRows } from '../ml/metrics';
import type { TaskKind } from '../ml/model';
import type { TaskMetrics } from '../ml/slices';
import type { Table } from '../ml/table';
import { primaryMetricOf, type QualityGateSpec, qualityMetricValue } from '../lifecycle/gates/quality';
import type { QualityMetric } from '../lifecycle/spec/parts';
import type { PipelineSpec } from '../lifecycle/spec/schema';
import { type CalibrationReference, expectedCalibrationError } from './calibration';
import { numericValues, tallyCategories } from './columns';
import { binCounts, DEFAULT_BINS, proportionsOf, quantileEdges } from './distribution';
import { modelTaskOf } from '../lifecycle/spec/metrics';

/** Bumped when the profile's shape changes, so an old profile is recognised, not misread. */
export const REFERENCE_PROFILE_FORMAT = 1;

/** A numeric feature's training distribution over its quantile bins (layout in `distribution.ts`). */
export interface NumericReference {
  kind: 'numeric';
  name: string;
  /** Bin edges: `edges.length + 1` right-closed value bins, open-ended at both ends. */
  edges: number[];
  /** Share of training rows per bucket: the value bins, then missing (last). Sums to 1. */
  proportions: number[];
}

/** A categorical feature's training distribution. */
export interface CategoricalReference {
  kind: 'categorical';
  name: string;
  /** Every category of the training rows, by share, largest first (ties by label). */
  categories: string[];
  /** Share of training rows per category, aligned with `categories`. */
  proportions: number[];
  /** Share of training rows without a value. */
  missing: number;
}

export type FeatureReference = NumericReference | CategoricalReference;

/**
 * The distribution of the candidate's predictions on the test rows: binned values for regression
 * (the prediction) and binary (the probability of class 1), predicted class shares for multiclass.
 */
export type PredictionReference =
  | { kind: 'numeric'; rows: number; edges: number[]; proportions: number[] }
  | { kind: 'classes'; rows: number; classLabels: string[]; proportions: number[] };

/** The test-set performance monitoring compares fresh labelled outcomes with. */
export interface PerformanceReference {
  /** The spec's primary quality metric (`gates.quality.primaryMetric`). */
  metric: QualityMetric;
  /** Its value on the test rows; null when undefined there (AUC of a test set with one class). */
  value: number | null;
  testRows: number;
  /** Every numeric metric of the test rows, by name (`rmse`, `mae`...), for the report. */
  metrics: Record<string, number>;
}

/** A classifier's classes and how often each occurred when it was made. */
export interface ClassReference {
  /** The model's class labels, index = class id. */
  labels: string[];
  /** Training rows per class, aligned with `labels`; absent when the rows lacked the target. */
  training?: number[];
  /** Test rows per class, aligned with `labels`; absent without the test targets. */
  test?: number[];
}

export interface ReferenceProfile {
  format: typeof REFERENCE_PROFILE_FORMAT;
  task: TaskKind;
  target: string;
  trainingRows: number;
  features: FeatureReference[];
  prediction: PredictionReference;
  performance: PerformanceReference;
  /** Classifiers (binary and multiclass). @default undefined in profiles stored before it */
  classes?: ClassReference;
  /** Classifiers with test targets: the ECE of the test predictions. @default undefined */
  calibration?: CalibrationReference;
}

/** The parts of a pipeline spec the profile reads. */
export type ReferenceSpec = Pick<PipelineSpec, 'task' | 'target' | 'features'> & {
  gates: { quality: QualityGateSpec };
};

export interface ReferenceProfileInput {
  /** The training rows of the snapshot (neither validation nor test rows), with every feature column. */
  table: Table;
  spec: ReferenceSpec;
  /**
   * The candidate's predictions on the test rows (`TestSetEvaluation.prediction`). Regression: values.
   * Binary: probability of class 1. Multiclass: rows x classes probabilities, row-major.
   */
  predictions: ArrayLike<number>;
  /** The candidate's metrics on the test rows (`TestSetEvaluation.metrics`). */
  metrics: TaskMetrics;
  /** Classifiers (required for multiclass): the model's class labels, index = class id. */
  classLabels?: readonly string[];
  /**
   * Classifiers: the class ids of the test rows (`TestSetEvaluation.y`), for the class balance and
   * calibration at training.
   * @default undefined (neither kept)
   */
  testTargets?: ArrayLike<number>;
  /**
   * Quantile bins per numeric feature and for numeric predictions.
   * @default 10
   */
  bins?: number;
}

/** Shares rounded to 6 significant digits: exact enough for PSI, and half the JSON. */
function compact(proportions: readonly number[]): number[] {
  return proportions.map((share) => Number(share.toPrecision(6)));
}

function numericReference(name: string, values: Float64Array, bins: number): NumericReference {
  const edges = quantileEdges(values, bins);
  return { kind: 'numeric', name, edges, proportions: compact(proportionsOf(binCounts(values, edges))) };
}

function categoricalReference(name: string, table: Table): CategoricalReference {
  const tally = tallyCategories(table.column(name));
  const byShare = [...tally.counts].sort(
    ([labelA, countA], [labelB, countB]) =>
      countB - countA || (labelA < labelB ? -1 : labelA > labelB ? 1 : 0),
  );
  const share = (count: number) => (tally.rows === 0 ? 0 : count / tally.rows);
  return {
    kind: 'categorical',
    name,
    categories: byShare.map(([label]) => label),
    proportions: compact(byShare.map(([, count]) => share(count))),
    missing: Number(share(tally.missing).toPrecision(6)),
  };
}

function predictionReference(input: ReferenceProfileInput, bins: number): PredictionReference {
  const { spec, predictions } = input;
  if (spec.task !== 'multiclass') {
    const values = Float64Array.from(predictions);
    const { edges, proportions } = numericReference('prediction', values, bins);
    return { kind: 'numeric', rows: values.length, edges, proportions };
  }
  const classLabels = [...(input.classLabels ?? [])];
  const k = classLabels.length;
  if (k < 2 || predictions.length % k !== 0) {
    throw new Error(
      `multiclass predictions need the model's class labels: got ${k} labels for ${predictions.length} probabilities`,
    );
  }
  const counts = new Array<number>(k).fill(0);
  for (const predicted of argmaxRows(predictions, k)) counts[predicted] = (counts[predicted] ?? 0) + 1;
  return {
    kind: 'classes',
    rows: predictions.length / k,
    classLabels,
    proportions: compact(proportionsOf(counts)),
  };
}

function performanceReference(spec: ReferenceSpec, metrics: TaskMetrics): PerformanceReference {
  const metric = primaryMetricOf(spec.task, spec.gates.quality);
  const value = qualityMetricValue(spec.task, metrics, metric);
  const scalars = Object.entries(metrics).filter(
    (entry): entry is [string, number] => typeof entry[1] === 'number' && Number.isFinite(entry[1]),
  );
  return {
    metric,
    value: Number.isNaN(value) ? null : value,
    testRows: metrics.count,
    metrics: Object.fromEntries(scalars.filter(([name]) => name !== 'count')),
  };
}

/** Rows per class id among ids 0..k-1 (others ignored). */
function classCounts(ids: ArrayLike<number>, k: number): number[] {
  const counts = new Array<number>(k).fill(0);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i] as number;
    if (Number.isInteger(id) && id >= 0 && id < k) counts[id] = (counts[id] ?? 0) + 1;
  }
  return counts;
}

/** The classes of a classifier with their rows at training and in the test rows. */
function classReference(input: ReferenceProfileInput, labels: readonly string[]): ClassReference {
  const { table, spec, testTargets } = input;
  const reference: ClassReference = { labels: [...labels] };
  if (table.has(spec.target)) {
    // Numeric targets read as their text (1 is "1"), as training named the classes.
    const tally = tallyCategories(table.column(spec.target));
    reference.training = labels.map((label) => tally.counts.get(label) ?? 0);
  }
  if (testTargets) reference.test = classCounts(testTargets, labels.length);
  return reference;
}

function calibrationReference(
  input: ReferenceProfileInput,
  labels: readonly string[],
): CalibrationReference | undefined {
  const { spec, testTargets, predictions } = input;
  if (!testTargets || spec.task === 'regression' || spec.task === 'forecast') return undefined;
  const measured = expectedCalibrationError({
    task: spec.task,
    y: testTargets,
    prediction: predictions,
    ...(spec.task === 'multiclass' ? { k: labels.length } : {}),
  });
  const value = measured.value === null ? null : Number(measured.value.toPrecision(6));
  return { statistic: 'ece', value, rows: measured.rows, bins: measured.bins.length };
}

/**
 * Profiles the training rows and the candidate's test-set results for nightly monitoring. Numeric
 * features get about `bins` quantile bins of the training values (fewer when values repeat) and a
 * missing bucket; categorical features the share of every training category and of missing values.
 * A classifier given its class labels also gets its classes' rows at training and, with the test
 * targets, in the test rows, and the ECE of its test predictions.
 *
 * @throws when a feature of the spec is not a column of the table, or multiclass predictions come
 *   without their class labels
 */
export function buildReferenceProfile(input: ReferenceProfileInput): ReferenceProfile {
  const { table, spec, metrics } = input;
  const bins = input.bins ?? DEFAULT_BINS;
  const features = spec.features.map((feature): FeatureReference => {
    const column = table.column(feature.name);
    return feature.kind === 'numeric'
      ? numericReference(feature.name, numericValues(column), bins)
      : categoricalReference(feature.name, table);
  });
  const profile: ReferenceProfile = {
    format: REFERENCE_PROFILE_FORMAT,
    task: modelTaskOf(spec.task),
    target: spec.target,
    trainingRows: table.rowCount,
    features,
    prediction: predictionReference(input, bins),
    performance: performanceReference(spec, metrics),
  };
  const labels = input.classLabels;
  if (profile.task !== 'regression' && labels && labels.length >= 2) {
    profile.classes = classReference(input, labels);
    const calibration = calibrationReference(input, labels);
    if (calibration) profile.calibration = calibration;
  }
  return profile;
}
