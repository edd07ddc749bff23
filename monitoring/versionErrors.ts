/**
 * A served version's error on labelled outcomes, measured the same way for every alias so two
 * versions can be set side by side: a canary against production on the rows each answered, a shadow
 * against production on the same rows. Rows come from the prediction log as stored (JSON the caller
 * influenced), so every field is read defensively and a row that cannot be measured is left out and
 * counted, never guessed.
 */
import { accuracy, logLoss, mae, rmse } from '../ml/metrics';
import type { TaskKind } from '../ml/model';
import { metricLabel } from '../lifecycle/gates/quality';
import type { QualityMetric } from '../lifecycle/spec/metrics';
import { classIdsOf } from './classOutcomes';

/**
 * The error two versions are compared by, lower is better: RMSE or MAE for regression, log loss or
 * the error rate (1 - accuracy) for classifiers.
 */
export type ComparisonMetric = 'rmse' | 'mae' | 'logLoss' | 'errorRate';

/**
 * The comparison metric that follows the spec's primary quality metric: MAE for a model judged by
 * MAE or MAPE, else RMSE; the error rate for a classifier judged by accuracy or F1, else log loss
 * (AUC ranks rows and says nothing of one row, log loss does).
 */
export function comparisonMetricOf(task: TaskKind, primaryMetric: QualityMetric): ComparisonMetric {
  if (task === 'regression') return primaryMetric === 'mae' || primaryMetric === 'mape' ? 'mae' : 'rmse';
  return primaryMetric === 'accuracy' || primaryMetric === 'f1' ? 'errorRate' : 'logLoss';
}

/** The metric's name for people: `RMSE`, `log loss`, `error rate`. */
export function comparisonMetricLabel(task: TaskKind, metric: ComparisonMetric): string {
  return metric === 'errorRate' ? 'error rate' : metricLabel(task, metric);
}

/** One logged prediction as stored in `serving.predictions.output` (not trusted: read defensively). */
export type LoggedOutput = unknown;

/** A logged prediction with the outcome booked for its row (`serving.labelled_predictions`). */
export interface LabelledOutput {
  output: LoggedOutput;
  actualValue: number | null;
  actualLabel: string | null;
}

/** A regression prediction's value, when the output holds a finite one. */
export function predictedValue(output: LoggedOutput): number | undefined {
  if (typeof output !== 'object' || output === null) return undefined;
  const value = (output as { value?: unknown }).value;
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** A classifier's predicted label and its probabilities by label (finite values in [0, 1] only). */
export function predictedClass(
  output: LoggedOutput,
): { label: string; probabilities: Map<string, number> } | undefined {
  if (typeof output !== 'object' || output === null) return undefined;
  const { label, probabilities } = output as { label?: unknown; probabilities?: unknown };
  if (typeof label !== 'string') return undefined;
  const byLabel = new Map<string, number>();
  if (typeof probabilities === 'object' && probabilities !== null && !Array.isArray(probabilities)) {
    for (const [name, value] of Object.entries(probabilities as Record<string, unknown>)) {
      if (typeof value === 'number' && value >= 0 && value <= 1) byLabel.set(name, value);
    }
  }
  return { label, probabilities: byLabel };
}

/** The booked outcome as a label: the label, or a number booked for a classifier (`1` for class "1"). */
export function outcomeLabel(row: Pick<LabelledOutput, 'actualLabel' | 'actualValue'>): string | null {
  return row.actualLabel ?? (row.actualValue === null ? null : String(row.actualValue));
}

/** A version's error on its labelled outcomes. */
export interface VersionError {
  /** The error, lower is better; null when no outcome could be measured. */
  value: number | null;
  /** Labelled outcomes it was measured on. */
  outcomes: number;
  /**
   * Labelled rows left out: an output that is not the task's (no finite value, no label), or an
   * outcome a classifier cannot be judged on (no label, or one none of its classes is).
   */
  leftOut: number;
}

const finiteOrNull = (value: number): number | null => (Number.isFinite(value) ? value : null);

/** Regression: RMSE or MAE over the rows with a finite prediction and actual value. */
function regressionError(metric: 'rmse' | 'mae', rows: readonly LabelledOutput[]): VersionError {
  const y: number[] = [];
  const yhat: number[] = [];
  for (const row of rows) {
    const predicted = predictedValue(row.output);
    if (predicted === undefined || row.actualValue === null || !Number.isFinite(row.actualValue)) continue;
    y.push(row.actualValue);
    yhat.push(predicted);
  }
  const value = y.length === 0 ? Number.NaN : metric === 'rmse' ? rmse(y, yhat) : mae(y, yhat);
  return { value: finiteOrNull(value), outcomes: y.length, leftOut: rows.length - y.length };
}

/**
 * Classification: log loss (the probability the version gave the booked label) or the error rate
 * (its label is not the booked one). The booked label is read by the version's own labels, as the
 * nightly check reads them (`"1.0"` is class `"1"`).
 */
function classifierError(metric: 'logLoss' | 'errorRate', rows: readonly LabelledOutput[]): VersionError {
  const classes = rows.map((row) => predictedClass(row.output));
  const labels = [
    ...new Set(classes.flatMap((entry) => (entry ? [entry.label, ...entry.probabilities.keys()] : []))),
  ].sort();
  const { y } = classIdsOf(rows.map(outcomeLabel), labels);
  const truth: number[] = [];
  const measured: number[] = [];
  classes.forEach((entry, row) => {
    const id = y[row] as number;
    if (!entry || Number.isNaN(id)) return;
    const actual = labels[id] as string;
    if (metric === 'errorRate') {
      truth.push(id);
      measured.push(labels.indexOf(entry.label));
      return;
    }
    const probability = entry.probabilities.get(actual);
    if (probability === undefined) return;
    // Log loss of the probability given to the booked class: ml's binary form with every y = 1.
    truth.push(1);
    measured.push(probability);
  });
  const value =
    truth.length === 0
      ? Number.NaN
      : metric === 'errorRate'
        ? 1 - accuracy(truth, measured)
        : logLoss(truth, measured);
  return { value: finiteOrNull(value), outcomes: truth.length, leftOut: rows.length - truth.length };
}

/** The version's error by `metric` on its labelled rows. */
export function versionError(metric: ComparisonMetric, rows: readonly LabelledOutput[]): VersionError {
  return metric === 'rmse' || metric === 'mae'
    ? regressionError(metric, rows)
    : classifierError(metric, rows);
}
