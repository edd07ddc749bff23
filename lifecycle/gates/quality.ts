/**
 * The quality gate: a candidate's test-set metrics against the spec's absolute thresholds, and its
 * primary metric against the deployed champion's on the same test split. Pure: the evaluate stage
 * computes the metrics, this module only judges them.
 */
import { z } from 'zod';
import type { TaskMetrics } from '../../ml/slices';
import {
  DEFAULT_PRIMARY_METRIC,
  LOWER_IS_BETTER,
  METRICS,
  METRICS_BY_TASK,
  type QualityMetric,
  type SpecTask,
} from '../spec/metrics';
import { isRecord, nonNegative, strictObject, whenGiven } from '../spec/syntax';
import type { Gate, SpecIssue } from './gate';
import { type GateCheck, type GateVerdict, reportedCheck, verdictOf } from './verdict';

export const qualityThresholdSchema = strictObject({
  /** The metric on the test set. It must be one the task reports. */
  metric: z.enum(METRICS, { error: (issue) => whenGiven(issue, `must be one of: ${METRICS.join(', ')}`) }),
  /** Lowest acceptable value, for higher-is-better metrics (r2, auc, accuracy, f1). */
  min: z.number().optional(),
  /** Highest acceptable value, for lower-is-better metrics (rmse, mae, mape, logLoss). */
  max: z.number().optional(),
}).superRefine((threshold, ctx) => {
  const lowerIsBetter = LOWER_IS_BETTER.includes(threshold.metric);
  if (threshold.min === undefined && threshold.max === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: [lowerIsBetter ? 'max' : 'min'],
      message: `required: ${threshold.metric} needs a ${lowerIsBetter ? 'max' : 'min'}`,
    });
  }
  if (lowerIsBetter && threshold.min !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['min'],
      message: `${threshold.metric} is lower-is-better: give a max, not a min`,
    });
  }
  if (!lowerIsBetter && threshold.max !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['max'],
      message: `${threshold.metric} is higher-is-better: give a min, not a max`,
    });
  }
  const bound = threshold.min ?? threshold.max;
  const unitInterval = ['auc', 'accuracy', 'f1'].includes(threshold.metric);
  if (bound !== undefined && unitInterval && (bound < 0 || bound > 1)) {
    ctx.addIssue({
      code: 'custom',
      path: [threshold.min === undefined ? 'max' : 'min'],
      message: `${threshold.metric} is in [0, 1]`,
    });
  }
  if (bound !== undefined && lowerIsBetter && bound < 0) {
    ctx.addIssue({ code: 'custom', path: ['max'], message: `${threshold.metric} is never negative` });
  }
});

export const qualityGateSchema = strictObject({
  /**
   * Absolute thresholds on test-set metrics; a candidate fails the gate when any is missed.
   * @default []
   */
  thresholds: z.array(qualityThresholdSchema).default([]),
  /**
   * The metric a challenger is compared on with the champion and monitoring watches for decay.
   * @default the first threshold's metric, else rmse (regression), auc (binary) or logLoss (multiclass)
   */
  primaryMetric: z
    .enum(METRICS, { error: (issue) => whenGiven(issue, `must be one of: ${METRICS.join(', ')}`) })
    .optional(),
  /**
   * Relative improvement of the primary metric over the deployed champion a challenger needs
   * (0.02 = 2 % better); 0 means not worse.
   * @default 0
   */
  minImprovementOverChampion: nonNegative().default(0),
});

/** The spec's `gates.quality`, with or without the derived `primaryMetric` filled in. */
export type QualityGateSpec = z.output<typeof qualityGateSchema>;

export interface QualityGateInput {
  task: SpecTask;
  /** The candidate's metrics on the test set: `regressionMetrics`, `binaryMetrics` or `multiclassMetrics`. */
  challenger: TaskMetrics;
  /**
   * The deployed champion's metrics on the same test split, or undefined when no version is deployed
   * yet. Required (not optional) so that forgetting the champion cannot silently skip the comparison.
   */
  champion: TaskMetrics | undefined;
  gate: QualityGateSpec;
  /**
   * Unit of the target, shown after RMSE and MAE in messages (`s`, `kWh`).
   * @default undefined (no unit)
   */
  targetUnit?: string;
  /**
   * The baseline's metrics on the same test rows and the candidate's trainer kind: the candidate's
   * primary metric must be strictly better than the floor's, unless it is the baseline itself.
   * @default undefined (no floor check, as before floors were measured)
   */
  floor?: { kind: string; metrics: TaskMetrics; candidateKind: string };
}

