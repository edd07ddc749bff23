/**
 * The fairness gate: does the candidate serve every slice of the spec's segments (a material family, a
 * machine, a customer...) about as well as it serves the shop as a whole? Pure: it slices the test
 * rows with `metricsBySlice` and judges the slices against the spec's `gates.fairness`.
 *
 * - Regression: each slice's RMSE is at most `maxErrorRatio` times the overall RMSE, and, when
 *   `maxAbsBias` is given, its mean signed error (prediction - target) is at most that in size.
 * - Binary: across the slices of a segment, the lowest positive-prediction rate is at least
 *   `minDisparateImpact` times the highest (disparate impact), and true-positive rates differ by at
 *   most `maxEqualOpportunityDifference` (equal opportunity; slices without actual positives have no
 *   rate and are left out).
 * - Multiclass: each slice's error rate (1 - accuracy) is at most `maxErrorRatio` times the overall
 *   error rate: the regression rule with misclassification as the error, since multiclass has no
 *   single positive class to compare rates of.
 *
 * Slices with fewer than `minSliceSupport` rows are reported (`judged: false`) but never fail the
 * gate, and neither does a segment with fewer than two slices big enough to compare. An empty test
 * set therefore judges nothing here; the quality gate fails it.
 */
import type { z } from 'zod';
import type { BinaryMetrics, MulticlassMetrics, RegressionMetrics } from '../../ml/metrics';
import type { TaskKind } from '../../ml/model';
import { metricsBySlice, type SliceMetrics, type SliceOptions, type TaskMetrics } from '../../ml/slices';
import { between, nonNegative, strictObject } from '../spec/syntax';
import { barChart, chartFigure } from '../../reports/charts';
import { htmlTable, sliceRows } from '../../reports/html';
import type { ModelCardInput } from '../modelCard';
import { cardNumber, type Gate } from './gate';
import { formatNumber, formatPair } from './quality';
import { type GateCheck, type GateVerdict, reportedCheck, verdictOf } from './verdict';
import { modelTaskOf } from '../spec/metrics';

export const fairnessGateSchema = strictObject({
  /**
   * Regression: the largest acceptable slice RMSE / overall RMSE.
   * @default 1.5
   */
  maxErrorRatio: between(1, Number.MAX_VALUE, { minOpen: true }).default(1.5),
  /**
   * Regression: the largest acceptable |mean(prediction - target)| in any slice, in target units.
   * @default undefined (not checked)
   */
  maxAbsBias: nonNegative().optional(),
  /**
   * Binary: the smallest acceptable ratio of the lowest to the highest positive-prediction rate
   * across slices (the four-fifths rule).
   * @default 0.8
   */
  minDisparateImpact: between(0, 1, { minOpen: true }).default(0.8),
  /**
   * Binary: the largest acceptable difference of true-positive rates across slices.
   * @default 0.1
   */
  maxEqualOpportunityDifference: between(0, 1).default(0.1),
  /**
   * Slices with fewer test rows are reported but not judged.
   * @default 30
   */
  minSliceSupport: between(1, Number.MAX_SAFE_INTEGER, { integer: true }).default(30),
});

/** The spec's `gates.fairness`. */
export type FairnessGateSpec = z.output<typeof fairnessGateSchema>;

/** The segment of each test row: labels (null, undefined and '' are missing) or a categorical column. */
export type SegmentColumn = SliceOptions['segment'];

export interface FairnessGateInput {
  task: TaskKind;
  /** The spec's segment columns over the test rows, by column name (`material_family`). */
  segments: Readonly<Record<string, SegmentColumn>>;
  /** Targets of the test rows: values for regression, class ids otherwise. */
  y: ArrayLike<number>;
  /** Regression: predicted values. Binary: probability of class 1. Multiclass: rows x k probabilities, row-major. */
  prediction: ArrayLike<number>;
  gate: FairnessGateSpec;
  /**
   * Number of classes (multiclass only).
   * @default prediction.length / y.length
   */
  k?: number;
  /**
   * Binary: a row is predicted positive when its probability is at least this.
   * @default 0.5
   */
  threshold?: number;
  /**
   * Unit of the target, shown after errors and biases in messages (`s`, `kWh`).
   * @default undefined (no unit)
   */
  targetUnit?: string;
}

