/**
 * What fresh labelled outcomes (the actual cut time, the actual inspection result) say about a model
 * in production: has its primary metric decayed from its test-set value at training, and does it
 * still serve every slice as evenly as the fairness gate demanded (bias drift)? Both are judged only
 * with `minSamples` labelled rows, so a night with a handful of outcomes marks nothing stale.
 */
import { binaryMetrics, multiclassMetrics, regressionMetrics } from '../ml/metrics';
import type { TaskKind } from '../ml/model';
import type { TaskMetrics } from '../ml/slices';
import { MISSING_CODE } from '../ml/table';
import {
  evaluateFairnessGate,
  type FairnessGateSpec,
  type FairnessSlice,
  type SegmentColumn,
  type SliceMeasures,
} from '../lifecycle/gates/fairness';
import { isLowerBetter, qualityMetricValue } from '../lifecycle/gates/quality';
import type { GateCheck, GateVerdict } from '../lifecycle/gates/verdict';
import { METRICS_BY_TASK } from '../lifecycle/spec/metrics';
import type { QualityMetric } from '../lifecycle/spec/parts';

/** Labelled outcomes and what the model predicted for them. */
export interface LabelledOutcomes {
  task: TaskKind;
  /**
   * Actual outcomes: values for regression, class ids (by the model's class labels) otherwise. Rows
   * whose outcome is missing (NaN) are left out.
   */
  y: ArrayLike<number>;
  /** Regression: values. Binary: probability of class 1. Multiclass: rows x k probabilities, row-major. */
  prediction: ArrayLike<number>;
  /**
   * Number of classes (multiclass only).
   * @default prediction.length / y.length
   */
  k?: number;
}

export interface PerformanceDecayInput extends LabelledOutcomes {
  /** The spec's primary quality metric. */
  primaryMetric: QualityMetric;
  /** Its value on the test rows at training (`ReferenceProfile.performance.value`). */
  referenceValue: number | null;
  /** The spec's `monitoring.decayTolerance`: relative worsening that marks the model stale. */
  decayTolerance: number;
  /** The spec's `monitoring.minSamples`: fewest labelled rows to judge. */
  minSamples: number;
  /**
   * Every metric on the test rows at training (`ReferenceProfile.performance.metrics`), to set each
   * of the task's metrics beside its value now.
   * @default undefined (only the primary metric compared)
   */
  referenceMetrics?: Readonly<Record<string, number>>;
}

/** One of the task's quality metrics at training and on the labelled rows. */
export interface MetricComparison {
  metric: QualityMetric;
  /** Null when unknown (not kept at training, or undefined there). */
  atTraining: number | null;
  /** Null when undefined on the labelled rows (AUC with one class). */
  now: number | null;
  /** Relative change in the bad direction, as `PerformanceDecay.relativeChange`; null when undefined. */
  worseBy: number | null;
}

export interface PerformanceDecay {
  metric: QualityMetric;
  /** The value at training. */
  referenceValue: number | null;
  /** The value on the labelled rows; null when undefined there (no rows, AUC with one class). */
  currentValue: number | null;
  /**
   * Relative change in the bad direction: (now - then) / |then| for lower-is-better metrics, (then -
   * now) / |then| for higher-is-better ones. 0.3 = 30 % worse; negative = better. Null when either
   * value is undefined or the value at training is 0.
   */
  relativeChange: number | null;
  tolerance: number;
  /** Labelled rows used. */
  rows: number;
  judged: boolean;
  reason?: string;
  /** Judged, and worse by more than the tolerance. */
  stale: boolean;
  /** Every metric of the task on the labelled rows, for the report. */
  metrics: TaskMetrics;
  /** Each quality metric of the task (AUC, log loss, accuracy, F1 for binary) at training and now. */
  compared?: MetricComparison[];
}

/** The rows of a row-major array with `width` numbers per row. */
function takeRows(values: ArrayLike<number>, rows: readonly number[], width: number): Float64Array {
  const out = new Float64Array(rows.length * width);
  rows.forEach((row, i) => {
    for (let c = 0; c < width; c++) out[i * width + c] = values[row * width + c] as number;
  });
  return out;
}

function takeSegment(segment: SegmentColumn, rows: readonly number[]): SegmentColumn {
  if ('codes' in segment) {
    return { ...segment, codes: Int32Array.from(rows, (row) => segment.codes[row] ?? MISSING_CODE) };
  }
  return rows.map((row) => segment[row]);
}

