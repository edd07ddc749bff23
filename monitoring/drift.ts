/**
 * Drift of one window of served requests from the reference profile: each feature's distribution
 * (PSI over the training bins for numbers, Jensen-Shannon divergence for categories), the
 * predictions' distribution, and categories the model never saw at training.
 *
 * A quiet night must not raise a false alarm: with fewer rows than `minSamples`, every statistic is
 * still computed and shown, but not judged (`judged: false`, with the reason) and never an alarm. A
 * category unseen at training is named even then, since one titanium part is news to the shop.
 */
import type { z } from 'zod';
import { argmaxRows } from '../ml/metrics';
import type { TaskKind } from '../ml/model';
import type { Table } from '../ml/table';
import type { monitoringSchema } from '../lifecycle/spec/parts';
import { asTable, type CategoryTally, type Columns, numericValues, tallyCategories } from './columns';
import { binCounts, bucketLabels, jensenShannon, MISSING_BUCKET, proportionsOf, psi } from './distribution';
import type {
  CategoricalReference,
  FeatureReference,
  PredictionReference,
  ReferenceProfile,
} from './reference';

export { binCounts, jensenShannon, psi } from './distribution';

/** The spec's `monitoring`. */
export type MonitoringSpec = z.output<typeof monitoringSchema>;
/** The thresholds drift is judged by. */
export type DriftThresholds = Pick<MonitoringSpec, 'psiAlarm' | 'jsAlarm' | 'minSamples'>;
/** The thresholds unseen categories are judged by. */
export type UnseenThresholds = Pick<MonitoringSpec, 'unseenCategoryRateAlarm' | 'minSamples'>;

/** Label of the bucket of categories unseen at training. */
export const UNSEEN_BUCKET = '(unseen)';

/** One bucket of a distribution at training and now, as shares of rows: the data of a drift chart. */
export interface DistributionBucket {
  label: string;
  reference: number;
  current: number;
}

/** A distribution of this window measured against its reference. */
export interface DriftMeasure {
  /** PSI over bins for numbers, Jensen-Shannon divergence (base 2) for categories and classes. */
  statistic: 'psi' | 'js';
  /** Null when there is nothing to measure (no rows, or no column). */
  value: number | null;
  /** The spec's `psiAlarm` or `jsAlarm`. */
  threshold: number;
  /** Rows of the window, missing values included. */
  rows: number;
  /** False when too few rows (or no column) to judge: shown, never an alarm. */
  judged: boolean;
  /** Why it was not judged. */
  reason?: string;
  /** Judged, and at or above the threshold. */
  alarm: boolean;
  buckets: DistributionBucket[];
}

export interface FeatureDrift extends DriftMeasure {
  feature: string;
  kind: FeatureReference['kind'];
}

export interface PredictionDrift extends DriftMeasure {
  /** The predicted column (`bend_seconds_per_part`). */
  target: string;
  task: TaskKind;
}

/** A value never seen at training and how many rows of the window hold it. */
export interface UnseenValue {
  label: string;
  rows: number;
}

/** The categories of one categorical feature that the model did not see at training. */
export interface UnseenCategories {
  feature: string;
  /** Rows of the window, missing values included. */
  rows: number;
  /** Rows whose value is unseen at training (missing values are not unseen). */
  unseenRows: number;
  /** unseenRows / rows; 0 without rows. */
  rate: number;
  /** Every unseen value, most rows first (ties by label); listed even when not judged. */
  values: UnseenValue[];
  /** The spec's `unseenCategoryRateAlarm`. */
  threshold: number;
  judged: boolean;
  reason?: string;
  /** Judged, and the rate at or above the threshold. */
  alarm: boolean;
}

function tooFewRows(rows: number, minSamples: number): string {
  return `only ${rows} ${rows === 1 ? 'row' : 'rows'}, fewer than the ${minSamples} needed to judge`;
}

/** Judges a statistic: an alarm only with enough rows and a value at or above the threshold. */
function judge(
  value: number,
  threshold: number,
  rows: number,
  minSamples: number,
): Pick<DriftMeasure, 'value' | 'judged' | 'reason' | 'alarm'> {
  const shown = Number.isFinite(value) ? value : null;
  if (rows < minSamples) {
    return { value: shown, judged: false, reason: tooFewRows(rows, minSamples), alarm: false };
  }
  if (shown === null) {
    return { value: null, judged: false, reason: 'no statistic could be computed', alarm: false };
  }
  return { value: shown, judged: true, alarm: shown >= threshold };
}

function buckets(labels: readonly string[], reference: readonly number[], counts: readonly number[]) {
  const current = proportionsOf(counts);
  return labels.map((label, i) => ({ label, reference: reference[i] ?? 0, current: current[i] ?? 0 }));
}

/** Per bucket of a categorical reference, the window's rows: the known categories, unseen, missing. */
function categoricalCounts(reference: CategoricalReference, tally: CategoryTally) {
  const counts = reference.categories.map((label) => tally.counts.get(label) ?? 0);
  const known = counts.reduce((sum, count) => sum + count, 0);
  return [...counts, tally.rows - tally.missing - known, tally.missing];
}

