/**
 * Checks a new batch against a training schema (like TFX ExampleValidator). Hard anomalies mean the
 * batch cannot be scored or trained on as is (a column gone, text where numbers belong); soft ones
 * are drift worth a look (new categories, values outside the range seen, more missing values).
 */
import type { CategoricalColumnSchema, ColumnSchema, DatasetSchema, NumericColumnSchema } from './schema';
import { compareText } from './statistics';
import { MISSING_CODE, type Column, type Table } from './table';

export type AnomalyKind =
  'missing_column' | 'wrong_type' | 'missing_rate' | 'out_of_range' | 'unseen_category' | 'unexpected_column';

export interface Anomaly {
  column: string;
  kind: AnomalyKind;
  severity: 'hard' | 'soft';
  /** Rows concerned. */
  count: number;
  /** Rows in the batch. */
  total: number;
  /** Offending values, at most `maxExamples`. */
  examples: (string | number)[];
  /** For unseen categories: the rows holding each example, same order. */
  exampleCounts?: number[];
  message: string;
}

export interface ValidationReport {
  rowCount: number;
  anomalies: Anomaly[];
}

export interface ValidationOptions {
  /** Allowed rise of the missing rate over training, absolute (default 0.1 = 10 points). */
  maxMissingRateIncrease?: number;
  /** A rise above this is a hard anomaly (default 0.5). */
  hardMissingRateIncrease?: number;
  /** Values may pass training min/max by this share of the training range (default 0.25). */
  rangeMargin?: number;
  /** Examples per anomaly (default 5). */
  maxExamples?: number;
}

/** Thrown by `assertNoHardAnomalies`; the whole report is attached. */
export class DataValidationError extends Error {
  constructor(readonly report: ValidationReport) {
    const hard = report.anomalies.filter((anomaly) => anomaly.severity === 'hard');
    super(
      `The batch of ${report.rowCount} rows failed validation with ${hard.length} hard ${hard.length === 1 ? 'anomaly' : 'anomalies'}:\n` +
        hard.map((anomaly) => `  - ${anomaly.kind} in "${anomaly.column}": ${anomaly.message}`).join('\n'),
    );
    this.name = 'DataValidationError';
  }
}

/** Validates a batch against a schema; never throws for bad data, it reports it. */
export function validateBatch(
  schema: DatasetSchema,
  table: Table,
  options: ValidationOptions = {},
): ValidationReport {
  const settings: Settings = {
    maxMissingRateIncrease: options.maxMissingRateIncrease ?? 0.1,
    hardMissingRateIncrease: options.hardMissingRateIncrease ?? 0.5,
    rangeMargin: options.rangeMargin ?? 0.25,
    maxExamples: options.maxExamples ?? 5,
    total: table.rowCount,
  };
  const anomalies: Anomaly[] = [];
  const expected = new Set<string>();
  for (const columnSchema of schema.columns) {
    expected.add(columnSchema.name);
    if (table.has(columnSchema.name)) {
      anomalies.push(...checkColumn(columnSchema, table.column(columnSchema.name), settings));
    } else if (columnSchema.required) {
      anomalies.push({
        column: columnSchema.name,
        kind: 'missing_column',
        severity: 'hard',
        count: table.rowCount,
        total: table.rowCount,
        examples: [],
        message: `the schema requires column "${columnSchema.name}" but the batch has none; it has: ${table.columnNames.join(', ')}`,
      });
    }
  }
  for (const name of table.columnNames.filter((name) => !expected.has(name))) {
    anomalies.push({
      column: name,
      kind: 'unexpected_column',
      severity: 'soft',
      count: table.rowCount,
      total: table.rowCount,
      examples: [],
      message: `column "${name}" is not in the schema; it is ignored`,
    });
  }
  return { rowCount: table.rowCount, anomalies };
}

/** Throws a DataValidationError listing every hard anomaly, one line each; soft ones pass. */
export function assertNoHardAnomalies(report: ValidationReport): void {
  if (report.anomalies.some((anomaly) => anomaly.severity === 'hard')) throw new DataValidationError(report);
}

/** The report as text for logs and people: hard anomalies first. */
export function formatReport(report: ValidationReport): string {
  const hard = report.anomalies.filter((anomaly) => anomaly.severity === 'hard');
  const soft = report.anomalies.filter((anomaly) => anomaly.severity === 'soft');
  if (report.anomalies.length === 0) return `Validated ${report.rowCount} rows: no anomalies.`;
  const lines = [...hard, ...soft].map(
    (anomaly) =>
      `  ${anomaly.severity === 'hard' ? 'HARD' : 'soft'}  ${anomaly.kind.padEnd(17)} ${anomaly.column}: ${anomaly.message}`,
  );
  return [
    `Validated ${report.rowCount} rows: ${hard.length} hard, ${soft.length} soft anomalies.`,
    ...lines,
  ].join('\n');
}

interface Settings {
  maxMissingRateIncrease: number;
  hardMissingRateIncrease: number;
  rangeMargin: number;
  maxExamples: number;
  total: number;
}

