/**
 * The validate stage: a new snapshot's record checked on its own and against the previous snapshot
 * of the same pipeline, from the records alone (pure; no data is read).
 *
 * Hard anomalies mean the data cannot make a trustworthy model: no or too few rows, a target or a
 * feature entirely missing, a target with nothing to learn (one value, one class), a column whose
 * kind changed since the previous snapshot. The run stops with a `DataValidationError`, which the
 * lifecycle reports as a non-retryable failure: running again on the same data gives the same answer.
 *
 * Soft anomalies are worth a look but do not stop the run; they go into the run's report: a feature's
 * missing rate up by more than 10 points, a mean moved by more than 3 previous standard deviations,
 * categories never seen before, a row count down by more than half, a column type that changed
 * within its kind, rows without a target.
 */
import type { CategoricalStatistics, ColumnStatistics, NumericStatistics } from '../ml/statistics';
import type { PipelineSpec } from './spec/schema';
import type { SnapshotColumn, SnapshotRecord } from './ingest';
import { modelTaskOf } from './spec/metrics';
import { builtFeatureNames } from './features/build';

export type AnomalyKind =
  // hard
  | 'no_rows'
  | 'too_few_rows'
  | 'missing_column'
  | 'target_all_missing'
  | 'feature_all_missing'
  | 'target_constant'
  | 'single_class'
  | 'too_many_classes'
  | 'kind_changed'
  | 'label_type_changed'
  // soft
  | 'type_changed'
  | 'target_missing'
  | 'missing_rate_rose'
  | 'mean_shift'
  | 'new_categories'
  | 'row_count_drop';

/** One finding about a snapshot. */
export interface Anomaly {
  kind: AnomalyKind;
  severity: 'hard' | 'soft';
  /** The column concerned; null when the finding is about the snapshot as a whole (its rows). */
  column: string | null;
  /** One or two sentences for people: what was found, against what, and what to do. */
  message: string;
  /** The measured value now (a row count, a missing rate, a mean), when there is one. */
  current?: number;
  /** The value it was compared with (the previous snapshot's, or a threshold). */
  previous?: number;
  /** For new categories: each label with its rows, null when the count was not recorded. */
  categories?: { label: string; count: number | null }[];
}

/** What `validateSnapshot` found, hard anomalies apart from soft ones. */
export interface DataValidationReport {
  hard: Anomaly[];
  soft: Anomaly[];
}

/** Bounds of the checks; each missing one takes its default. */
export interface DataValidationThresholds {
  /**
   * Fewest rows a snapshot must have (hard).
   * @default 50
   */
  minRows: number;
  /**
   * Largest rise of a feature's missing rate over the previous snapshot, in absolute terms (soft).
   * @default 0.1 (10 percentage points)
   */
  maxMissingRateIncrease: number;
  /**
   * Largest move of a numeric column's mean, in standard deviations of the previous snapshot (soft).
   * @default 3
   */
  maxMeanShiftStds: number;
  /**
   * Largest drop of the row count from the previous snapshot, as a share of it (soft).
   * @default 0.5
   */
  maxRowCountDrop: number;
}

export const DEFAULT_THRESHOLDS: Readonly<DataValidationThresholds> = {
  minRows: 50,
  maxMissingRateIncrease: 0.1,
  maxMeanShiftStds: 3,
  maxRowCountDrop: 0.5,
};

/** The parts of a pipeline spec validation reads. */
export type ValidationSpec = Pick<PipelineSpec, 'task' | 'target' | 'features'> &
  Partial<Pick<PipelineSpec, 'derived' | 'history'>>;

export interface ValidateSnapshotInput {
  current: SnapshotRecord;
  /** The previous snapshot of the same pipeline; without it only the current one's own checks run. */
  previous?: SnapshotRecord;
  spec: ValidationSpec;
  thresholds?: Partial<DataValidationThresholds>;
}

/** New categories listed by name in a message; the anomaly's `categories` has them all. */
const NAMED_CATEGORIES = 10;

/**
 * Checks a snapshot record, and compares it with the previous one when given.
 *
 * @returns every anomaly found, hard and soft apart; never throws for bad data
 * @throws RangeError for a threshold that is negative or not a number
 */
