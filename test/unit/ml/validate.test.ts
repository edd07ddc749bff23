import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readCsvFile } from '../../../ml/csv';
import { tableFromRows, tableToRows, type Row } from '../../../ml/rows';
import { inferSchema, type DatasetSchema } from '../../../ml/schema';
import { computeStatistics } from '../../../ml/statistics';
import type { Table } from '../../../ml/table';
import {
  assertNoHardAnomalies,
  DataValidationError,
  formatReport,
  validateBatch,
  type Anomaly,
  type ValidationReport,
} from '../../../ml/validate';
import { sharedData as dataDir } from '../../sharedData';

const steelPath = path.join(dataDir, 'steel-energy', 'Steel_industry_data.csv');
const ai4iPath = path.join(dataDir, 'ai4i2020', 'ai4i2020.csv');

let steel: Table;
let schema: DatasetSchema;

beforeAll(async () => {
  steel = await readCsvFile(steelPath);
  schema = inferSchema(steel, computeStatistics(steel));
});

/** The first 1000 steel rows, edited row by row. */
function batch(edit: (row: Row, index: number) => void): Table {
  const rows = tableToRows(steel.slice(0, 1000));
  rows.forEach(edit);
  return tableFromRows(rows);
}

function only(report: ValidationReport, kind: Anomaly['kind']): Anomaly {
  const found = report.anomalies.filter((anomaly) => anomaly.kind === kind);
  expect(found).toHaveLength(1);
  return found[0] as Anomaly;
}

describe('inferSchema', () => {
  it('records ranges, domains and missing rates of the steel data', () => {
    expect(schema.rowCount).toBe(35_040);
    expect(schema.columns.map((column) => column.name)).toEqual(steel.columnNames);
    const usage = schema.columns.find((column) => column.name === 'Usage_kWh');
    expect(usage).toMatchObject({ kind: 'numeric', required: true, missingRate: 0, min: 0, max: 157.18 });
    if (usage?.kind !== 'numeric') throw new Error('Usage_kWh should be numeric');
    expect(usage.expectedRange?.low).toBeCloseTo(2.59, 10);
    expect(usage.expectedRange?.high).toBeCloseTo(122.7083, 10);
    expect(schema.columns.find((column) => column.name === 'Load_Type')).toEqual({
      name: 'Load_Type',
      kind: 'categorical',
      required: true,
      missingRate: 0,
      domain: ['Light_Load', 'Maximum_Load', 'Medium_Load'],
    });
    // 35,040 distinct timestamps: too many to be a domain worth checking.
    expect(schema.columns.find((column) => column.name === 'date')).toMatchObject({ domain: null });
    expect(JSON.parse(JSON.stringify(schema))).toEqual(schema);
  });

  it('infers the ai4i schema without statistics given', async () => {
    const ai4i = inferSchema(await readCsvFile(ai4iPath));
    expect(ai4i.rowCount).toBe(10_000);
    expect(ai4i.columns.find((column) => column.name === 'Type')).toMatchObject({ domain: ['H', 'L', 'M'] });
    expect(ai4i.columns.find((column) => column.name === 'Product ID')).toMatchObject({ domain: null });
    expect(ai4i.columns.find((column) => column.name === 'Rotational speed [rpm]')).toMatchObject({
      min: 1168,
      max: 2886,
      expectedRange: { low: 1275, high: 2188.01 },
    });
  });
});

