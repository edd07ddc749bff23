/**
 * Between row objects (JSON, database rows) and the columnar Table. A column is numeric when its
 * values are numbers or numeric strings, categorical otherwise; `kinds` can force either.
 */
import { CategoryDictionary, MISSING_CODE, Table, type Column, type ColumnKind } from './table';

/** One row as plain JSON: missing cells are null. */
export type Row = Record<string, number | string | null>;

/**
 * Builds a table from row objects. Columns are the union of the rows' keys in order of first
 * appearance; an absent key, null, undefined, NaN and blank strings are missing.
 *
 * @throws when a column forced numeric holds text, or a cell is an object (names row and column)
 */
export function tableFromRows(
  rows: readonly Record<string, unknown>[],
  kinds: Record<string, ColumnKind> = {},
): Table {
  const names: string[] = [];
  const seen = new Set<string>();
  for (const row of rows) {
    for (const name of Object.keys(row)) {
      if (!seen.has(name)) {
        seen.add(name);
        names.push(name);
      }
    }
  }
  // Without rows, `kinds` is the only place the columns can come from.
  if (rows.length === 0) names.push(...Object.keys(kinds));
  const unknown = Object.keys(kinds).filter((name) => !seen.has(name));
  if (unknown.length > 0 && rows.length > 0) {
    throw new Error(
      `kinds names ${unknown.join(', ')} but no row has such a column; columns: ${names.join(', ')}`,
    );
  }
  return new Table(
    names.map((name) =>
      columnFromValues(
        name,
        rows.map((row) => row[name]),
        kinds[name],
      ),
    ),
  );
}

/** The table as row objects; missing cells are null so the rows survive JSON. */
export function tableToRows(table: Table): Row[] {
  const rows: Row[] = Array.from({ length: table.rowCount }, () => ({}));
  for (const column of table.columns) {
    if (column.kind === 'numeric') {
      column.values.forEach((value, i) => {
        (rows[i] as Row)[column.name] = Number.isNaN(value) ? null : value;
      });
    } else {
      column.codes.forEach((code, i) => {
        (rows[i] as Row)[column.name] = code === MISSING_CODE ? null : (column.dictionary[code] ?? null);
      });
    }
  }
  return rows;
}

/**
 * Builds one column from loose values (see `tableFromRows` for the rules). Errors name the value's
 * index as "row i" (0-based), which is the index in the caller's array.
 */
export function columnFromValues(name: string, values: ArrayLike<unknown>, kind?: ColumnKind): Column {
  const n = values.length;
  let inferred: ColumnKind = kind ?? 'numeric';
  if (kind === undefined) {
    for (let i = 0; i < n; i++) {
      const cell = cellOf(values[i], name, i);
      if (typeof cell === 'string' && !Number.isFinite(numberOf(cell))) {
        inferred = 'categorical';
        break;
      }
    }
  }
  if (inferred === 'numeric') {
    const numbers = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const cell = cellOf(values[i], name, i);
      const value = typeof cell === 'string' ? numberOf(cell) : (cell ?? Number.NaN);
      if (cell !== undefined && Number.isNaN(value)) {
        throw new Error(
          `Column "${name}" is numeric but row ${i} holds ${JSON.stringify(cell)}; fix the value or let the column be categorical`,
        );
      }
      numbers[i] = value;
    }
    return { kind: 'numeric', name, values: numbers };
  }
  const codes = new Int32Array(n);
  const dictionary = new CategoryDictionary();
  for (let i = 0; i < n; i++) {
    const cell = cellOf(values[i], name, i);
    codes[i] = cell === undefined ? MISSING_CODE : dictionary.codeOf(String(cell));
  }
  return { kind: 'categorical', name, codes, dictionary: dictionary.labels };
}

/** A cell as a number, a string, or undefined when missing. */
function cellOf(value: unknown, name: string, row: number): number | string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'number') return Number.isNaN(value) ? undefined : value;
  if (typeof value === 'string') return value.trim() === '' ? undefined : value;
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.toISOString();
  throw new Error(
    `Column "${name}", row ${row}: a ${typeof value} cannot be a table cell; flatten it to a number or a string`,
  );
}

/** A numeric string's value; NaN for text. Infinity is text here, as in CSV files. */
function numberOf(text: string): number {
  const value = Number(text);
  return Number.isFinite(value) ? value : Number.NaN;
}