/** The outcomes with a known target, and the row indices they came from. */
function knownOutcomes(outcomes: LabelledOutcomes) {
  const { task, y, prediction } = outcomes;
  const n = y.length;
  const k = task === 'multiclass' ? (outcomes.k ?? (n > 0 ? prediction.length / n : 0)) : 1;
  if (prediction.length !== n * k) {
    throw new Error(`${n} outcomes but ${prediction.length} predictions (expected ${n * k})`);
  }
  const rows: number[] = [];
  for (let i = 0; i < n; i++) if (!Number.isNaN(y[i])) rows.push(i);
  return { k, rows, y: takeRows(y, rows, 1), prediction: takeRows(prediction, rows, k) };
}

function taskMetrics(task: TaskKind, y: Float64Array, prediction: Float64Array, k: number): TaskMetrics {
  if (task === 'regression') return regressionMetrics(y, prediction);
  if (task === 'binary') return binaryMetrics(y, prediction);
  return multiclassMetrics(y, prediction, k);
}

/** (now - then) / |then| for lower-is-better metrics, (then - now) / |then| otherwise; null when undefined. */
function worsening(metric: QualityMetric, then: number | null, now: number | null): number | null {
  if (then === null || now === null || then === 0) return null;
  return (isLowerBetter(metric) ? now - then : then - now) / Math.abs(then);
}

/** A metric read off a metrics record, null when the record lacks it or it is undefined. */
function metricOf(task: TaskKind, metrics: TaskMetrics, metric: QualityMetric): number | null {
  const value = qualityMetricValue(task, metrics, metric);
  return Number.isNaN(value) ? null : value;
}

/**
 * Measures the primary metric on labelled outcomes and compares it with its value at training.
 * Relative to the value itself, as `decayTolerance` reads: RMSE 10 s to 12 s is 20 % worse, and so
 * is AUC 0.9 to 0.72.
 */
export function performanceDecay(input: PerformanceDecayInput): PerformanceDecay {
  const { task, primaryMetric: metric, referenceValue, decayTolerance: tolerance, minSamples } = input;
  const known = knownOutcomes(input);
  const metrics = taskMetrics(task, known.y, known.prediction, known.k);
  const currentValue = metricOf(task, metrics, metric);
  const rows = known.rows.length;
  const relativeChange = worsening(metric, referenceValue, currentValue);
  const atTraining = input.referenceMetrics as TaskMetrics | undefined;
  const compared = METRICS_BY_TASK[task].map((name): MetricComparison => {
    const then = atTraining ? metricOf(task, atTraining, name) : name === metric ? referenceValue : null;
    const now = metricOf(task, metrics, name);
    return { metric: name, atTraining: then, now, worseBy: worsening(name, then, now) };
  });
  const base = { metric, referenceValue, currentValue, relativeChange, tolerance, rows, metrics, compared };
  const plural = (count: number) => `${count} labelled ${count === 1 ? 'row' : 'rows'}`;
  if (rows < minSamples) {
    return {
      ...base,
      judged: false,
      reason: `only ${plural(rows)}, fewer than the ${minSamples} needed to judge`,
      stale: false,
    };
  }
  if (relativeChange === null) {
    const reason =
      currentValue === null
        ? `${metric} cannot be computed on the ${plural(rows)}`
        : referenceValue === null
          ? `${metric} at training is unknown`
          : `${metric} was 0 at training, so a relative change is undefined`;
    return { ...base, judged: false, reason, stale: false };
  }
  // A tolerance of 0.2 must not flag 10 -> 12 (exactly 20 %) on rounding.
  return { ...base, judged: true, stale: relativeChange > tolerance + 1e-12 };
}

export interface FairnessWatchInput extends LabelledOutcomes {
  /** The spec's segment columns over the labelled rows, by column name. */
  segments: Readonly<Record<string, SegmentColumn>>;
  /** The spec's `gates.fairness`: the same bounds as at approval. */
  gate: FairnessGateSpec;
  /** The spec's `monitoring.minSamples`: fewest labelled rows to judge. */
  minSamples: number;
  /** Binary: a row is predicted positive at this probability. @default 0.5 */
  threshold?: number;
  /** Unit of the target, shown in messages (`s`, `kWh`). @default undefined */
  targetUnit?: string;
}

