import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CsvError, parseCsv, parseCsvBytes, readCsv, readCsvFile } from '../../../ml/csv';
import { tableToRows } from '../../../ml/rows';
import { MISSING_CODE } from '../../../ml/table';
import { ai4iCsv as ai4iPath, steelEnergyCsv as steelPath } from '../../sharedData';

const scratch = mkdtempSync(path.join(tmpdir(), 'kerf-csv-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function writeScratch(name: string, content: string | Uint8Array): string {
  const file = path.join(scratch, name);
  writeFileSync(file, content);
  return file;
}

/** A byte source that hands out `size`-byte chunks and counts how often it was opened. */
function chunked(text: string, size: number): { open: () => AsyncIterable<Uint8Array>; opens: () => number } {
  const bytes = new TextEncoder().encode(text);
  let opens = 0;
  return {
    open: () => {
      opens++;
      return (async function* () {
        for (let i = 0; i < bytes.length; i += size) {
          await Promise.resolve();
          yield bytes.subarray(i, i + size);
        }
      })();
    },
    opens: () => opens,
  };
}

function csvError(run: () => unknown): CsvError {
  try {
    run();
  } catch (error) {
    if (error instanceof CsvError) return error;
    throw error;
  }
  throw new Error('expected a CsvError');
}

describe('readCsvFile on the real data', () => {
  it('reads the steel file with the right kinds and values', async () => {
    const table = await readCsvFile(steelPath);
    expect(table.rowCount).toBe(35_040);
    expect(table.columnNames).toEqual([
      'date',
      'Usage_kWh',
      'Lagging_Current_Reactive.Power_kVarh',
      'Leading_Current_Reactive_Power_kVarh',
      'CO2(tCO2)',
      'Lagging_Current_Power_Factor',
      'Leading_Current_Power_Factor',
      'NSM',
      'WeekStatus',
      'Day_of_week',
      'Load_Type',
    ]);
    expect(table.columns.map((column) => column.kind)).toEqual([
      'categorical',
      'numeric',
      'numeric',
      'numeric',
      'numeric',
      'numeric',
      'numeric',
      'numeric',
      'categorical',
      'categorical',
      'categorical',
    ]);
    expect(table.categorical('Load_Type').dictionary).toEqual(['Light_Load', 'Medium_Load', 'Maximum_Load']);
    expect(table.categorical('WeekStatus').dictionary).toEqual(['Weekday', 'Weekend']);
    expect(table.categorical('Day_of_week').dictionary).toHaveLength(7);
    expect(table.categorical('date').dictionary).toHaveLength(35_040);
    expect(table.value('Usage_kWh', 0)).toBe(3.17);
    expect(table.value('NSM', 0)).toBe(900);
    expect(table.value('date', 0)).toBe('01/01/2018 0:15');
    expect(table.value('Lagging_Current_Power_Factor', 100)).toBe(63.6);
    expect(table.value('date', 35_039)).toBe('31/12/2018 00:00');
    expect(table.value('Leading_Current_Reactive_Power_kVarh', 35_039)).toBe(0.07);
  });

  it('reads ai4i with Type as a categorical L/M/H column', async () => {
    const table = await readCsvFile(ai4iPath);
    expect(table.rowCount).toBe(10_000);
    expect(table.categorical('Type').dictionary).toEqual(['M', 'L', 'H']);
    expect(table.categorical('Product ID').dictionary).toHaveLength(10_000);
    expect(table.numeric('UDI').values[9_999]).toBe(10_000);
    expect(table.value('Air temperature [K]', 0)).toBe(298.1);
    expect(table.numeric('Machine failure').values.reduce((a, b) => a + b, 0)).toBe(339);
  });

  it('keeps only the requested columns, in that order, and forces kinds', async () => {
    const table = await readCsvFile(steelPath, {
      columns: ['Load_Type', 'NSM'],
      kinds: { NSM: 'categorical' },
    });
    expect(table.columnNames).toEqual(['Load_Type', 'NSM']);
    const nsm = table.categorical('NSM');
    expect(nsm.dictionary).toHaveLength(96);
    expect(nsm.dictionary.slice(0, 3)).toEqual(['900', '1800', '2700']);
  });

  it('names the file and the missing column when asked for a column that is not there', async () => {
    await expect(readCsvFile(steelPath, { columns: ['Usage_kwh'] })).rejects.toThrow(
      /Steel_industry_data\.csv: No column "Usage_kwh" in the header; it has: date, Usage_kWh/,
    );
  });
});

describe('parseCsv', () => {
  it('handles quotes, escaped quotes, commas and newlines in quotes, CRLF and a BOM', () => {
    const text =
      '\uFEFFid,note,value\r\n1,"a, b",2.5\r\n2,"say ""hi""",3\r\n3,"two\r\nlines",\r\n4,plain,-1e3';
    const table = parseCsv(text);
    expect(table.columnNames).toEqual(['id', 'note', 'value']);
    expect(table.categorical('note').dictionary).toEqual(['a, b', 'say "hi"', 'two\r\nlines', 'plain']);
    expect(Array.from(table.numeric('value').values)).toEqual([2.5, 3, Number.NaN, -1000]);
    expect(Array.from(table.numeric('id').values)).toEqual([1, 2, 3, 4]);
  });

  it('reads blanks and NA-like texts as missing, skips blank lines, trims numbers', () => {
    const table = parseCsv('x,y\n 3 ,a\n,NA\n\nNaN,\nnull,b\n   ,null\n7,a\n');
    expect(Array.from(table.numeric('x').values)).toEqual([
      3,
      Number.NaN,
      Number.NaN,
      Number.NaN,
      Number.NaN,
      7,
    ]);
    const y = table.categorical('y');
    expect(y.dictionary).toEqual(['a', 'b']);
    expect(Array.from(y.codes)).toEqual([0, MISSING_CODE, MISSING_CODE, 1, MISSING_CODE, 0]);
  });

  it('makes a column categorical when one value is text, keeping the text of earlier numbers', () => {
    const table = parseCsv('code,n\n007,1\n12,2\nA12,3\n007,4\n');
    const code = table.categorical('code');
    expect(code.dictionary).toEqual(['007', '12', 'A12']);
    expect(Array.from(code.codes)).toEqual([0, 1, 2, 0]);
    expect(table.numeric('n').values).toEqual(new Float64Array([1, 2, 3, 4]));
    // Infinity is not a finite number: text.
    expect(parseCsv('v\n1\nInfinity\n').column('v').kind).toBe('categorical');
  });

  it('gives a header-only file zero rows and an empty file an error', () => {
    const table = parseCsv('a,b\n');
    expect(table.rowCount).toBe(0);
    expect(table.columnNames).toEqual(['a', 'b']);
    expect(() => parseCsv('')).toThrow(/The CSV is empty/);
  });
});

describe('readCsv in chunks', () => {
  const text =
    'name,price,city\r\n"Müller, K.",12.5,Zürich\r\n"quote ""€""",7,"a\nb"\r\nplain,,😀\r\n"x",1e2,"end"';

  it('gives the same table whatever the chunk size', async () => {
    const expected = tableToRows(parseCsv(text));
    expect(expected).toEqual([
      { name: 'Müller, K.', price: 12.5, city: 'Zürich' },
      { name: 'quote "€"', price: 7, city: 'a\nb' },
      { name: 'plain', price: null, city: '😀' },
      { name: 'x', price: 100, city: 'end' },
    ]);
    for (const size of [1, 2, 3, 5, 7, 64]) {
      const source = chunked(text, size);
      expect(tableToRows(await readCsv(source.open))).toEqual(expected);
      expect(source.opens()).toBe(1);
    }
  });

  it('counts CRLF line ends split across chunks once', async () => {
    const ragged = 'a,b\r\n1,"x\r\ny"\r\n2,3\r\n4,5,6\r\n';
    for (const size of [1, 2, 3, 4, 5]) {
      await expect(readCsv(chunked(ragged, size).open)).rejects.toThrow(
        /^Line 5 has 3 fields but the header has 2/,
      );
    }
  });

  it('reads the source a second time only when a column turns to text after numbers', async () => {
    const source = chunked('a,b\n1,x\n2,y\nthree,z\n', 4);
    const table = await readCsv(source.open);
    expect(source.opens()).toBe(2);
    expect(table.categorical('a').dictionary).toEqual(['1', '2', 'three']);
    expect(table.categorical('b').dictionary).toEqual(['x', 'y', 'z']);
  });
});

describe('CSV errors', () => {
  it('names the line and the field counts of a ragged row (lines, not records)', () => {
    const error = csvError(() => parseCsv('a,b\n1,"x\ny"\n2,3,4\n5,6\n'));
    expect(error.line).toBe(4);
    expect(error.message).toMatch(/^Line 4 has 3 fields but the header has 2;/);
    expect(() => parseCsv('a,b,c\n1,2,3\n4,5\n')).toThrow(/Line 3 has 2 fields but the header has 3/);
  });

  it('names duplicate and empty header names', () => {
    expect(() => parseCsv('a,b,a,c,b\n1,2,3,4,5\n')).toThrow(/duplicate column names "a", "b"; rename them/);
    expect(() => parseCsv('a,,c\n1,2,3\n')).toThrow(/column 2 has no name/);
  });

  it('names the line where an unterminated quoted field started', () => {
    const error = csvError(() => parseCsv('a,b\n1,2\n3,"abc\n4,5\n'));
    expect(error.line).toBe(3);
    expect(error.message).toMatch(/^Line 3: a quoted field starting here is never closed/);
  });

  it('rejects a stray character after a closing quote', () => {
    expect(() => parseCsv('a,b\n"x"y,1\n')).toThrow(/Line 2: unexpected "y" after the closing quote/);
  });

  it('names column, line and value when a column forced numeric holds text', () => {
    const error = csvError(() => parseCsv('a,b\n1,2\n3,x7\n', { kinds: { b: 'numeric' } }));
    expect(error.line).toBe(3);
    expect(error.message).toBe(
      'Column "b" is forced numeric but line 3 holds "x7"; fix the value, or let the column be categorical.',
    );
  });

  it('says a file is not UTF-8, where, and how to convert it', async () => {
    const bytes = Uint8Array.from([
      ...new TextEncoder().encode('a,b\n1,ok\n2,'),
      0xff,
      0xfe,
      ...new TextEncoder().encode('x\n'),
    ]);
    const file = writeScratch('latin1.csv', bytes);
    await expect(readCsvFile(file)).rejects.toThrow(
      /latin1\.csv: The file is not UTF-8: invalid byte 0xff on line 3\. Convert it to UTF-8 first, e\.g\. `iconv/,
    );
    const error = csvError(() => parseCsvBytes(bytes));
    expect(error.line).toBe(3);
  });

  it('rejects a file that errs after many good rows without returning a table', async () => {
    const good = Array.from({ length: 50_000 }, (_, i) => `${i},${i % 7}`).join('\n');
    const file = writeScratch('late.csv', `a,b\n${good}\n1,2,3\n`);
    await expect(readCsvFile(file)).rejects.toThrow(
      /late\.csv: Line 50002 has 3 fields but the header has 2/,
    );
  });
});
