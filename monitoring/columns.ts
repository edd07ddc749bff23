/**
 * Reading a feature column the way its reference reads it, whatever kind the column arrived as. The
 * training snapshot and the logged prediction inputs are loaded by different code: a machine id can
 * come back as a number one night and as a label the next, and monitoring must not fail on that.
 */
import { type Column, MISSING_CODE, Table } from '../ml/table';

/** Rows of columns: an ml `Table`, or its columns (they must all have the same length). */
export type Columns = Table | readonly Column[];

/** The columns as a `Table`. */
export function asTable(columns: Columns): Table {
  return columns instanceof Table ? columns : new Table(columns);
}

/**
 * The column's values as numbers, NaN for missing. A categorical column's labels are parsed as
 * numbers (`"2.5"` is 2.5); a label that is not a number counts as missing.
 */
export function numericValues(column: Column): Float64Array {
  if (column.kind === 'numeric') return column.values;
  const parsed = column.dictionary.map((label) => (label.trim() === '' ? Number.NaN : Number(label)));
  return Float64Array.from(column.codes, (code) =>
    code === MISSING_CODE ? Number.NaN : (parsed[code] ?? Number.NaN),
  );
}

/** How many rows hold each category label, and how many hold none. */
export interface CategoryTally {
  /** Rows per label, for labels present at least once, in order of first appearance. */
  counts: Map<string, number>;
  missing: number;
  rows: number;
}

/**
 * Counts the rows per category label. A numeric column's values are read as labels (`3` is "3"), so
 * a categorical feature logged as numbers still matches the labels seen at training.
 */
export function tallyCategories(column: Column): CategoryTally {
  const counts = new Map<string, number>();
  let missing = 0;
  if (column.kind === 'numeric') {
    for (const value of column.values) {
      if (Number.isNaN(value)) missing++;
      else {
        const label = String(value);
        counts.set(label, (counts.get(label) ?? 0) + 1);
      }
    }
    return { counts, missing, rows: column.values.length };
  }
  const perCode = new Array<number>(column.dictionary.length).fill(0);
  for (const code of column.codes) {
    if (code === MISSING_CODE) missing++;
    else perCode[code] = (perCode[code] ?? 0) + 1;
  }
  column.dictionary.forEach((label, code) => {
    const count = perCode[code] ?? 0;
    // Two codes may carry the same label when columns were concatenated: they are one category.
    if (count > 0) counts.set(label, (counts.get(label) ?? 0) + count);
  });
  return { counts, missing, rows: column.codes.length };
}
