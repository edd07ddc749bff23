/**
 * Table <-> arquero, so filters, derived columns and orderings can be written with arquero verbs.
 * Numeric columns travel as Float64Array (NaN is missing; arquero's op.valid treats NaN as invalid).
 * Categorical columns travel as a dictionary-backed column that arquero reads cell by cell, so the
 * codes are not expanded into one string per row; coming back, the codes and dictionary are reused.
 */
import * as aq from 'arquero';
import { columnFromValues } from './rows';
import { MISSING_CODE, Table, type Column } from './table';

/** A categorical column as arquero sees it: labels, null when missing. */
class DictionaryColumn {
  constructor(
    readonly codes: Int32Array,
    readonly dictionary: readonly string[],
  ) {}

  get length(): number {
    return this.codes.length;
  }

  at(row: number): string | null {
    const code = this.codes[row] ?? MISSING_CODE;
    return code === MISSING_CODE ? null : (this.dictionary[code] ?? null);
  }

  *[Symbol.iterator](): Iterator<string | null> {
    for (let row = 0; row < this.codes.length; row++) yield this.at(row);
  }

  toArray(): (string | null)[] {
    return Array.from(this);
  }
}

/** An arquero table with the same columns; values are copied, so neither side can change the other. */
export function toArquero(table: Table): aq.ColumnTable {
  const data: Record<string, Float64Array | DictionaryColumn> = {};
  for (const column of table.columns) {
    data[column.name] =
      column.kind === 'numeric'
        ? column.values.slice()
        : new DictionaryColumn(column.codes.slice(), [...column.dictionary]);
  }
  return aq.table(data, table.columnNames);
}

/**
 * A table from an arquero table, honouring its filter and order. Columns arquero created (derive)
 * are typed like row values: numbers numeric, text categorical (see `columnFromValues`).
 *
 * @throws when a derived column holds objects or arrays (names the column and row)
 */
export function fromArquero(source: aq.ColumnTable): Table {
  const rows = source.isFiltered() || source.isOrdered() ? source.indices() : undefined;
  return new Table(source.columnNames().map((name): Column => columnOf(source, name, rows)));
}

function columnOf(source: aq.ColumnTable, name: string, rows: Uint32Array | undefined): Column {
  const column = source.column(name);
  if (column instanceof DictionaryColumn) {
    const codes = rows
      ? Int32Array.from(rows, (row) => column.codes[row] ?? MISSING_CODE)
      : column.codes.slice();
    return { kind: 'categorical', name, codes, dictionary: [...column.dictionary] };
  }
  if (ArrayBuffer.isView(column) && !(column instanceof BigInt64Array || column instanceof BigUint64Array)) {
    return { kind: 'numeric', name, values: source.array(name, Float64Array) as Float64Array };
  }
  return columnFromValues(name, source.array(name));
}
