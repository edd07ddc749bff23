import { describe, expect, it } from 'vitest';
import { categoricalFromLabels, numericFromValues, Table } from '../../../ml/table';
import {
  labelledRows,
  partSizes,
  SplitError,
  splitLabelledRows,
  splitRows,
  type SplitSpec,
  splitTable,
} from '../../../lifecycle/split';

const ordered = (testFraction: number, validationFraction?: number): SplitSpec => ({
  kind: 'ordered',
  testFraction,
  ...(validationFraction === undefined ? {} : { validationFraction }),
});

const random = (testFraction: number, validationFraction?: number, seed = 42): SplitSpec => ({
  kind: 'random',
  testFraction,
  seed,
  ...(validationFraction === undefined ? {} : { validationFraction }),
});

const range = (start: number, end: number) => Array.from({ length: end - start }, (_, i) => start + i);

function splitError(run: () => unknown): SplitError {
  try {
    run();
  } catch (error) {
    if (error instanceof SplitError) return error;
    throw error;
  }
  throw new Error('expected a SplitError');
}

describe('splitRows, ordered', () => {
  it('tests on the last rows and validates on the rows just before them', () => {
    const rows = splitRows(100, ordered(0.2, 0.1));
    expect(Array.from(rows.train)).toEqual(range(0, 70));
    expect(Array.from(rows.validation)).toEqual(range(70, 80));
    expect(Array.from(rows.test)).toEqual(range(80, 100));
  });

  it('leaves the validation part empty when the spec asks for none', () => {
    const rows = splitRows(10, ordered(0.25));
    // 10 x 0.25 = 2.5 rounds to 3 test rows.
    expect(Array.from(rows.test)).toEqual([7, 8, 9]);
    expect(rows.validation).toHaveLength(0);
    expect(Array.from(rows.train)).toEqual(range(0, 7));
  });

  it('rounds each part to the nearest row', () => {
    expect(partSizes(7, ordered(0.2, 0.3))).toEqual({ train: 4, validation: 2, test: 1 });
    expect(partSizes(1000, ordered(0.15))).toEqual({ train: 850, validation: 0, test: 150 });
  });
});

describe('splitRows, random', () => {
  it('gives each row to exactly one part, the parts sorted and of the ordered sizes', () => {
    const rows = splitRows(500, random(0.2, 0.1, 7));
    expect(rows.train).toHaveLength(350);
    expect(rows.validation).toHaveLength(50);
    expect(rows.test).toHaveLength(100);
    for (const part of [rows.train, rows.validation, rows.test]) {
      expect(Array.from(part)).toEqual(Array.from(part).sort((a, b) => a - b));
    }
    const all = [...rows.train, ...rows.validation, ...rows.test].sort((a, b) => a - b);
    expect(all).toEqual(range(0, 500));
  });

  it('draws the same rows for the same seed and other rows for another', () => {
    const first = splitRows(300, random(0.2, 0.1, 11));
    const again = splitRows(300, random(0.2, 0.1, 11));
    const other = splitRows(300, random(0.2, 0.1, 12));
    expect(Array.from(again.test)).toEqual(Array.from(first.test));
    expect(Array.from(again.validation)).toEqual(Array.from(first.validation));
    expect(Array.from(other.test)).not.toEqual(Array.from(first.test));
  });

  it('samples the test rows from the whole table, not from its end', () => {
    const { test } = splitRows(1000, random(0.2));
    const early = Array.from(test).filter((row) => row < 500).length;
    // A uniform draw puts about half of the 200 test rows in the first half.
    expect(early).toBeGreaterThan(70);
    expect(early).toBeLessThan(130);
  });
});

describe('splitRows, too few rows', () => {
  it('names the row count, what each part would get and how many rows the split needs', () => {
    const error = splitError(() => splitRows(3, ordered(0.1)));
    expect(error.nonRetryable).toBe(true);
    expect(error.message).toContain('Cannot split 3 rows');
    expect(error.message).toContain('test 0 (testFraction 0.1)');
    expect(error.message).toContain('at least 5 rows');
    // ... and 5 rows are indeed enough, 4 are not.
    expect(() => splitRows(5, ordered(0.1))).not.toThrow();
    expect(() => splitRows(4, ordered(0.1))).toThrow(SplitError);
  });

  it('refuses an empty validation part the spec asked for', () => {
    const error = splitError(() => splitRows(8, random(0.25, 0.05)));
    expect(error.message).toContain('validation 0 (validationFraction 0.05)');
    expect(error.message).toMatch(/needs at least 10 rows/);
    expect(splitRows(10, random(0.25, 0.05)).validation).toHaveLength(1);
  });

  it('holds every part to minRowsPerPart', () => {
    const error = splitError(() => splitRows(20, ordered(0.2), { minRowsPerPart: 5 }));
    expect(error.message).toContain('test 4');
    expect(error.message).toContain('at least 5 rows.');
    expect(error.message).toContain('needs at least 23 rows');
    expect(splitRows(23, ordered(0.2), { minRowsPerPart: 5 }).test).toHaveLength(5);
  });

  it('refuses fractions that leave nothing to train on', () => {
    expect(splitError(() => splitRows(100, ordered(0.5, 0.5))).message).toContain(
      'leaves no rows for training',
    );
  });
});

describe('splitTable and splitLabelledRows', () => {
  const table = new Table([
    numericFromValues('cutSeconds', [10, Number.NaN, 12, 13, null, 15, 16, 17, 18, 19]),
    categoricalFromLabels('material', [
      'S235',
      'S355',
      null,
      'S235',
      'AlMg3',
      'S355',
      'S235',
      'S235',
      'AlMg3',
      'S355',
    ]),
  ]);

  it('takes the rows of each part into tables of their own', () => {
    const parts = splitTable(table, ordered(0.2, 0.2));
    expect(parts.train.rowCount).toBe(6);
    expect(parts.test.rowCount).toBe(2);
    expect(parts.test.value('cutSeconds', 1)).toBe(19);
    expect(parts.validation.value('material', 0)).toBe('S235');
    expect(Array.from(parts.rows.validation)).toEqual([6, 7]);
  });

  it('leaves rows without a target out of every part, counting rows of the table', () => {
    expect(Array.from(labelledRows(table, 'cutSeconds'))).toEqual([0, 2, 3, 5, 6, 7, 8, 9]);
    expect(Array.from(labelledRows(table, 'material'))).toEqual([0, 1, 3, 4, 5, 6, 7, 8, 9]);
    const rows = splitLabelledRows(table, 'cutSeconds', ordered(0.25));
    expect(Array.from(rows.test)).toEqual([8, 9]);
    expect(Array.from(rows.train)).toEqual([0, 2, 3, 5, 6, 7]);
  });

  it('says how many rows lack a target when too few are left', () => {
    const sparse = new Table([numericFromValues('cutSeconds', [1, null, null, null, 5])]);
    const error = splitError(() => splitLabelledRows(sparse, 'cutSeconds', ordered(0.2)));
    expect(error.message).toContain('Cannot split 2 rows');
    expect(error.message).toContain('3 of the 5 rows have no target "cutSeconds"');
  });
});
