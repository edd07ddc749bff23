import { describe, expect, it } from 'vitest';
import { columnFromValues, tableFromRows, tableToRows } from '../../../ml/rows';
import { MISSING_CODE } from '../../../ml/table';

describe('tableFromRows', () => {
  it('infers kinds: numbers and numeric strings numeric, text categorical, blanks missing', () => {
    const table = tableFromRows([
      { press: 'P1', kwh: 3.5, shift: '2', note: 'ok' },
      { press: 'P2', kwh: '4', shift: 1, note: null },
      { press: 'P1', kwh: null, shift: undefined, note: '' },
      { press: '', kwh: Number.NaN, shift: ' 3 ', note: 'late' },
    ]);
    expect(table.columnNames).toEqual(['press', 'kwh', 'shift', 'note']);
    expect(table.numeric('kwh').values).toEqual(new Float64Array([3.5, 4, Number.NaN, Number.NaN]));
    expect(table.numeric('shift').values).toEqual(new Float64Array([2, 1, Number.NaN, 3]));
    const press = table.categorical('press');
    expect(press.dictionary).toEqual(['P1', 'P2']);
    expect(Array.from(press.codes)).toEqual([0, 1, 0, MISSING_CODE]);
    expect(Array.from(table.categorical('note').codes)).toEqual([0, MISSING_CODE, MISSING_CODE, 1]);
  });

  it('takes the union of keys; a key absent from a row is missing', () => {
    const table = tableFromRows([{ a: 1 }, { b: 'x' }, { a: 3, b: 'y' }]);
    expect(table.columnNames).toEqual(['a', 'b']);
    expect(table.numeric('a').values).toEqual(new Float64Array([1, Number.NaN, 3]));
    expect(Array.from(table.categorical('b').codes)).toEqual([MISSING_CODE, 0, 1]);
  });

  it('makes a column mixing text and numbers categorical, numbers as their text', () => {
    const column = tableFromRows([{ id: 12 }, { id: 'A7' }, { id: '007' }, { id: 12 }]).categorical('id');
    expect(column.dictionary).toEqual(['12', 'A7', '007']);
    expect(Array.from(column.codes)).toEqual([0, 1, 2, 0]);
  });

  it('honours forced kinds', () => {
    const table = tableFromRows(
      [
        { shift: 1, code: '007' },
        { shift: 2, code: '12' },
      ],
      {
        shift: 'categorical',
        code: 'categorical',
      },
    );
    expect(table.categorical('shift').dictionary).toEqual(['1', '2']);
    expect(table.categorical('code').dictionary).toEqual(['007', '12']);
    const numeric = tableFromRows([{ v: '1.5' }, { v: 2 }], { v: 'numeric' });
    expect(numeric.numeric('v').values).toEqual(new Float64Array([1.5, 2]));
  });

  it('names the row index and the column when a column forced numeric holds text', () => {
    expect(() => tableFromRows([{ v: 1 }, { v: 2 }, { v: 'abc' }], { v: 'numeric' })).toThrow(
      'Column "v" is numeric but row 2 holds "abc"; fix the value or let the column be categorical',
    );
  });

  it('rejects objects as cells and unknown names in kinds', () => {
    expect(() => tableFromRows([{ a: 1 }, { a: { nested: true } }])).toThrow(
      'Column "a", row 1: a object cannot be a table cell; flatten it to a number or a string',
    );
    expect(() => tableFromRows([{ a: 1 }], { b: 'numeric' })).toThrow(
      /kinds names b but no row has such a column/,
    );
  });

  it('turns booleans and dates into category labels', () => {
    const table = tableFromRows([
      { ok: true, at: new Date('2024-03-01T08:00:00Z') },
      { ok: false, at: null },
    ]);
    expect(table.categorical('ok').dictionary).toEqual(['true', 'false']);
    expect(table.value('at', 0)).toBe('2024-03-01T08:00:00.000Z');
  });

  it('builds the columns from kinds when there are no rows', () => {
    const table = tableFromRows([], { a: 'numeric', b: 'categorical' });
    expect(table.rowCount).toBe(0);
    expect(table.columns.map((column) => column.kind)).toEqual(['numeric', 'categorical']);
  });
});

describe('tableToRows', () => {
  it('writes missing cells as null and round-trips through JSON', () => {
    const rows = [
      { press: 'P1', kwh: 3.5 },
      { press: null, kwh: null },
      { press: 'P2', kwh: -1 },
    ];
    const table = tableFromRows(rows);
    expect(tableToRows(table)).toEqual(rows);
    const again = tableFromRows(JSON.parse(JSON.stringify(tableToRows(table))) as Record<string, unknown>[]);
    expect(again.columns).toEqual(table.columns);
  });
});

describe('columnFromValues', () => {
  it('keeps infinities in a numeric column of numbers', () => {
    const column = columnFromValues('x', [1, Number.POSITIVE_INFINITY, null]);
    expect(column).toEqual({
      kind: 'numeric',
      name: 'x',
      values: new Float64Array([1, Number.POSITIVE_INFINITY, Number.NaN]),
    });
  });
});