export function validateSnapshot(input: ValidateSnapshotInput): DataValidationReport {
  const { current, previous } = input;
  // Derived and history features are built after validation, from columns the snapshot holds; they are not in it.
  const built = builtFeatureNames(input.spec);
  const spec = {
    ...input.spec,
    features: input.spec.features.filter((feature) => !built.has(feature.name)),
  };
  const thresholds = resolveThresholds(input.thresholds);
  const anomalies: Anomaly[] = [];
  const add = (anomaly: Anomaly) => anomalies.push(anomaly);

  if (current.rows === 0) {
    // Every column would be "entirely missing" too: one finding says it all.
    add({
      kind: 'no_rows',
      severity: 'hard',
      column: null,
      current: 0,
      message:
        'The snapshot has no rows: there is nothing to train or evaluate on; load data into the source.',
    });
    return split(anomalies);
  }
  if (current.rows < thresholds.minRows) {
    add({
      kind: 'too_few_rows',
      severity: 'hard',
      column: null,
      current: current.rows,
      previous: thresholds.minRows,
      message:
        `The snapshot has ${current.rows} rows, fewer than the ${thresholds.minRows} needed to train and test ` +
        'a model: load more data into the source (or lower minRows if a small set is intended).',
    });
  }

  const stats = new Map(current.statistics.columns.map((column) => [column.name, column]));
  const columns = new Map(current.columns.map((column) => [column.name, column]));
  for (const name of [spec.target, ...spec.features.map((feature) => feature.name)]) {
    if (!columns.has(name) || !stats.has(name)) {
      add({
        kind: 'missing_column',
        severity: 'hard',
        column: name,
        message: `The spec names column "${name}" but snapshot ${current.key} has no such column; take the snapshot again with this spec.`,
      });
    }
  }

  const target = stats.get(spec.target);
  if (target) anomalies.push(...checkTarget(target, spec.task, current.rows));
  for (const feature of spec.features) {
    const column = stats.get(feature.name);
    if (column && column.count === 0) {
      add({
        kind: 'feature_all_missing',
        severity: 'hard',
        column: feature.name,
        current: column.missing,
        message:
          `Feature "${feature.name}" is missing in all ${current.rows} rows: fix the source column ` +
          '(or the query that fills it), or remove the feature from the spec.',
      });
    }
  }

  if (previous) anomalies.push(...compare(current, previous, spec, thresholds));
  return split(anomalies);
}

function resolveThresholds(given: Partial<DataValidationThresholds> = {}): DataValidationThresholds {
  const thresholds = { ...DEFAULT_THRESHOLDS };
  for (const [name, value] of Object.entries(given) as [
    keyof DataValidationThresholds,
    number | undefined,
  ][]) {
    if (value === undefined) continue;
    if (typeof value !== 'number' || !(value >= 0)) {
      throw new RangeError(`Threshold ${name} must be a number >= 0, got ${String(value)}`);
    }
    thresholds[name] = value;
  }
  return thresholds;
}

function split(anomalies: Anomaly[]): DataValidationReport {
  return {
    hard: anomalies.filter((anomaly) => anomaly.severity === 'hard'),
    soft: anomalies.filter((anomaly) => anomaly.severity === 'soft'),
  };
}

