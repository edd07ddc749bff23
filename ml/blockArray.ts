/** Typed arrays that grow one value at a time, for columns filled while rows stream in. */

const BLOCK = 65536;

/**
 * A growable typed array kept in blocks of 64k values (the first block doubles up to that size), so
 * growing never copies a whole column and the final array is the only full-size copy.
 */
export class BlockArray<T extends Float64Array | Int32Array> {
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