/** What the model card shows of one slice (or of all test rows); null where undefined. */
export interface SliceMeasures {
  rows: number;
  /** Regression. */
  rmse?: number | null;
  /** Regression. */
  mae?: number | null;
  /** Regression: mean(prediction - target); positive = over-prediction. */
  bias?: number | null;
  /** Binary: rows whose actual class is positive. */
  positives?: number;
  /** Binary: share of rows predicted positive. */
  positivePredictionRate?: number | null;
  /** Binary: share of actual positives predicted positive; null without actual positives. */
  truePositiveRate?: number | null;
  /** Binary and multiclass. */
  accuracy?: number | null;
  /**
   * Slices only. Regression: slice RMSE / overall RMSE. Multiclass: slice error rate / overall error
   * rate. Null when the overall error is 0 (or undefined).
   */
  errorRatio?: number | null;
}

/** One row of the model card's slice table. */
export interface FairnessSlice extends SliceMeasures {
  /** The segment column (`material_family`). */
  segment: string;
  /** The value of the slice (`titanium`), or `(missing)`. */
  slice: string;
  /** True for the rows without a value in the segment column. */
  missing: boolean;
  /** rows / all test rows. */
  share: number;
  /** False when the slice has fewer than `minSliceSupport` rows: reported, not judged. */
  judged: boolean;
}

export interface FairnessGateResult {
  verdict: GateVerdict;
  /** The measures over all test rows. */
  overall: SliceMeasures;
  /** Every slice of every segment, in the order of `segments`, largest slice first within each. */
  slices: FairnessSlice[];
}

/**
 * Rates are ratios of counts, so a ratio or difference exactly at its bound (0.32 / 0.4 against 0.8)
 * must not fail on floating-point rounding.
 */
const TOLERANCE = 1e-12;

function atMost(value: number, bound: number): boolean {
  return value <= bound + TOLERANCE * Math.max(1, Math.abs(bound));
}

function atLeast(value: number, bound: number): boolean {
  return value >= bound - TOLERANCE * Math.max(1, Math.abs(bound));
}

function percent(fraction: number): string {
  return `${formatNumber(fraction * 100, 3)} %`;
}

function withUnit(value: number, unit: string | undefined): string {
  return unit ? `${formatNumber(value)} ${unit}` : formatNumber(value);
}

/** `material_family = titanium (412 rows)`, for people. */
function sliceWhere(segment: string, slice: SliceMetrics): string {
  const rows = `${slice.count} ${slice.count === 1 ? 'row' : 'rows'}`;
  return slice.missing ? `${segment} missing (${rows})` : `${segment} = ${slice.segment} (${rows})`;
}

/** What one slice check found, before it is worded and judged (or not) by the slice's support. */
interface Finding {
  passed: boolean;
  value?: number;
  bound: number;
  /** What was measured (`error 2.1x the overall`). */
  measured: string;
  /** Why it passed or failed (`above the 1.5x bound`). */
  reason: string;
}

function sliceCheck(
  name: string,
  where: string,
  slice: SliceMetrics,
  minSupport: number,
  finding: Finding,
): GateCheck {
  const { passed, value, bound, measured, reason } = finding;
  const base = { name, bound, ...(value === undefined || !Number.isFinite(value) ? {} : { value }) };
  return slice.belowMinSupport
    ? {
        ...base,
        passed: true,
        judged: false,
        message: `${where}: ${measured}; too few rows to judge (fewer than ${minSupport})`,
      }
    : { ...base, passed, judged: true, message: `${where}: ${measured}, ${reason}` };
}

