/**
 * Columnar tables on typed arrays: the one data shape the ML core passes around.
 * Numbers are Float64Array with NaN for missing; categories are dictionary-encoded Int32Array
 * codes with -1 for missing. Memory grows with rows x columns in bytes, not objects per cell.
 */

/** A numeric column; NaN marks a missing value. */
export interface NumericColumn {
  kind: 'numeric';
  name: string;
  values: Float64Array;
}

/** A categorical column; `codes[i]` indexes `dictionary`, -1 marks a missing value. */
export interface CategoricalColumn {
  kind: 'categorical';
  name: string;
  codes: Int32Array;
  /** Distinct category labels in order of first appearance. */
  dictionary: string[];
}

export type Column = NumericColumn | CategoricalColumn;
export type ColumnKind = Column['kind'];

/** Missing code of a categorical column. */
export const MISSING_CODE = -1;

export class Table {
  readonly rowCount: number;
  private readonly byName: Map<string, Column>;

  constructor(readonly columns: readonly Column[]) {
    const first = columns[0];
    this.rowCount = first ? columnLength(first) : 0;
    this.byName = new Map();
    for (const column of columns) {
      if (this.byName.has(column.name)) throw new Error(`Duplicate column "${column.name}" in table`);
      if (columnLength(column) !== this.rowCount) {
        throw new Error(
          `Column "${column.name}" has ${columnLength(column)} rows but the table has ${this.rowCount}`,
        );
      }
      this.byName.set(column.name, column);
    }
  }

  get columnNames(): string[] {
    return this.columns.map((column) => column.name);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  column(name: string): Column {
    const column = this.byName.get(name);
    if (!column) throw new Error(`No column "${name}"; the table has: ${this.columnNames.join(', ')}`);
    return column;
  }

  numeric(name: string): NumericColumn {
    const column = this.column(name);
    if (column.kind !== 'numeric') throw new Error(`Column "${name}" is categorical, not numeric`);
    return column;
  }

  categorical(name: string): CategoricalColumn {
    const column = this.column(name);
    if (column.kind !== 'categorical') throw new Error(`Column "${name}" is numeric, not categorical`);
    return column;
  }

  /** The rows in [start, end), sharing no memory with this table. */
  slice(start: number, end: number): Table {
    return new Table(
      this.columns.map((column) =>
        column.kind === 'numeric'
          ? { ...column, values: column.values.slice(start, end) }
          : { ...column, codes: column.codes.slice(start, end), dictionary: [...column.dictionary] },
      ),
    );
  }

  /** The rows at the given indices, in that order. */
  take(indices: ArrayLike<number>): Table {
    const n = indices.length;
    return new Table(
      this.columns.map((column) => {
        if (column.kind === 'numeric') {
          const values = new Float64Array(n);
          for (let i = 0; i < n; i++) values[i] = column.values[indices[i] as number] as number;
          return { ...column, values };
        }
        const codes = new Int32Array(n);
        for (let i = 0; i < n; i++) codes[i] = column.codes[indices[i] as number] as number;
        return { ...column, codes, dictionary: [...column.dictionary] };
      }),
    );
  }

  /** A table with only the named columns, in that order. */
  select(names: readonly string[]): Table {
    return new Table(names.map((name) => this.column(name)));
  }

  /** Category label or number of one cell; undefined when missing. */
  value(name: string, row: number): number | string | undefined {
    const column = this.column(name);
    if (column.kind === 'numeric') {
      const value = column.values[row];
      return value === undefined || Number.isNaN(value) ? undefined : value;
    }
    const code = column.codes[row] ?? MISSING_CODE;
    return code === MISSING_CODE ? undefined : column.dictionary[code];
  }
}

export function columnLength(column: Column): number {
  return column.kind === 'numeric' ? column.values.length : column.codes.length;
}

/** Gives category labels their codes in order of first appearance (the dictionary of a column). */
export class CategoryDictionary {
  /** Labels by code. */
  readonly labels: string[] = [];
  private readonly codes = new Map<string, number>();

  /** The label's code, adding the label when it is new. */
  codeOf(label: string): number {
    let code = this.codes.get(label);
    if (code === undefined) {
      code = this.labels.length;
      this.labels.push(label);
      this.codes.set(label, code);
    }
    return code;
  }
}

/** Builds a categorical column from labels; null/undefined/'' are missing. */
export function categoricalFromLabels(
  name: string,
  labels: readonly (string | null | undefined)[],
): CategoricalColumn {
  const dictionary = new CategoryDictionary();
  const codes = Int32Array.from(labels, (label) =>
    label === null || label === undefined || label === '' ? MISSING_CODE : dictionary.codeOf(label),
  );
  return { kind: 'categorical', name, codes, dictionary: dictionary.labels };
}

/** Builds a numeric column; null/undefined are missing. */
export function numericFromValues(
  name: string,
  values: readonly (number | null | undefined)[],
): NumericColumn {
  return { kind: 'numeric', name, values: Float64Array.from(values, (value) => value ?? Number.NaN) };
}
