/**
 * A classifier's served predictions and booked outcomes as the monitoring computations take them:
 * probabilities and class ids in the order of the model's class labels. Served outputs name each
 * class's probability by label and outcomes arrive as label text (`"1"`, `"scrap"`), so both are
 * read through the labels, never by the order of a JSON object's keys.
 */
import type { UnseenValue } from './drift';

/** A classifier's prediction as the log keeps it: the label and each class's probability by label. */
export interface ServedClassOutput {
  label?: string;
  probabilities?: Record<string, number>;
}

/**
 * The served probabilities by the model's class labels. Binary: one per row, the probability of
 * `classLabels[1]` (or 1 - that of `classLabels[0]`). Multiclass: rows x k, row-major. A missing
 * probability is NaN.
 */
export function classProbabilities(
  outputs: readonly ServedClassOutput[],
  classLabels: readonly string[],
  task: 'binary' | 'multiclass',
): Float64Array {
  const probability = (output: ServedClassOutput, label: string | undefined) => {
    const value = label === undefined ? undefined : output.probabilities?.[label];
    return typeof value === 'number' ? value : Number.NaN;
  };
  if (task === 'binary') {
    return Float64Array.from(outputs, (output) => {
      const positive = probability(output, classLabels[1]);
      return Number.isNaN(positive) ? 1 - probability(output, classLabels[0]) : positive;
    });
  }
  const k = classLabels.length;
  const out = new Float64Array(outputs.length * k);
  outputs.forEach((output, row) => {
    classLabels.forEach((label, id) => (out[row * k + id] = probability(output, label)));
  });
  return out;
}

/** Outcomes as class ids, and the labels among them the model does not know. */
export interface ClassOutcomes {
  /** Class ids by the model's class labels; NaN for a missing or unknown label. */
  y: Float64Array;
  /** Every label that is none of the model's classes, most rows first (ties by label). */
  unknown: UnseenValue[];
}

/**
 * Maps booked outcome labels to the model's class ids. A label matches its class exactly, or as the
 * same number (`"1.0"` for class `"1"`), since a label typed into a form or exported from a
 * spreadsheet loses its spelling. An unknown label is no error: its row is left out (NaN) and the
 * label counted, for the report to name.
 */
export function classIdsOf(
  labels: readonly (string | null)[],
  classLabels: readonly string[],
): ClassOutcomes {
  const exact = new Map(classLabels.map((label, id) => [label, id]));
  const numeric = new Map<number, number>();
  classLabels.forEach((label, id) => {
    const value = label.trim() === '' ? Number.NaN : Number(label);
    if (Number.isFinite(value) && !numeric.has(value)) numeric.set(value, id);
  });
  const unknown = new Map<string, number>();
  const y = Float64Array.from(labels, (label) => {
    if (label === null) return Number.NaN;
    const id = exact.get(label) ?? (label.trim() === '' ? undefined : numeric.get(Number(label)));
    if (id !== undefined) return id;
    unknown.set(label, (unknown.get(label) ?? 0) + 1);
    return Number.NaN;
  });
  return {
    y,
    unknown: [...unknown]
      .map(([label, rows]) => ({ label, rows }))
      .sort((a, b) => b.rows - a.rows || (a.label < b.label ? -1 : a.label > b.label ? 1 : 0)),
  };
}

/** The labelled outcomes of a window whose label is none of the model's classes. */
export interface UnknownOutcomes {
  /** Labelled outcomes of the window, known and unknown labels. */
  rows: number;
  unknownRows: number;
  /** unknownRows / rows; 0 without rows. */
  rate: number;
  values: UnseenValue[];
  /** The spec's `unseenCategoryRateAlarm`: a new outcome label is news like a new category. */
  threshold: number;
  judged: boolean;
  reason?: string;
  /** Judged, and the rate at or above the threshold. */
  alarm: boolean;
}

/**
 * Judges the unknown outcome labels of a window as unseen categories are judged: an alarm at
 * `threshold` of the labelled rows, with at least `minSamples` of them. Undefined without any.
 */
export function unknownOutcomes(
  unknown: readonly UnseenValue[],
  knownRows: number,
  thresholds: { unseenCategoryRateAlarm: number; minSamples: number },
): UnknownOutcomes | undefined {
  if (unknown.length === 0) return undefined;
  const unknownRows = unknown.reduce((sum, value) => sum + value.rows, 0);
  const rows = knownRows + unknownRows;
  const rate = unknownRows / rows;
  const threshold = thresholds.unseenCategoryRateAlarm;
  const base = { rows, unknownRows, rate, values: [...unknown], threshold };
  return rows < thresholds.minSamples
    ? {
        ...base,
        judged: false,
        reason: `only ${rows} labelled ${rows === 1 ? 'row' : 'rows'}, fewer than the ${thresholds.minSamples} needed to judge`,
        alarm: false,
      }
    : { ...base, judged: true, alarm: rate >= threshold };
}