/** Slice error / overall error against `maxErrorRatio`, for regression (RMSE) and multiclass (error rate). */
function errorRatioFinding(
  task: TaskKind,
  sliceError: number | null,
  overallError: number | null,
  bound: number,
  unit: string | undefined,
): Finding {
  const boundText = `${formatNumber(bound)}x`;
  if (sliceError === null || overallError === null) {
    return {
      passed: false,
      bound,
      measured: 'error could not be computed',
      reason: 'the targets or predictions have missing or non-numeric values',
    };
  }
  if (overallError === 0) {
    // Then every slice's error is 0 too: nothing to compare, nothing unfair.
    return { passed: true, bound, measured: 'no error, as overall', reason: `within the ${boundText} bound` };
  }
  const ratio = sliceError / overallError;
  const passed = atMost(ratio, bound);
  const [shownRatio, shownBound] = formatPair(ratio, bound);
  const measured =
    task === 'multiclass'
      ? `misclassified ${percent(sliceError)} of the time, ${shownRatio}x the overall ${percent(overallError)}`
      : `error ${shownRatio}x the overall (RMSE ${withUnit(sliceError, unit)} against ${withUnit(overallError, unit)})`;
  return {
    passed,
    value: ratio,
    bound,
    measured,
    reason: `${passed ? 'within' : 'above'} the ${shownBound}x bound`,
  };
}

/** |mean(prediction - target)| of a slice against `maxAbsBias`. */
function biasFinding(bias: number | null, bound: number, unit: string | undefined): Finding {
  if (bias === null) {
    return {
      passed: false,
      bound,
      measured: 'mean error could not be computed',
      reason: 'the targets or predictions have missing or non-numeric values',
    };
  }
  const size = Math.abs(bias);
  const passed = atMost(size, bound);
  const [shownSize, shownBound] = formatPair(size, bound, (value, digits) =>
    unit ? `${formatNumber(value, digits)} ${unit}` : formatNumber(value, digits),
  );
  const measured =
    bias === 0
      ? 'predictions right on average'
      : `predictions ${shownSize} too ${bias > 0 ? 'high' : 'low'} on average`;
  return {
    passed,
    value: size,
    bound,
    measured,
    reason: `${passed ? 'within' : 'above'} the ${shownBound} bound`,
  };
}

function errorRate(metrics: TaskMetrics): number | null {
  const { accuracy } = metrics as MulticlassMetrics;
  return accuracy === null ? null : 1 - accuracy;
}

function regressionChecks(
  segment: string,
  slices: SliceMetrics[],
  overall: TaskMetrics,
  input: FairnessGateInput,
) {
  const { gate, targetUnit } = input;
  const overallRmse = (overall as RegressionMetrics).rmse;
  return slices.flatMap((slice) => {
    const where = sliceWhere(segment, slice);
    const key = `${segment}=${slice.segment}`;
    const sliceMetrics = slice.metrics as RegressionMetrics;
    const checks = [
      sliceCheck(
        `error-ratio:${key}`,
        where,
        slice,
        gate.minSliceSupport,
        errorRatioFinding('regression', sliceMetrics.rmse, overallRmse, gate.maxErrorRatio, targetUnit),
      ),
    ];
    if (gate.maxAbsBias !== undefined) {
      checks.push(
        sliceCheck(
          `bias:${key}`,
          where,
          slice,
          gate.minSliceSupport,
          biasFinding(sliceMetrics.bias, gate.maxAbsBias, targetUnit),
        ),
      );
    }
    return checks;
  });
}

function multiclassChecks(
  segment: string,
  slices: SliceMetrics[],
  overall: TaskMetrics,
  input: FairnessGateInput,
) {
  const { gate } = input;
  return slices.map((slice) =>
    sliceCheck(
      `error-ratio:${segment}=${slice.segment}`,
      sliceWhere(segment, slice),
      slice,
      gate.minSliceSupport,
      errorRatioFinding(
        'multiclass',
        errorRate(slice.metrics),
        errorRate(overall),
        gate.maxErrorRatio,
        undefined,
      ),
    ),
  );
}