/** How people read each metric's name. */
const METRIC_LABELS: Record<QualityMetric, string> = {
  rmse: 'RMSE',
  mae: 'MAE',
  mape: 'MAPE',
  r2: 'R²',
  auc: 'AUC',
  logLoss: 'log loss',
  accuracy: 'accuracy',
  f1: 'F1',
  mase: 'MASE',
  smape: 'sMAPE',
};

/** The metric's name for people; multiclass F1 is the macro average. */
export function metricLabel(task: SpecTask, metric: QualityMetric): string {
  return task === 'multiclass' && metric === 'f1' ? 'macro F1' : METRIC_LABELS[metric];
}

/** True for metrics where lower is better (errors and losses). */
export function isLowerBetter(metric: QualityMetric): boolean {
  return LOWER_IS_BETTER.includes(metric);
}

/** True when the task reports the metric (`METRICS_BY_TASK`). */
export function taskReports(task: SpecTask, metric: QualityMetric): boolean {
  return METRICS_BY_TASK[task].includes(metric);
}

/**
 * The metric the champion comparison uses: the spec's `primaryMetric`, else the first threshold's
 * metric, else the task's default (as `resolveDerivedDefaults` fills it in).
 */
export function primaryMetricOf(task: SpecTask, gate: QualityGateSpec): QualityMetric {
  return gate.primaryMetric ?? gate.thresholds[0]?.metric ?? DEFAULT_PRIMARY_METRIC[task];
}

/**
 * Reads a quality metric from a task's metrics object: NaN when the task does not report it, the
 * object lacks it, or it is undefined on these rows (null, e.g. AUC of a test set with one class).
 * Multiclass `f1` is read from `macroF1`.
 */
export function qualityMetricValue(task: SpecTask, metrics: TaskMetrics, metric: QualityMetric): number {
  if (!taskReports(task, metric)) return Number.NaN;
  const field = task === 'multiclass' && metric === 'f1' ? 'macroF1' : metric;
  const value: unknown = (metrics as unknown as Partial<Record<string, unknown>>)[field];
  return typeof value === 'number' && Number.isFinite(value) ? value : Number.NaN;
}

/**
 * The value a challenger's primary metric must reach to beat the champion by the relative margin.
 *
 * Lower-is-better metrics (errors, losses, never negative): at most `champion x (1 - margin)`. A
 * perfect champion (0) leaves no room: the challenger must be 0 too.
 *
 * Higher-is-better metrics (R², AUC, accuracy, F1) are all at most 1, so `champion x (1 + margin)`
 * would ask the impossible of a good champion (AUC 0.99 + 2 % > 1) and the wrong thing of a negative
 * R². The margin applies instead to what the champion misses of perfection, `1 - champion`, read as
 * an error that must shrink by the margin: at least `1 - (1 - champion) x (1 - margin)`. For R² this
 * is exactly a relative cut of the residual sum of squares. A perfect champion (1) needs a perfect
 * challenger. With margin 0 both rules say "not worse than the champion".
 */
export function championBound(metric: QualityMetric, championValue: number, margin: number): number {
  return isLowerBetter(metric) ? championValue * (1 - margin) : 1 - (1 - championValue) * (1 - margin);
}

/** Up to 4 significant digits, whole numbers from 10 000 on; "undefined" for NaN. */
export function formatNumber(value: number, significantDigits = 4): string {
  if (!Number.isFinite(value)) return 'undefined';
  if (Math.abs(value) >= 10_000) return String(Math.round(value));
  return String(Number(value.toPrecision(significantDigits)));
}

/**
 * Formats a value and the bound it is compared with; when rounding would make them look equal
 * although they differ (15.00004 against 15), both get more digits so the message does not contradict
 * itself.
 */
export function formatPair(
  value: number,
  bound: number,
  format: (value: number, significantDigits?: number) => string = formatNumber,
): [string, string] {
  const short: [string, string] = [format(value), format(bound)];
  return short[0] === short[1] && value !== bound ? [format(value, 12), format(bound, 12)] : short;
}