export interface FairnessWatch {
  /** Labelled rows used. */
  rows: number;
  judged: boolean;
  reason?: string;
  /** False when judged and a judged check of the fairness gate fails on the labelled rows. */
  passed: boolean;
  /** The judged checks that fail (empty when not judged), each with its message. */
  failed: GateCheck[];
  verdict: GateVerdict;
  overall: SliceMeasures;
  slices: FairnessSlice[];
}

/**
 * The fairness gate recomputed on labelled outcomes with the spec's bounds: per slice the error ratio
 * and bias (regression, multiclass), disparate impact and equal opportunity (binary). Slices below
 * `minSliceSupport` are shown, not judged, as at approval; with fewer than `minSamples` labelled rows
 * nothing is.
 */
export function fairnessWatch(input: FairnessWatchInput): FairnessWatch {
  const known = knownOutcomes(input);
  const segments = Object.fromEntries(
    Object.entries(input.segments).map(([name, column]) => {
      const length = 'codes' in column ? column.codes.length : column.length;
      if (length !== input.y.length) {
        throw new Error(`segment "${name}" has ${length} values for ${input.y.length} outcomes`);
      }
      return [name, takeSegment(column, known.rows)];
    }),
  );
  const result = evaluateFairnessGate({
    task: input.task,
    segments,
    y: known.y,
    prediction: known.prediction,
    gate: input.gate,
    ...(input.task === 'multiclass' ? { k: known.k } : {}),
    ...(input.threshold === undefined ? {} : { threshold: input.threshold }),
    ...(input.targetUnit === undefined ? {} : { targetUnit: input.targetUnit }),
  });
  const rows = known.rows.length;
  const base = { rows, verdict: result.verdict, overall: result.overall, slices: result.slices };
  if (rows < input.minSamples) {
    const reason = `only ${rows} labelled ${rows === 1 ? 'row' : 'rows'}, fewer than the ${input.minSamples} needed to judge`;
    return { ...base, judged: false, reason, passed: true, failed: [] };
  }
  const failed = result.verdict.checks.filter((check) => check.judged && !check.passed);
  return { ...base, judged: true, passed: failed.length === 0, failed };
}

/** A failed binary fairness check of the watch, named by the slice it is about. */
export interface SliceAtFault {
  /** The segment column (`Type`). */
  segment: string;
  /** The slice's value (`L`); null for the rows without a value. */
  slice: string | null;
  measure: 'disparate impact' | 'equal opportunity difference';
  value: number;
  bound: number;
}

/** The measure of a binary check (`equal-opportunity:Type`) and the slice rate it compares. */
const BINARY_CHECKS = {
  'disparate-impact': {
    measure: 'disparate impact',
    rate: (slice: FairnessSlice) => slice.positivePredictionRate,
  },
  'equal-opportunity': {
    measure: 'equal opportunity difference',
    rate: (slice: FairnessSlice) => slice.truePositiveRate,
  },
} as const;

/**
 * The slice a failed binary fairness check is about: among the slices the check compared (judged,
 * with a rate), the one served worst, with the lowest positive-prediction rate (disparate impact) or
 * the lowest share of its actual positives caught (equal opportunity), as the gate picks it for its
 * message. Undefined for other checks: an error-ratio or bias check names its slice already.
 */
export function sliceAtFault(
  fairness: Pick<FairnessWatch, 'slices'>,
  check: GateCheck,
): SliceAtFault | undefined {
  const colon = check.name.indexOf(':');
  const kind = check.name.slice(0, colon);
  const segment = check.name.slice(colon + 1);
  if (colon < 0 || !(kind in BINARY_CHECKS) || check.value === undefined || check.bound === undefined) {
    return undefined;
  }
  const { measure, rate } = BINARY_CHECKS[kind as keyof typeof BINARY_CHECKS];
  const compared = fairness.slices.filter(
    (slice) => slice.segment === segment && slice.judged && rate(slice) != null,
  );
  // A stable sort, as the gate's: on a tie the larger slice (listed first) is named.
  const [lowest] = [...compared].sort((a, b) => (rate(a) ?? 0) - (rate(b) ?? 0));
  if (!lowest) return undefined;
  return {
    segment,
    slice: lowest.missing ? null : lowest.slice,
    measure,
    value: check.value,
    bound: check.bound,
  };
}