/** The slice with the lowest and the highest value of a rate among slices that have one. */
function extremes(slices: SliceMetrics[], rate: (slice: SliceMetrics) => number) {
  const sorted = [...slices].sort((a, b) => rate(a) - rate(b));
  return { lowest: sorted[0] as SliceMetrics, highest: sorted[sorted.length - 1] as SliceMetrics };
}

function sliceName(slice: SliceMetrics): string {
  return slice.missing ? 'rows without a value' : slice.segment;
}

/** `; left out: copper (3 rows, too few), brass (no actual positives)`, or '' when none is. */
function leftOutNote(left: { slice: SliceMetrics; why: string }[]): string {
  return left.length === 0
    ? ''
    : `; left out: ${left.map(({ slice, why }) => `${sliceName(slice)} (${why})`).join(', ')}`;
}

function tooFew(slice: SliceMetrics): string {
  return `${slice.count} ${slice.count === 1 ? 'row' : 'rows'}, too few`;
}

/** Lowest / highest positive-prediction rate across the judged slices of one segment. */
function disparateImpactCheck(segment: string, slices: SliceMetrics[], gate: FairnessGateSpec): GateCheck {
  const name = `disparate-impact:${segment}`;
  const bound = gate.minDisparateImpact;
  const compared = slices.filter((slice) => !slice.belowMinSupport && slice.positivePredictionRate != null);
  const note = leftOutNote(
    slices.filter((slice) => !compared.includes(slice)).map((slice) => ({ slice, why: tooFew(slice) })),
  );
  if (compared.length < 2) {
    return reportedCheck(
      name,
      `${segment}: fewer than two slices have at least ${gate.minSliceSupport} rows, so predicted-positive rates cannot be compared${note}`,
      bound,
    );
  }
  const rate = (slice: SliceMetrics) => slice.positivePredictionRate ?? 0;
  const { lowest, highest } = extremes(compared, rate);
  // No slice predicted positive at all: the rates are equal, which is parity.
  const impact = rate(highest) === 0 ? 1 : rate(lowest) / rate(highest);
  const passed = atLeast(impact, bound);
  const [shownImpact, shownBound] = formatPair(impact, bound);
  const measured =
    rate(highest) === 0
      ? 'no slice has rows predicted positive'
      : `predicted positive for ${percent(rate(lowest))} of ${sliceName(lowest)} and ${percent(rate(highest))} of ${sliceName(highest)}`;
  return {
    name,
    passed,
    judged: true,
    value: impact,
    bound,
    message: `${segment}: ${measured}; disparate impact ${shownImpact}, ${passed ? 'at least' : 'below'} the ${shownBound} bound${note}`,
  };
}

/** Highest - lowest true-positive rate across the judged slices of one segment that have actual positives. */
function equalOpportunityCheck(segment: string, slices: SliceMetrics[], gate: FairnessGateSpec): GateCheck {
  const name = `equal-opportunity:${segment}`;
  const bound = gate.maxEqualOpportunityDifference;
  const compared = slices.filter((slice) => !slice.belowMinSupport && slice.truePositiveRate != null);
  const note = leftOutNote(
    slices
      .filter((slice) => !compared.includes(slice))
      .map((slice) => ({ slice, why: slice.belowMinSupport ? tooFew(slice) : 'no actual positives' })),
  );
  if (compared.length < 2) {
    return reportedCheck(
      name,
      `${segment}: fewer than two slices have at least ${gate.minSliceSupport} rows and actual positives, so true-positive rates cannot be compared${note}`,
      bound,
    );
  }
  const rate = (slice: SliceMetrics) => slice.truePositiveRate ?? 0;
  const { lowest, highest } = extremes(compared, rate);
  const difference = rate(highest) - rate(lowest);
  const passed = atMost(difference, bound);
  const [shownDifference, shownBound] = formatPair(difference * 100, bound * 100);
  return {
    name,
    passed,
    judged: true,
    value: difference,
    bound,
    message: `${segment}: actual positives caught range from ${percent(rate(lowest))} in ${sliceName(lowest)} to ${percent(rate(highest))} in ${sliceName(highest)}, ${shownDifference} percentage points apart, ${passed ? 'within' : 'above'} the ${shownBound}-point bound${note}`,
  };
}