/** The target must be present and hold something to learn. */
function checkTarget(target: ColumnStatistics, task: ValidationSpec['task'], rows: number): Anomaly[] {
  const column = target.name;
  if (target.count === 0) {
    return [
      {
        kind: 'target_all_missing',
        severity: 'hard',
        column,
        current: target.missing,
        message:
          `Target "${column}" is missing in all ${rows} rows: there is nothing to learn from; ` +
          "check the source column (or the query's joins) that should fill it.",
      },
    ];
  }
  const anomalies: Anomaly[] = [];
  if (modelTaskOf(task) === 'regression') {
    if (target.kind === 'numeric' && target.min !== null && target.min === target.max) {
      anomalies.push({
        kind: 'target_constant',
        severity: 'hard',
        column,
        current: target.min,
        message:
          `Target "${column}" is ${target.min} in every row that has it: a regression needs a target that ` +
          'varies; check the source (a filter that keeps one value, a default filled in).',
      });
    }
  } else {
    const classes = classCount(target);
    if (classes !== undefined && classes < 2) {
      anomalies.push({
        kind: 'single_class',
        severity: 'hard',
        column,
        current: classes,
        message:
          `Target "${column}" has a single class${classLabel(target)}: a ${task} model needs examples of at ` +
          'least two; check the source (a filter that keeps one class) or widen the data.',
      });
    } else if (task === 'binary' && classes !== undefined && classes > 2) {
      anomalies.push({
        kind: 'too_many_classes',
        severity: 'hard',
        column,
        current: classes,
        message:
          `Target "${column}" has ${classes} classes${classLabel(target)}; a binary model needs exactly 2: ` +
          'map the classes to two in the source, or use task multiclass.',
      });
    }
  }
  if (target.missing > 0) {
    anomalies.push({
      kind: 'target_missing',
      severity: 'soft',
      column,
      current: target.missing,
      message:
        `Target "${column}" is missing in ${target.missing} of ${rows} rows (${percent(target.missing / rows)}); ` +
        'rows without a target cannot be used to train or test.',
    });
  }
  return anomalies;
}

/** Distinct classes of a classification target; undefined when the statistics cannot tell. */
function classCount(target: ColumnStatistics): number | undefined {
  if (target.kind === 'categorical') return target.distinct;
  if (target.min === null) return undefined;
  return target.min === target.max ? 1 : undefined;
}

function classLabel(target: ColumnStatistics): string {
  if (target.kind !== 'categorical') return target.min === null ? '' : ` (${target.min})`;
  const labels = target.frequencies.slice(0, 5).map((entry) => JSON.stringify(entry.label));
  const more = target.distinct > labels.length ? ', ...' : '';
  return labels.length > 0 ? ` (${labels.join(', ')}${more})` : '';
}

/** Checks of the current snapshot against the previous one. */
function compare(
  current: SnapshotRecord,
  previous: SnapshotRecord,
  spec: ValidationSpec,
  thresholds: DataValidationThresholds,
): Anomaly[] {
  const anomalies: Anomaly[] = [];
  const drop = previous.rows === 0 ? 0 : (previous.rows - current.rows) / previous.rows;
  if (drop > thresholds.maxRowCountDrop) {
    anomalies.push({
      kind: 'row_count_drop',
      severity: 'soft',
      column: null,
      current: current.rows,
      previous: previous.rows,
      message:
        `The snapshot has ${current.rows} rows against ${previous.rows} in the previous one ` +
        `(${percent(drop)} fewer, more than ${percent(thresholds.maxRowCountDrop)}): check that the source is complete.`,
    });
  }

  const previousColumns = new Map(previous.columns.map((column) => [column.name, column]));
  const previousStats = new Map(previous.statistics.columns.map((column) => [column.name, column]));
  const currentStats = new Map(current.statistics.columns.map((column) => [column.name, column]));
  const features = new Set(spec.features.map((feature) => feature.name));

  for (const column of current.columns) {
    const before = previousColumns.get(column.name);
    if (!before) continue; // a column new to the spec has nothing to be compared with
    const typeChange = checkKind(column, before);
    if (typeChange) anomalies.push(typeChange);
    const now = currentStats.get(column.name);
    const then = previousStats.get(column.name);
    // Statistics of another kind (or of labels spelled another way) do not compare.
    if (typeChange?.severity === 'hard' || !now || !then) continue;
    const findings = [
      features.has(column.name)
        ? checkMissingRate(now, then, current.rows, previous.rows, thresholds)
        : undefined,
      // The time column moves forward by design; its mean says nothing about the data.
      column.role !== 'time' && now.kind === 'numeric' && then.kind === 'numeric'
        ? checkMeanShift(column.name, now, then, thresholds.maxMeanShiftStds)
        : undefined,
      now.kind === 'categorical' && then.kind === 'categorical'
        ? checkNewCategories(column, before, now)
        : undefined,
    ];
    for (const finding of findings) if (finding) anomalies.push(finding);
  }
  return anomalies;
}