function featureMeasure(reference: FeatureReference, table: Table, thresholds: DriftThresholds) {
  const column = table.column(reference.name);
  if (reference.kind === 'numeric') {
    const counts = binCounts(numericValues(column), reference.edges);
    return {
      statistic: 'psi' as const,
      threshold: thresholds.psiAlarm,
      ...judge(
        psi(reference.proportions, counts),
        thresholds.psiAlarm,
        table.rowCount,
        thresholds.minSamples,
      ),
      buckets: buckets(bucketLabels(reference.edges), reference.proportions, counts),
    };
  }
  const counts = categoricalCounts(reference, tallyCategories(column));
  const expected = [...reference.proportions, 0, reference.missing];
  return {
    statistic: 'js' as const,
    threshold: thresholds.jsAlarm,
    ...judge(jensenShannon(expected, counts), thresholds.jsAlarm, table.rowCount, thresholds.minSamples),
    buckets: buckets([...reference.categories, UNSEEN_BUCKET, MISSING_BUCKET], expected, counts),
  };
}

/**
 * The drift of each feature of the profile in a window of prediction inputs. A feature the window
 * has no column for is reported, not judged: that is a logging fault, not a shift of the shop.
 *
 * @param window the prediction inputs of the window, one row per request
 */
export function featureDrift(
  profile: ReferenceProfile,
  window: Columns,
  thresholds: DriftThresholds,
): FeatureDrift[] {
  const table = asTable(window);
  return profile.features.map((reference): FeatureDrift => {
    const base = { feature: reference.name, kind: reference.kind, rows: table.rowCount };
    if (table.has(reference.name)) return { ...base, ...featureMeasure(reference, table, thresholds) };
    const numeric = reference.kind === 'numeric';
    return {
      ...base,
      statistic: numeric ? 'psi' : 'js',
      value: null,
      threshold: numeric ? thresholds.psiAlarm : thresholds.jsAlarm,
      judged: false,
      reason: `the window has no column "${reference.name}"`,
      alarm: false,
      buckets: [],
    };
  });
}

function predictionCounts(reference: PredictionReference, predictions: ArrayLike<number>) {
  if (reference.kind === 'numeric') {
    return { rows: predictions.length, counts: binCounts(predictions, reference.edges) };
  }
  const k = reference.classLabels.length;
  if (predictions.length % k !== 0) {
    throw new Error(`${predictions.length} probabilities are not rows of ${k} classes`);
  }
  const counts = new Array<number>(k).fill(0);
  for (const predicted of argmaxRows(predictions, k)) counts[predicted] = (counts[predicted] ?? 0) + 1;
  return { rows: predictions.length / k, counts };
}

/**
 * The drift of the window's predictions from the test-set predictions at training: PSI over the
 * training bins for regression values and binary probabilities, Jensen-Shannon divergence of the
 * predicted classes for multiclass.
 *
 * @param predictions as served. Regression: values. Binary: probability of class 1. Multiclass: rows
 *   x classes probabilities, row-major.
 * @throws when multiclass probabilities are not whole rows of the profile's classes
 */
export function predictionDrift(
  profile: ReferenceProfile,
  predictions: ArrayLike<number>,
  thresholds: DriftThresholds,
): PredictionDrift {
  const reference = profile.prediction;
  const { rows, counts } = predictionCounts(reference, predictions);
  const base = { target: profile.target, task: profile.task, rows };
  if (reference.rows === 0) {
    const statistic = reference.kind === 'numeric' ? 'psi' : 'js';
    return {
      ...base,
      statistic,
      value: null,
      threshold: statistic === 'psi' ? thresholds.psiAlarm : thresholds.jsAlarm,
      judged: false,
      reason: 'the profile holds no test-set predictions to compare with',
      alarm: false,
      buckets: [],
    };
  }
  if (reference.kind === 'numeric') {
    const value = psi(reference.proportions, counts);
    return {
      ...base,
      statistic: 'psi',
      threshold: thresholds.psiAlarm,
      ...judge(value, thresholds.psiAlarm, rows, thresholds.minSamples),
      buckets: buckets(bucketLabels(reference.edges), reference.proportions, counts),
    };
  }
  return {
    ...base,
    statistic: 'js',
    threshold: thresholds.jsAlarm,
    ...judge(jensenShannon(reference.proportions, counts), thresholds.jsAlarm, rows, thresholds.minSamples),
    buckets: buckets(reference.classLabels, reference.proportions, counts),
  };
}

/**
 * The values of each categorical feature in the window that were not among its training categories:
 * the model scores them as it scores a missing value. Every unseen value is named with its rows; the
 * alarm needs `minSamples` rows and an unseen-row rate at or above `unseenCategoryRateAlarm`. A
 * feature without a column in the window is left out (`featureDrift` reports it).
 */
export function unseenCategories(
  profile: ReferenceProfile,
  window: Columns,
  thresholds: UnseenThresholds,
): UnseenCategories[] {
  const table = asTable(window);
  const categorical = profile.features.filter(
    (reference): reference is CategoricalReference =>
      reference.kind === 'categorical' && table.has(reference.name),
  );
  return categorical.map((reference) => {
    const tally = tallyCategories(table.column(reference.name));
    const known = new Set(reference.categories);
    const values = [...tally.counts]
      .filter(([label]) => !known.has(label))
      .map(([label, rows]) => ({ label, rows }))
      .sort((a, b) => b.rows - a.rows || (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
    const unseenRows = values.reduce((sum, value) => sum + value.rows, 0);
    const rate = tally.rows === 0 ? 0 : unseenRows / tally.rows;
    const threshold = thresholds.unseenCategoryRateAlarm;
    const base = { feature: reference.name, rows: tally.rows, unseenRows, rate, values, threshold };
    return tally.rows < thresholds.minSamples
      ? { ...base, judged: false, reason: tooFewRows(tally.rows, thresholds.minSamples), alarm: false }
      : { ...base, judged: true, alarm: rate >= threshold };
  });
}