/** A binary slice too small to judge, reported with its rates. */
function smallBinarySliceCheck(segment: string, slice: SliceMetrics, minSupport: number): GateCheck {
  const caught =
    slice.truePositiveRate == null
      ? 'no actual positives'
      : `${percent(slice.truePositiveRate)} of actual positives caught`;
  return reportedCheck(
    `small-slice:${segment}=${slice.segment}`,
    `${sliceWhere(segment, slice)}: predicted positive ${percent(slice.positivePredictionRate ?? Number.NaN)} of the time, ${caught}; too few rows to judge (fewer than ${minSupport})`,
  );
}

function binaryChecks(segment: string, slices: SliceMetrics[], input: FairnessGateInput): GateCheck[] {
  const { gate } = input;
  return [
    disparateImpactCheck(segment, slices, gate),
    equalOpportunityCheck(segment, slices, gate),
    ...slices
      .filter((slice) => slice.belowMinSupport)
      .map((slice) => smallBinarySliceCheck(segment, slice, gate.minSliceSupport)),
  ];
}

/** The checks of one segment column, by task. */
function segmentChecks(
  segment: string,
  slices: SliceMetrics[],
  overall: TaskMetrics,
  input: FairnessGateInput,
): GateCheck[] {
  if (slices.length === 0) {
    return [
      reportedCheck(
        `no-rows:${segment}`,
        `${segment}: the test set has no rows, so there are no slices to compare`,
      ),
    ];
  }
  if (input.task === 'regression') return regressionChecks(segment, slices, overall, input);
  if (input.task === 'binary') return binaryChecks(segment, slices, input);
  return multiclassChecks(segment, slices, overall, input);
}

/** The model card's measures of a slice (or, without `overall`, of all rows). */
function measuresOf(task: TaskKind, metrics: TaskMetrics, overall?: TaskMetrics): SliceMeasures {
  const ratio = (slice: number | null, whole: number | null) =>
    slice === null || whole === null || whole === 0 ? null : slice / whole;
  if (task === 'regression') {
    const { count, rmse, mae, bias } = metrics as RegressionMetrics;
    const measures: SliceMeasures = { rows: count, rmse, mae, bias };
    if (overall) measures.errorRatio = ratio(rmse, (overall as RegressionMetrics).rmse);
    return measures;
  }
  if (task === 'binary') {
    const binary = metrics as BinaryMetrics;
    return {
      rows: binary.count,
      positives: binary.positives,
      positivePredictionRate: binary.predictedPositiveRate,
      truePositiveRate: binary.positives > 0 ? binary.recall : null,
      accuracy: binary.accuracy,
    };
  }
  const measures: SliceMeasures = { rows: metrics.count, accuracy: (metrics as MulticlassMetrics).accuracy };
  if (overall) measures.errorRatio = ratio(errorRate(metrics), errorRate(overall));
  return measures;
}

/**
 * Judges how evenly the candidate serves the slices of each segment column over the test rows (see
 * the module comment for the rules) and returns the verdict with the slice table for the model card.
 * Check names: `error-ratio:material_family=titanium`, `bias:material_family=titanium` (regression
 * and multiclass, per slice); `disparate-impact:material_family`, `equal-opportunity:material_family`
 * (binary, per segment) and `small-slice:material_family=copper` (binary slices too small to judge);
 * `no-rows:material_family` on an empty test set; `segments` when the spec names no segment column.
 *
 * @throws when a segment column, y and prediction do not have one entry per test row (bad data)
 */
