/**
 * Columns filled one value at a time while rows stream in, into typed arrays: memory grows with the
 * column data in bytes, never with one object per row or cell.
 */
import { BlockArray } from '../../ml/blockArray';
import { CategoryDictionary, MISSING_CODE, type Column } from '../../ml/table';

/** Takes one cell as PostgreSQL returned it (a number, a text or null) and keeps it columnar. */
export interface ColumnBuilder {
  readonly length: number;
  add(cell: unknown): void;
  build(): Column;
}

/** Numbers as Float64Array; NULL becomes NaN, the ML core's missing value. */
export class NumericBuilder implements ColumnBuilder {
  private readonly values = new BlockArray((length) => new Float64Array(length));

  constructor(readonly name: string) {}

  get length(): number {
    return this.values.length;
  }

  add(cell: unknown): void {
    if (cell === null || cell === undefined) this.values.push(Number.NaN);
    else if (typeof cell === 'number') this.values.push(cell);
    else {
      // The SQL casts every numeric column to float8, which pg hands over as a number: anything else
      // means the query and this reader disagree, a bug rather than bad data.
      throw new Error(`Column "${this.name}" row ${this.length + 1}: expected a number, got ${typeof cell}`);
    }
  }

  build(): Column {
    return { kind: 'numeric', name: this.name, values: this.values.toArray() };
  }
}

/**
 * Labels as dictionary codes in order of first appearance; NULL and the empty text are missing, as
 * in the ML core's CSV reader.
 */
export class CategoricalBuilder implements ColumnBuilder {
  private readonly codes = new BlockArray((length) => new Int32Array(length));
  private readonly dictionary = new CategoryDictionary();

  constructor(readonly name: string) {}

  get length(): number {
    return this.codes.length;
  }

  add(cell: unknown): void {
    if (cell === null || cell === undefined || cell === '') this.codes.push(MISSING_CODE);
    else if (typeof cell === 'string') this.codes.push(this.dictionary.codeOf(cell));
    else {
      throw new Error(`Column "${this.name}" row ${this.length + 1}: expected a text, got ${typeof cell}`);
    }
  }

  build(): Column {
    return {
      kind: 'categorical',
      name: this.name,
      codes: this.codes.toArray(),
      dictionary: [...this.dictionary.labels],
    };
  }
}