function checkMissingRate(
  now: ColumnStatistics,
  then: ColumnStatistics,
  rows: number,
  previousRows: number,
  thresholds: DataValidationThresholds,
): Anomaly | undefined {
  const rateNow = now.missing / rows;
  const rateThen = previousRows === 0 ? 0 : then.missing / previousRows;
  // A hair of slack, so a rise of exactly the threshold is not flagged for a rounding error.
  if (rateNow - rateThen <= thresholds.maxMissingRateIncrease + 1e-12) return undefined;
  return {
    kind: 'missing_rate_rose',
    severity: 'soft',
    column: now.name,
    current: rateNow,
    previous: rateThen,
    message:
      `Feature "${now.name}" is missing in ${percent(rateNow)} of rows (${now.missing} of ${rows}) against ` +
      `${percent(rateThen)} in the previous snapshot, up by more than ` +
      `${(thresholds.maxMissingRateIncrease * 100).toFixed(1)} percentage points: check what stopped filling it.`,
  };
}

/** Same column, another kind or type since the previous snapshot. */
function checkKind(column: SnapshotColumn, before: SnapshotColumn): Anomaly | undefined {
  const name = column.name;
  const types = `${before.pgType} then, ${column.pgType} now`;
  if (column.kind !== before.kind) {
    return {
      kind: 'kind_changed',
      severity: 'hard',
      column: name,
      message:
        `Column "${name}" was ${before.kind} in the previous snapshot and is ${column.kind} now (${types}): ` +
        'the model would read it differently. Restore the column (or the spec) to its kind; if the change ' +
        'is intended, validate this run without the previous snapshot so it becomes the new baseline.',
    };
  }
  if (column.pgType === before.pgType) return undefined;
  if (column.kind === 'categorical' && labelFamily(column.pgType) !== labelFamily(before.pgType)) {
    return {
      kind: 'label_type_changed',
      severity: 'hard',
      column: name,
      message:
        `Column "${name}" holds ${labelFamily(column.pgType)} labels now but held ${labelFamily(before.pgType)} ` +
        `labels in the previous snapshot (${types}): the same category may now be spelled differently ` +
        '("1" and "01", "true" and "yes") and look new to the model. Cast it back in the source; if the change ' +
        'is intended, validate this run without the previous snapshot so it becomes the new baseline.',
    };
  }
  return {
    kind: 'type_changed',
    severity: 'soft',
    column: name,
    message: `Column "${name}" changed type (${types}); it is still read as ${column.kind}.`,
  };
}

/** How a categorical column's labels are spelled, by PostgreSQL type. */
function labelFamily(pgType: string): 'integer' | 'boolean' | 'text' {
  if (/^(smallint|integer|bigint)$/.test(pgType)) return 'integer';
  if (pgType === 'boolean') return 'boolean';
  return 'text';
}

function checkMeanShift(
  name: string,
  now: NumericStatistics,
  then: NumericStatistics,
  maxStds: number,
): Anomaly | undefined {
  if (now.mean === null || then.mean === null || then.std === null) return undefined;
  const difference = Math.abs(now.mean - then.mean);
  // A mean of equal values can differ from them in the last bits: ignore differences below rounding.
  const noise = 1e-9 * Math.max(1, Math.abs(then.mean));
  if (difference <= noise) return undefined;
  const base = { kind: 'mean_shift' as const, severity: 'soft' as const, column: name };
  if (then.std <= noise) {
    return {
      ...base,
      current: now.mean,
      previous: then.mean,
      message:
        `The mean of "${name}" is ${round(now.mean)}; in the previous snapshot every value was ${round(then.mean)}: ` +
        'check the source for a change of unit, meaning or filter.',
    };
  }
  const stds = difference / then.std;
  if (stds <= maxStds) return undefined;
  return {
    ...base,
    current: now.mean,
    previous: then.mean,
    message:
      `The mean of "${name}" moved from ${round(then.mean)} to ${round(now.mean)}, ${round(stds)} standard ` +
      `deviations of the previous snapshot (${round(then.std)}), more than ${maxStds}: check the source for a ` +
      'change of unit, meaning or filter.',
  };
}