/** A metric value with its unit: target units for RMSE and MAE, percent for MAPE. */
function metricFormatter(metric: QualityMetric, targetUnit: string | undefined) {
  return (value: number, significantDigits?: number): string => {
    if (metric === 'mape') return `${formatNumber(value * 100, significantDigits)} %`;
    const number = formatNumber(value, significantDigits);
    return (metric === 'rmse' || metric === 'mae') && targetUnit ? `${number} ${targetUnit}` : number;
  };
}

function percent(fraction: number): string {
  return `${formatNumber(fraction * 100)} %`;
}

/** The check of one threshold bound (`rmse-max`, `auc-min`). */
function thresholdCheck(
  input: QualityGateInput,
  metric: QualityMetric,
  side: 'min' | 'max',
  bound: number,
): GateCheck {
  const { task, challenger } = input;
  const name = `${metric}-${side}`;
  const label = metricLabel(task, metric);
  const format = metricFormatter(metric, input.targetUnit);
  const wanted = side === 'max' ? `at most ${format(bound)}` : `at least ${format(bound)}`;
  if (!taskReports(task, metric)) {
    return {
      name,
      passed: false,
      judged: true,
      bound,
      message: `${label} is not a ${task} metric, so it cannot be shown to be ${wanted}; use one of: ${METRICS_BY_TASK[task].join(', ')}`,
    };
  }
  const value = qualityMetricValue(task, challenger, metric);
  if (Number.isNaN(value)) {
    return {
      name,
      passed: false,
      judged: true,
      bound,
      message: `${label} could not be computed on the test set, so it cannot be shown to be ${wanted}`,
    };
  }
  const passed = side === 'max' ? value <= bound : value >= bound;
  const [shown, limit] = formatPair(value, bound, format);
  const verdict =
    side === 'max'
      ? passed
        ? `is at most ${limit}`
        : `is above the ${limit} maximum`
      : passed
        ? `is at least ${limit}`
        : `is below the ${limit} minimum`;
  return { name, passed, judged: true, value, bound, message: `${label} ${shown} ${verdict}` };
}

/** The check of the challenger against the champion on the primary metric (`beats-champion:rmse`). */
function championCheck(input: QualityGateInput): GateCheck {
  const { task, challenger, champion, gate } = input;
  const metric = primaryMetricOf(task, gate);
  const name = `beats-champion:${metric}`;
  const label = metricLabel(task, metric);
  if (champion === undefined) {
    return reportedCheck(name, `No champion: first version, there is no deployed ${label} to beat`);
  }
  if (!taskReports(task, metric)) {
    return {
      name,
      passed: false,
      judged: true,
      message: `${label} is not a ${task} metric, so the champion cannot be compared on it; use one of: ${METRICS_BY_TASK[task].join(', ')}`,
    };
  }
  const value = qualityMetricValue(task, challenger, metric);
  const championValue = qualityMetricValue(task, champion, metric);
  if (Number.isNaN(value) || Number.isNaN(championValue)) {
    const whose = Number.isNaN(value) ? "The candidate's" : "The champion's";
    return {
      name,
      passed: false,
      judged: true,
      ...(Number.isNaN(value) ? {} : { value }),
      message: `${whose} ${label} could not be computed on the test set, so the candidate cannot be shown to beat the champion`,
    };
  }
  const margin = gate.minImprovementOverChampion;
  const bound = championBound(metric, championValue, margin);
  const lowerIsBetter = isLowerBetter(metric);
  const passed = lowerIsBetter ? value <= bound : value >= bound;
  const format = metricFormatter(metric, input.targetUnit);
  const [shown, limit] = formatPair(value, bound, format);
  const needs = `needs ${lowerIsBetter ? 'at most' : 'at least'} ${limit}`;
  const gap = lowerIsBetter ? '' : `: the champion's gap to 1 closed by ${percent(margin)}`;
  const message =
    margin === 0
      ? `${label} ${shown} is ${passed ? 'no worse than' : 'worse than'} the champion's ${format(championValue)}`
      : `${label} ${shown} is ${passed ? 'at least' : 'not'} ${percent(margin)} better than the champion's ${format(championValue)} (${needs}${gap})`;
  return { name, passed, judged: true, value, bound, message };
}

