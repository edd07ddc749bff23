/**
 * Metrics per segment of the rows (a machine, a material, a shift...), with the quantities a
 * fairness gate compares across slices: error ratio and bias for regression, predicted-positive
 * rate (disparate impact) and true positive rate (equal opportunity) for binary classification.
 */
import {
  binaryMetrics,
  type BinaryMetrics,
  multiclassMetrics,
  type MulticlassMetrics,
  regressionMetrics,
  type RegressionMetrics,
} from './metrics';
import type { TaskKind } from './model';
import { type CategoricalColumn, MISSING_CODE } from './table';

/** Label of the slice of rows whose segment is missing (null, undefined, '' or code -1). */
export const MISSING_SLICE = '(missing)';

export interface SliceOptions {
  /** The segment of each row: labels (null, undefined and '' are missing) or a categorical column. */
  segment: readonly (string | null | undefined)[] | CategoricalColumn;
  /** Targets: values for regression, class ids otherwise. */
  y: ArrayLike<number>;
  /**
   * Regression: predicted values. Binary: probability of class 1. Multiclass: rows x k
   * probabilities, row-major.
   */
  prediction: ArrayLike<number>;
  task: TaskKind;
  /** Number of classes (multiclass only). @default prediction.length / y.length */
  k?: number;
  /** Slices with fewer rows are flagged `belowMinSupport`: too few to judge. @default 30 */
  minSupport?: number;
  /** Binary: a row is predicted positive when its probability is at least this. @default 0.5 */
  threshold?: number;
}

export type TaskMetrics = RegressionMetrics | BinaryMetrics | MulticlassMetrics;

export interface SliceMetrics {
  /** The segment value, or MISSING_SLICE. */
  segment: string;
  /** True for the slice of rows without a segment. */
  missing: boolean;
  count: number;
  /** count / all rows. */
  share: number;
  belowMinSupport: boolean;
  metrics: TaskMetrics;
  /** Regression: slice RMSE / overall RMSE (null when the overall RMSE is 0). */
  errorRatio?: number | null;
  /** Regression: mean(yhat - y) in the slice; positive = over-prediction. */
  bias?: number | null;
  /** Binary: share of the slice's rows predicted positive (compare across slices for disparate impact). */
  positivePredictionRate?: number | null;
  /** Binary: recall of the positive class in the slice (equal opportunity); null without positives. */
  truePositiveRate?: number | null;
}

export interface SliceReport {
  task: TaskKind;
  minSupport: number;
  overall: TaskMetrics;
  /** Every segment value that occurs, largest slice first (ties by label). */
  slices: SliceMetrics[];
}

/** Per row, the slice key: the label, or null when missing. */
function segmentLabels(segment: SliceOptions['segment'], n: number): (string | null)[] {
  const labels =
    'codes' in segment
      ? Array.from(segment.codes, (code) =>
          code === MISSING_CODE ? null : (segment.dictionary[code] ?? null),
        )
      : segment.map((label) => (label === undefined || label === '' ? null : label));
  if (labels.length !== n) throw new Error(`${labels.length} segment values for ${n} rows`);
  return labels;
}

function take(values: ArrayLike<number>, rows: readonly number[], width: number): Float64Array {
  const out = new Float64Array(rows.length * width);
  rows.forEach((row, i) => {
    for (let c = 0; c < width; c++) out[i * width + c] = values[row * width + c] as number;
  });
  return out;
}

/**
 * Computes the task's metrics overall and for each segment value (including MISSING_SLICE when
 * some rows have no segment).
 *
 * @throws when the lengths of segment, y and prediction do not agree
 */
export function metricsBySlice(options: SliceOptions): SliceReport {
  const { y, prediction, task } = options;
  const n = y.length;
  const minSupport = options.minSupport ?? 30;
  const threshold = options.threshold ?? 0.5;
  const k = task === 'multiclass' ? (options.k ?? (n > 0 ? prediction.length / n : 0)) : 1;
  if (prediction.length !== n * k) {
    throw new Error(`${n} targets but ${prediction.length} predictions (expected ${n * k})`);
  }
  const labels = segmentLabels(options.segment, n);

  const evaluate = (yPart: ArrayLike<number>, pPart: ArrayLike<number>): TaskMetrics =>
    task === 'regression'
      ? regressionMetrics(yPart, pPart)
      : task === 'binary'
        ? binaryMetrics(yPart, pPart, threshold)
        : multiclassMetrics(yPart, pPart, k);
  const overall = evaluate(y, prediction);

  const rowsBySlice = new Map<string | null, number[]>();
  labels.forEach((label, row) => {
    const rows = rowsBySlice.get(label);
    if (rows) rows.push(row);
    else rowsBySlice.set(label, [row]);
  });

  const slices = [...rowsBySlice].map(([label, rows]): SliceMetrics => {
    const metrics = evaluate(take(y, rows, 1), take(prediction, rows, k));
    const slice: SliceMetrics = {
      segment: label ?? MISSING_SLICE,
      missing: label === null,
      count: rows.length,
      share: rows.length / n,
      belowMinSupport: rows.length < minSupport,
      metrics,
    };
    if (task === 'regression') {
      const overallRmse = (overall as RegressionMetrics).rmse;
      const sliceMetrics = metrics as RegressionMetrics;
      slice.errorRatio =
        overallRmse !== null && overallRmse > 0 && sliceMetrics.rmse !== null
          ? sliceMetrics.rmse / overallRmse
          : null;
      slice.bias = sliceMetrics.bias;
    } else if (task === 'binary') {
      const sliceMetrics = metrics as BinaryMetrics;
      slice.positivePredictionRate = sliceMetrics.predictedPositiveRate;
      slice.truePositiveRate = sliceMetrics.positives > 0 ? sliceMetrics.recall : null;
    }
    return slice;
  });
  slices.sort((a, b) => b.count - a.count || (a.segment < b.segment ? -1 : a.segment > b.segment ? 1 : 0));
  return { task, minSupport, overall, slices };
}