export function evaluateFairnessGate(input: FairnessGateInput): FairnessGateResult {
  const { task, gate, y, prediction } = input;
  const sliceBy = (segment: SegmentColumn) =>
    metricsBySlice({
      segment,
      y,
      prediction,
      task,
      minSupport: gate.minSliceSupport,
      ...(input.k === undefined ? {} : { k: input.k }),
      ...(input.threshold === undefined ? {} : { threshold: input.threshold }),
    });
  const checks: GateCheck[] = [];
  const slices: FairnessSlice[] = [];
  const reports = Object.entries(input.segments).map(([segment, column]) => ({
    segment,
    ...sliceBy(column),
  }));
  // Without segments, every row in one (missing) slice: metricsBySlice then gives the overall metrics.
  const overallMetrics = (reports[0] ?? sliceBy(Array.from(y, () => null))).overall;

  for (const report of reports) {
    const { segment } = report;
    for (const slice of report.slices) {
      slices.push({
        segment,
        slice: slice.segment,
        missing: slice.missing,
        share: slice.share,
        judged: !slice.belowMinSupport,
        ...measuresOf(task, slice.metrics, report.overall),
      });
    }
    checks.push(...segmentChecks(segment, report.slices, report.overall, input));
  }
  if (reports.length === 0) {
    checks.push(
      reportedCheck('segments', 'The spec names no segment columns, so there are no slices to compare'),
    );
  }
  return { verdict: verdictOf('fairness', checks), overall: measuresOf(task, overallMetrics), slices };
}

/**
 * The card's "Per slice" section: each slice's error ratio against the gate's bound, above the slice
 * table with the same numbers.
 */
async function perSliceSection(card: ModelCardInput): Promise<string> {
  const sliceBars = card.slices
    .filter((slice) => typeof slice.errorRatio === 'number' && Number.isFinite(slice.errorRatio))
    .map((slice) => ({
      label: `${slice.segment} = ${slice.slice}`,
      value: slice.errorRatio ?? Number.NaN,
      group: slice.segment,
      faded: !slice.judged,
    }));
  const chart =
    sliceBars.length === 0
      ? ''
      : chartFigure(
          'slice-error-ratio',
          await barChart({
            bars: sliceBars,
            labelTitle: 'slice',
            valueTitle: 'error ratio (slice error / overall error)',
            ...(card.fairnessBound === undefined ? {} : { rule: { value: card.fairnessBound } }),
          }),
          `Error ratio of each slice, coloured by segment; faded slices have too few rows to be judged.${card.fairnessBound === undefined ? '' : ` The red line is the fairness gate's bound, ${card.fairnessBound}.`}`,
        );
  const sliceTable = sliceRows(card.slices, cardNumber);
  return `<h2>Per slice</h2>
${chart}
${htmlTable(['segment', 'slice', 'test rows', 'error', 'error ratio', 'bias', 'judged'], sliceTable)}`;
}

/**
 * The fairness gate, run by the fairness stage on the test predictions sliced by the spec's segments.
 * Its report, the slice table (`overall`, `slices`), is stored for the model card.
 */
export const fairnessGate: Gate<'fairness', typeof fairnessGateSchema, 'fairness'> = {
  name: 'fairness',
  stage: 'fairness',
  spec: fairnessGateSchema,
  check: (gate, { spec, segments, y, prediction, k }) => {
    const { verdict, overall, slices } = evaluateFairnessGate({
      task: modelTaskOf(spec.task),
      segments,
      y,
      prediction,
      gate,
      k,
    });
    return { verdict, report: { overall, slices } };
  },
  card: { sections: perSliceSection },
};