function checkNewCategories(
  column: SnapshotColumn,
  before: SnapshotColumn,
  now: CategoricalStatistics,
): Anomaly | undefined {
  // Without the previous full list (too many categories) there is nothing reliable to compare with.
  if (!before.categories) return undefined;
  const known = new Set(before.categories);
  const counts = new Map(now.frequencies.map((entry) => [entry.label, entry.count]));
  const candidates = column.categories ?? now.frequencies.map((entry) => entry.label);
  const unseen = candidates
    .filter((label) => !known.has(label))
    .map((label) => ({ label, count: counts.get(label) ?? null }))
    // Most frequent first; labels without a recorded count (beyond the listed top) last, by name.
    .sort(
      (a, b) => (b.count ?? -1) - (a.count ?? -1) || (a.label < b.label ? -1 : a.label > b.label ? 1 : 0),
    );
  if (unseen.length === 0) return undefined;
  const named = unseen
    .slice(0, NAMED_CATEGORIES)
    .map((entry) =>
      entry.count === null
        ? `${JSON.stringify(entry.label)} (rows not counted)`
        : `${JSON.stringify(entry.label)} (${entry.count} rows)`,
    );
  const more = unseen.length > NAMED_CATEGORIES ? `, and ${unseen.length - NAMED_CATEGORIES} more` : '';
  const rows = unseen.reduce((total, entry) => total + (entry.count ?? 0), 0);
  return {
    kind: 'new_categories',
    severity: 'soft',
    column: column.name,
    current: unseen.length,
    categories: unseen,
    message:
      `Column "${column.name}" has ${unseen.length} ${unseen.length === 1 ? 'category' : 'categories'} not in the previous ` +
      `snapshot: ${named.join(', ')}${more}` +
      (rows > 0 ? `; ${rows} rows in all` : '') +
      '. A model trained before has never seen them.',
  };
}

/**
 * A snapshot that failed validation: the message lists every hard anomaly, one line each. The
 * lifecycle turns it into a non-retryable failure, since the same data fails the same way.
 */
export class DataValidationError extends Error {
  /** Running the same step again cannot help. */
  readonly nonRetryable = true;

  constructor(
    readonly hard: readonly Anomaly[],
    readonly soft: readonly Anomaly[] = [],
    readonly snapshotKey?: string,
  ) {
    const count = `${hard.length} hard ${hard.length === 1 ? 'anomaly' : 'anomalies'}`;
    super(
      `Snapshot ${snapshotKey ?? ''}${snapshotKey ? ' ' : ''}failed data validation with ${count}:\n` +
        hard.map((anomaly) => `  - ${formatAnomaly(anomaly)}`).join('\n') +
        '\nFix the data (or the spec) and start the run again.',
    );
    this.name = 'DataValidationError';
  }
}

/** Throws a DataValidationError when the report has hard anomalies; soft ones pass. */
export function assertNoHardAnomalies(report: DataValidationReport, snapshotKey?: string): void {
  if (report.hard.length > 0) throw new DataValidationError(report.hard, report.soft, snapshotKey);
}

/** One anomaly on one line: `[kind] column: message`. */
export function formatAnomaly(anomaly: Anomaly): string {
  return `[${anomaly.kind}] ${anomaly.column ?? '(rows)'}: ${anomaly.message}`;
}

/** The report as text for logs and the run's report: hard anomalies first. */
export function formatValidationReport(report: DataValidationReport): string {
  if (report.hard.length === 0 && report.soft.length === 0) return 'Data validation: no anomalies.';
  return [
    `Data validation: ${report.hard.length} hard, ${report.soft.length} soft anomalies.`,
    ...report.hard.map((anomaly) => `  HARD  ${formatAnomaly(anomaly)}`),
    ...report.soft.map((anomaly) => `  soft  ${formatAnomaly(anomaly)}`),
  ].join('\n');
}

function percent(rate: number): string {
  return `${(rate * 100).toFixed(1)}%`;
}

function round(value: number): string {
  return String(Number(value.toPrecision(4)));
}
