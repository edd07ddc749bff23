/**
 * Columns filled one value at a time while rows stream in, into typed arrays: memory grows with the
 * column data in bytes, never with one object per row or cell.
 */
import { CategoryDictionary, MISSING_CODE, type Column } from '../../ml/table';

const BLOCK = 65_536;

/**
 * A growable typed array kept in blocks of 64k values (the first block doubles up to that size), so
 * growing never copies a whole column; `toArray` makes the one full-size copy.
 */
class BlockArray<T extends Float64Array | Int32Array> {
  length = 0;
  private readonly blocks: T[] = [];
  private current: T;
  private used = 0;

  constructor(private readonly make: (length: number) => T) {
    this.current = make(256);
  }

  push(value: number): void {
    if (this.used === this.current.length) {
      if (this.current.length < BLOCK) {
        const bigger = this.make(this.current.length * 2);
        bigger.set(this.current);
        this.current = bigger;
      } else {
        this.blocks.push(this.current);
        this.current = this.make(BLOCK);
        this.used = 0;
      }
    }
    this.current[this.used++] = value;
    this.length++;
  }

  /** The values in one array of the exact length. */
  toArray(): T {
    const out = this.make(this.length);
    let offset = 0;
    for (const block of this.blocks) {
      out.set(block, offset);
      offset += block.length;
    }
    out.set(this.current.subarray(0, this.used), offset);
    return out;
  }
}

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