describe('validateBatch', () => {
  it('finds nothing wrong in a slice of the training data', () => {
    const report = validateBatch(
      schema,
      batch(() => undefined),
    );
    expect(report).toEqual({ rowCount: 1000, anomalies: [] });
    expect(formatReport(report)).toBe('Validated 1000 rows: no anomalies.');
    expect(() => assertNoHardAnomalies(report)).not.toThrow();
  });

  it('reports a missing column as hard', () => {
    const clean = batch(() => undefined);
    const report = validateBatch(schema, clean.select(clean.columnNames.filter((name) => name !== 'NSM')));
    const anomaly = only(report, 'missing_column');
    expect(anomaly).toMatchObject({
      column: 'NSM',
      severity: 'hard',
      count: 1000,
      total: 1000,
      examples: [],
    });
    expect(anomaly.message).toMatch(
      /^the schema requires column "NSM" but the batch has none; it has: date, /,
    );
    expect(report.anomalies).toHaveLength(1);
  });

  it('reports text in a numeric column as wrong_type, counting the text values', () => {
    const report = validateBatch(
      schema,
      batch((row, i) => {
        if (i >= 5 && i <= 7) row.Usage_kWh = 'abc';
        if (i === 8) row.Usage_kWh = 'n/a?';
      }),
    );
    expect(report.anomalies).toHaveLength(1);
    expect(only(report, 'wrong_type')).toEqual({
      column: 'Usage_kWh',
      kind: 'wrong_type',
      severity: 'hard',
      count: 4,
      total: 1000,
      examples: ['abc', 'n/a?'],
      message: 'column "Usage_kWh" must be numeric but 4 of 1000 values are text, e.g. "abc", "n/a?"',
    });
  });

  it('reports categories never seen in training, most frequent first', () => {
    const report = validateBatch(
      schema,
      batch((row, i) => {
        if (i >= 1 && i <= 5) row.Load_Type = 'Overload';
        if (i === 6 || i === 7) row.Load_Type = 'Idle';
      }),
    );
    expect(report.anomalies).toHaveLength(1);
    expect(only(report, 'unseen_category')).toEqual({
      column: 'Load_Type',
      kind: 'unseen_category',
      severity: 'soft',
      count: 7,
      total: 1000,
      examples: ['Overload', 'Idle'],
      exampleCounts: [5, 2],
      message: '7 of 1000 values are 2 categories not seen in training: "Overload" x5, "Idle" x2',
    });
  });

  it('reports a jump of the missing rate, soft then hard', () => {
    const soft = validateBatch(
      schema,
      batch((row, i) => {
        if (i < 300) row.Lagging_Current_Power_Factor = null;
      }),
    );
    expect(only(soft, 'missing_rate')).toMatchObject({
      column: 'Lagging_Current_Power_Factor',
      severity: 'soft',
      count: 300,
      total: 1000,
      message: 'missing in 30.0% of rows (300 of 1000) against 0.0% in training',
    });
    const hard = validateBatch(
      schema,
      batch((row, i) => {
        if (i < 600) row.Lagging_Current_Power_Factor = null;
      }),
    );
    expect(only(hard, 'missing_rate')).toMatchObject({ severity: 'hard', count: 600 });
    // Below the allowed rise: nothing.
    const fine = batch((row, i) => {
      if (i < 90) row.Lagging_Current_Power_Factor = null;
    });
    expect(validateBatch(schema, fine).anomalies).toEqual([]);
  });

  it('reports values far outside the training range, within the margin not', () => {
    const report = validateBatch(
      schema,
      batch((row, i) => {
        if (i === 10) row.Usage_kWh = 1000;
        if (i === 20) row.Usage_kWh = 500;
        if (i === 30) row.Usage_kWh = 200;
        if (i === 40) row.Usage_kWh = -500;
        if (i === 50) row.Usage_kWh = 190; // under 157.18 + 0.25 x 157.18
      }),
    );
    expect(report.anomalies).toHaveLength(1);
    const anomaly = only(report, 'out_of_range');
    expect(anomaly).toMatchObject({
      column: 'Usage_kWh',
      severity: 'soft',
      count: 4,
      total: 1000,
      examples: [1000, 500, 200, -500],
    });
    expect(anomaly.message).toMatch(
      /^4 of 1000 values outside \[-39\.29\d*, 196\.47\d*\] .*: 1 below, 3 above/,
    );
  });

  it('notes unexpected columns as soft', () => {
    const report = validateBatch(
      schema,
      batch((row) => {
        row.operator = 'A';
      }),
    );
    expect(only(report, 'unexpected_column')).toMatchObject({ column: 'operator', severity: 'soft' });
    expect(() => assertNoHardAnomalies(report)).not.toThrow();
  });

  it('compares a categorical schema column arriving as numbers by its text', () => {
    const shifts = inferSchema(tableFromRows([{ shift: '1' }, { shift: '2' }], { shift: 'categorical' }));
    const report = validateBatch(
      shifts,
      tableFromRows([{ shift: 1 }, { shift: 3 }, { shift: 3 }, { shift: 2 }]),
    );
    expect(only(report, 'unseen_category')).toMatchObject({ count: 2, examples: ['3'], exampleCounts: [2] });
    expect(report.anomalies).toHaveLength(1);
  });
});

describe('assertNoHardAnomalies and formatReport', () => {
  it('throws a DataValidationError listing every hard anomaly on its own line', () => {
    const bad = batch((row, i) => {
      if (i === 0) row.Usage_kWh = 'abc';
      if (i === 1) row.Load_Type = 'Overload';
    });
    const report = validateBatch(schema, bad.select(bad.columnNames.filter((name) => name !== 'NSM')));
    let caught: unknown;
    try {
      assertNoHardAnomalies(report);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(DataValidationError);
    const error = caught as DataValidationError;
    expect(error.report).toBe(report);
    expect(error.message.split('\n')).toEqual([
      'The batch of 1000 rows failed validation with 2 hard anomalies:',
      '  - wrong_type in "Usage_kWh": column "Usage_kWh" must be numeric but 1 of 1000 values are text, e.g. "abc"',
      expect.stringMatching(
        /^ {2}- missing_column in "NSM": the schema requires column "NSM" but the batch has none/,
      ),
    ]);
    const text = formatReport(report).split('\n');
    expect(text[0]).toBe('Validated 1000 rows: 2 hard, 1 soft anomalies.');
    expect(text[1]).toMatch(/^ {2}HARD {2}wrong_type {8}Usage_kWh: /);
    expect(text[3]).toMatch(/^ {2}soft {2}unseen_category {3}Load_Type: 1 of 1000 values/);
  });
});