/** The candidate's primary metric strictly better than the baseline's (`beats-baseline-floor:rmse`). */
function floorCheck(input: QualityGateInput, floor: NonNullable<QualityGateInput['floor']>): GateCheck {
  const { task, challenger, gate } = input;
  const metric = primaryMetricOf(task, gate);
  const name = `beats-baseline-floor:${metric}`;
  const label = metricLabel(task, metric);
  if (floor.candidateKind === floor.kind) {
    return reportedCheck(name, `The candidate is the ${floor.kind} itself`);
  }
  const value = qualityMetricValue(task, challenger, metric);
  const bound = qualityMetricValue(task, floor.metrics, metric);
  if (Number.isNaN(value) || Number.isNaN(bound)) {
    return {
      name,
      passed: false,
      judged: true,
      message: `${label} could not be computed for the candidate and the ${floor.kind} on the test set, so the candidate cannot be shown to beat the floor`,
    };
  }
  const passed = isLowerBetter(metric) ? value < bound : value > bound;
  const format = metricFormatter(metric, input.targetUnit);
  const [shown, limit] = formatPair(value, bound, format);
  return {
    name,
    passed,
    judged: true,
    value,
    bound,
    message: `${label} ${shown} is ${passed ? 'better than' : 'no better than'} the ${floor.kind} floor's ${limit}`,
  };
}

/** A check that the metrics were measured on any rows at all: an empty test set proves nothing. */
function testRowsCheck(challenger: TaskMetrics): GateCheck {
  const rows = challenger.count;
  return rows > 0
    ? {
        name: 'test-rows',
        passed: true,
        judged: true,
        value: rows,
        bound: 1,
        message: `Measured on ${rows} test rows`,
      }
    : {
        name: 'test-rows',
        passed: false,
        judged: true,
        value: rows,
        bound: 1,
        message: 'The test set is empty: no metric could be measured',
      };
}

/**
 * Judges a candidate's test-set metrics: one check that the test set is not empty, one per threshold
 * bound (`rmse-max`, `auc-min`; a metric the task does not report or that is undefined on the test
 * set fails its check), and one against the champion on the primary metric (`beats-champion:rmse`,
 * see `championBound`), reported but not judged when there is no champion yet.
 */
export function evaluateQualityGate(input: QualityGateInput): GateVerdict {
  const checks: GateCheck[] = [testRowsCheck(input.challenger)];
  for (const threshold of input.gate.thresholds) {
    if (threshold.min !== undefined)
      checks.push(thresholdCheck(input, threshold.metric, 'min', threshold.min));
    if (threshold.max !== undefined)
      checks.push(thresholdCheck(input, threshold.metric, 'max', threshold.max));
  }
  checks.push(championCheck(input));
  if (input.floor) checks.push(floorCheck(input, input.floor));
  return verdictOf('quality', checks);
}

/** Thresholds and the primary metric name metrics the task reports; one threshold per metric. */
function qualitySpecIssues(quality: unknown, task: SpecTask | undefined, issue: SpecIssue): void {
  if (task && isRecord(quality)) {
    const allowed = METRICS_BY_TASK[task];
    const seenMetrics = new Set<string>();
    if (Array.isArray(quality.thresholds)) {
      quality.thresholds.forEach((threshold: unknown, index) => {
        if (!isRecord(threshold) || typeof threshold.metric !== 'string') return;
        const metric = threshold.metric;
        if (
          (METRICS as readonly string[]).includes(metric) &&
          !(allowed as readonly string[]).includes(metric)
        ) {
          issue(
            ['thresholds', index, 'metric'],
            `${metric} is not a ${task} metric; use one of: ${allowed.join(', ')}`,
          );
        }
        if (seenMetrics.has(metric)) {
          issue(['thresholds', index, 'metric'], `${metric} has two thresholds`);
        }
        seenMetrics.add(metric);
      });
    }
    const primary = quality.primaryMetric;
    if (
      typeof primary === 'string' &&
      (METRICS as readonly string[]).includes(primary) &&
      !(allowed as readonly string[]).includes(primary)
    ) {
      issue(['primaryMetric'], `${primary} is not a ${task} metric; use one of: ${allowed.join(', ')}`);
    }
  }
}

/** The quality gate, run by the evaluate stage on the candidate's and the champion's test metrics. */
export const qualityGate: Gate<'quality', typeof qualityGateSchema, 'evaluate'> = {
  name: 'quality',
  stage: 'evaluate',
  spec: qualityGateSchema,
  check: (gate, { spec, metrics, championMetrics, floor }) =>
    evaluateQualityGate({
      task: spec.task,
      challenger: metrics,
      champion: championMetrics,
      gate,
      floor: floor && { ...floor, candidateKind: spec.trainer.kind },
    }),
  crossCheck: qualitySpecIssues,
};
