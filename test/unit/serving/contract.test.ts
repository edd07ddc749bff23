import { describe, expect, it } from 'vitest';
import type { Feature } from '../../../ml/model';
import { checkRows, modelInputs, prepareRows, unknownColumns } from '../../../serving/contract';

const features: Feature[] = [
  { kind: 'numeric', name: 'thickness_mm' },
  { kind: 'categorical', name: 'material_family', categories: ['mild_steel', 'stainless_steel'] },
  { kind: 'categorical', name: 'operator_count', categories: ['1', '2'] },
];

describe('checkRows', () => {
  it("accepts numbers, categories as text, numbers or booleans, null for unknown values (extra columns are unknownColumns's)", () => {
    const rows = [
      { thickness_mm: 3, material_family: 'mild_steel', operator_count: 2, job_id: 'extra' },
      { thickness_mm: null, material_family: null, operator_count: '1' },
      { thickness_mm: 0, material_family: 'titanium', operator_count: true },
    ];
    expect(checkRows(rows, [features], 'rows')).toEqual([]);
  });

  it('names each missing column and wrong type by row and column, with what to send', () => {
    const issues = checkRows(
      [
        { material_family: 'mild_steel', operator_count: 1 },
        { thickness_mm: '3.5', material_family: { family: 'steel' }, operator_count: 1 },
        { thickness_mm: true, material_family: [], operator_count: 1 },
      ],
      [features],
      'rows',
    );
    expect(issues).toEqual([
      {
        field: 'rows[0].thickness_mm',
        reason: 'is missing: the model takes this column (a number); send null for an unknown value',
      },
      {
        field: 'rows[1].thickness_mm',
        reason: 'must be a JSON number, got text ("3.5"): send 3.5 without quotes',
      },
      { field: 'rows[1].material_family', reason: 'must be a category (text), got an object' },
      { field: 'rows[2].thickness_mm', reason: 'must be a number, got a boolean (true)' },
      { field: 'rows[2].material_family', reason: 'must be a category (text), got a list' },
    ]);
  });

  it('names fields of a single row as row.<column>', () => {
    expect(checkRows([{ material_family: 'x', operator_count: 1 }], [features], 'row')[0]?.field).toBe(
      'row.thickness_mm',
    );
  });

  it('checks against every contract given (production and canary), so routing never decides validity', () => {
    const canary: Feature[] = [...features, { kind: 'numeric', name: 'laser_power_kw' }];
    const row = { thickness_mm: 3, material_family: 'mild_steel', operator_count: 1 };
    expect(checkRows([row], [features], 'rows')).toEqual([]);
    expect(checkRows([row], [features, canary], 'rows').map((issue) => issue.field)).toEqual([
      'rows[0].laser_power_kw',
    ]);
  });
});

describe('prepareRows', () => {
  it('builds the table in the model order and warns once per unseen category', () => {
    const prepared = prepareRows(
      [
        { material_family: 'titanium', thickness_mm: 2, operator_count: 3 },
        { material_family: 'mild_steel', thickness_mm: null, operator_count: 1 },
        { material_family: ' ', thickness_mm: 1, operator_count: null },
      ],
      features,
    );
    expect(prepared.table.columnNames).toEqual(['thickness_mm', 'material_family', 'operator_count']);
    expect(prepared.table.rowCount).toBe(3);
    expect(prepared.warnings[0]).toEqual([
      {
        column: 'material_family',
        value: 'titanium',
        message:
          '"titanium" was never seen by this model in material_family; scored as a missing value, so treat the ' +
          'prediction with care (known: "mild_steel", "stainless_steel")',
      },
      { column: 'operator_count', value: 3, message: expect.stringMatching(/^"3" was never seen/) as string },
    ]);
    // A blank category is a missing value, not an unseen one.
    expect(prepared.warnings.slice(1)).toEqual([[], []]);
    expect(prepared.unseen).toEqual([
      { column: 'material_family', mapped: false },
      { column: 'operator_count', mapped: false },
    ]);
  });

  it('applies a taught mapping before scoring and says so in the warning', () => {
    const mappings = new Map([
      [
        'material_family',
        new Map([
          ['titanium', 'stainless_steel'],
          ['copper', 'gold'],
        ]),
      ],
    ]);
    const prepared = prepareRows(
      [
        { material_family: 'titanium', thickness_mm: 2, operator_count: 1 },
        { material_family: 'copper', thickness_mm: 2, operator_count: 1 },
      ],
      features,
      mappings,
    );
    const column = prepared.table.categorical('material_family');
    const labels = Array.from(column.codes, (code) => column.dictionary[code]);
    expect(labels).toEqual(['stainless_steel', 'copper']);
    expect(prepared.warnings[0]?.[0]?.message).toBe(
      '"titanium" was never seen by this model in material_family; scored as "stainless_steel", as a taught category mapping says',
    );
    // A mapping to a category this model never saw either is ignored, and the warning says why.
    expect(prepared.warnings[1]?.[0]?.message).toMatch(
      /"copper" was never seen .*its taught mapping to "gold" was ignored: this model never saw that either.*missing value/,
    );
    expect(prepared.unseen).toEqual([
      { column: 'material_family', mapped: true },
      { column: 'material_family', mapped: false },
    ]);
  });
});

describe('unknownColumns and modelInputs', () => {
  const columns = new Set(['thickness_mm', 'material_family']);

  it('names each column no served version takes, by row', () => {
    const rows: Record<string, unknown>[] = [
      { thickness_mm: 3, material_family: 'mild_steel', job_id: 'J-1' },
      { thickness_mm: 3, material_family: 'mild_steel' },
      { thickness_mm: 3, notes: [[1]], constructor: 1 },
    ];
    const reason =
      'is not a column this model takes: leave it out (the model takes thickness_mm, material_family)';
    expect(unknownColumns(rows, columns, 'rows')).toEqual([
      { field: 'rows[0].job_id', reason },
      { field: 'rows[2].notes', reason },
      { field: 'rows[2].constructor', reason },
    ]);
    expect(unknownColumns([{ shift: 'early' }], columns, 'row')).toEqual([{ field: 'row.shift', reason }]);
  });

  it('keeps only the model columns a row has, in the model order', () => {
    expect(modelInputs({ material_family: 'x', thickness_mm: 2, job_id: 'J' }, columns)).toEqual({
      thickness_mm: 2,
      material_family: 'x',
    });
    expect(Object.keys(modelInputs({ material_family: null }, columns))).toEqual(['material_family']);
  });

  it('refuses a non-finite number in a numeric column', () => {
    expect(
      checkRows([{ thickness_mm: Infinity, material_family: null, operator_count: null }], [features], 'row'),
    ).toEqual([{ field: 'row.thickness_mm', reason: 'must be a finite number, got Infinity' }]);
  });
});