function checkColumn(schema: ColumnSchema, column: Column, settings: Settings): Anomaly[] {
  const anomalies: Anomaly[] = [];
  const base = { column: schema.name, total: settings.total };
  // Count each distinct cell once: per dictionary code for categories.
  const counts =
    column.kind === 'categorical' ? countCodes(column.codes, column.dictionary.length) : undefined;
  const missing =
    column.kind === 'numeric'
      ? column.values.reduce((total, value) => total + (Number.isNaN(value) ? 1 : 0), 0)
      : (counts?.missing ?? 0);
  const missingRate = settings.total === 0 ? 0 : missing / settings.total;
  const increase = missingRate - schema.missingRate;
  if (increase > settings.maxMissingRateIncrease + 1e-12) {
    anomalies.push({
      ...base,
      kind: 'missing_rate',
      severity: increase > settings.hardMissingRateIncrease ? 'hard' : 'soft',
      count: missing,
      examples: [],
      message: `missing in ${percent(missingRate)} of rows (${missing} of ${settings.total}) against ${percent(schema.missingRate)} in training`,
    });
  }
  if (schema.kind === 'numeric') {
    let values: Float64Array;
    if (column.kind === 'numeric') values = column.values;
    else {
      // Text where numbers belong: count it, and still range-check the labels that are numbers.
      const asNumbers = column.dictionary.map((label) => (label.trim() === '' ? Number.NaN : Number(label)));
      const bad = column.dictionary
        .map((label, code) => ({
          label,
          count: counts?.perCode[code] ?? 0,
          value: asNumbers[code] as number,
        }))
        .filter((entry) => entry.count > 0 && !Number.isFinite(entry.value))
        .sort((a, b) => b.count - a.count || compareText(a.label, b.label));
      const count = bad.reduce((total, entry) => total + entry.count, 0);
      if (count > 0) {
        anomalies.push({
          ...base,
          kind: 'wrong_type',
          severity: 'hard',
          count,
          examples: bad.slice(0, settings.maxExamples).map((entry) => entry.label),
          message: `column "${schema.name}" must be numeric but ${count} of ${settings.total} values are text, e.g. ${quoteList(bad.slice(0, settings.maxExamples).map((entry) => entry.label))}`,
        });
      }
      values = Float64Array.from(column.codes, (code) =>
        code === MISSING_CODE ? Number.NaN : (asNumbers[code] as number),
      );
    }
    const range = checkRange(schema, values, settings);
    if (range) anomalies.push({ ...base, ...range });
    return anomalies;
  }
  const unseen = checkDomain(schema, column, counts?.perCode, settings);
  if (unseen) anomalies.push({ ...base, ...unseen });
  return anomalies;
}

type Finding = Omit<Anomaly, 'column' | 'total'>;

function checkRange(
  schema: NumericColumnSchema,
  values: Float64Array,
  settings: Settings,
): Finding | undefined {
  if (schema.min === null || schema.max === null) return undefined;
  const margin = settings.rangeMargin * (schema.max - schema.min);
  const low = schema.min - margin;
  const high = schema.max + margin;
  let below = 0;
  let above = 0;
  const examples = new Set<number>();
  for (const value of values) {
    if (value < low) below++;
    else if (value > high) above++;
    else continue;
    if (examples.size < settings.maxExamples) examples.add(value);
  }
  const count = below + above;
  if (count === 0) return undefined;
  return {
    kind: 'out_of_range',
    severity: 'soft',
    count,
    examples: [...examples],
    message:
      `${count} of ${settings.total} values outside [${low}, ${high}] (training ${schema.min}..${schema.max} ` +
      `with a ${settings.rangeMargin * 100}% margin): ${below} below, ${above} above, e.g. ${[...examples].join(', ')}`,
  };
}

function checkDomain(
  schema: CategoricalColumnSchema,
  column: Column,
  perCode: number[] | undefined,
  settings: Settings,
): Finding | undefined {
  if (schema.domain === null) return undefined;
  const domain = new Set(schema.domain);
  const byLabel = new Map<string, number>();
  if (column.kind === 'categorical') {
    column.dictionary.forEach((label, code) => {
      const count = perCode?.[code] ?? 0;
      if (count > 0 && !domain.has(label)) byLabel.set(label, count);
    });
  } else {
    // Categories that arrive as numbers (a shift number) are compared by their text.
    for (const value of column.values) {
      if (Number.isNaN(value)) continue;
      const label = String(value);
      if (!domain.has(label)) byLabel.set(label, (byLabel.get(label) ?? 0) + 1);
    }
  }
  if (byLabel.size === 0) return undefined;
  const unseen = [...byLabel].sort((a, b) => b[1] - a[1] || compareText(a[0], b[0]));
  const count = unseen.reduce((total, [, n]) => total + n, 0);
  const shown = unseen.slice(0, settings.maxExamples);
  return {
    kind: 'unseen_category',
    severity: 'soft',
    count,
    examples: shown.map(([label]) => label),
    exampleCounts: shown.map(([, n]) => n),
    message:
      `${count} of ${settings.total} values are ${unseen.length} ${unseen.length === 1 ? 'category' : 'categories'} not seen in training: ` +
      shown.map(([label, n]) => `${JSON.stringify(label)} x${n}`).join(', ') +
      (unseen.length > shown.length ? `, and ${unseen.length - shown.length} more` : ''),
  };
}

function countCodes(codes: Int32Array, size: number): { perCode: number[]; missing: number } {
  const perCode = new Array<number>(size).fill(0);
  let missing = 0;
  for (const code of codes) {
    if (code === MISSING_CODE) missing++;
    else perCode[code] = (perCode[code] as number) + 1;
  }
  return { perCode, missing };
}

function percent(rate: number): string {
  return `${(rate * 100).toFixed(1)}%`;
}

function quoteList(labels: string[]): string {
  return labels.map((label) => JSON.stringify(label)).join(', ');
}
