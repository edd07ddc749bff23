/**
 * Reads PostgreSQL's binary COPY format a batch at a time: pieces of any size in, columns out. Key
 * columns are never decoded: their bytes are kept as they came, to be written back as they are
 * (`copyWriter.ts`), so any key type passes through exactly as PostgreSQL sent it. Pure.
 */
import { type CategoricalColumn, MISSING_CODE, type NumericColumn } from '../../ml/table';
import { COPY_SIGNATURE, copyBytes, CopyFormatError, HEADER_BYTES, sameBytes } from './copyFormat';

const EMPTY = Buffer.alloc(0);

/** How a field of a read stream is kept: its bytes as they are, a float8, or a text as a category. */
export type FieldRead = 'key' | 'float8' | 'text';

/** Rows read from a binary COPY stream, column by column. */
export interface DecodedRows {
  rowCount: number;
  /**
   * Each row's key fields as they came on the wire (length and bytes, field after field), one after
   * the other; row `i` is `keyBytes[keyOffsets[i] .. keyOffsets[i + 1])`.
   */
  keyBytes: Buffer;
  keyOffsets: Uint32Array;
  /** The float8 fields, in stream order; NaN for NULL. */
  numbers: NumericColumn[];
  /** The text fields as categories, in stream order; -1 for NULL. */
  texts: CategoricalColumn[];
}

/** A growable byte buffer for the key fields of a batch. */
class ByteRun {
  bytes = Buffer.allocUnsafe(1 << 16);
  length = 0;

  append(source: Buffer, start: number, end: number): void {
    const needed = this.length + end - start;
    if (needed > this.bytes.length) {
      const grown = Buffer.allocUnsafe(Math.max(needed, this.bytes.length * 2));
      this.bytes.copy(grown, 0, 0, this.length);
      this.bytes = grown;
    }
    copyBytes(source, start, this.bytes, this.length, end - start);
    this.length = needed;
  }
}

/** A category's bytes as they come on the wire, and its code (-1 for a blank text). */
interface CategoryEntry {
  bytes: Buffer;
  code: number;
}

/** Up to this many categories a cell is compared with each in turn, before any hash is taken. */
const FEW_CATEGORIES = 8;

/**
 * The category codes of one text field, with its dictionary in order of first appearance. A cell is
 * matched on its bytes, so a category is decoded to text once, not once per row: a batch holds
 * thousands of rows and a handful of categories. With a handful, comparing the cell with each (most
 * differ in length or first byte) is cheaper than hashing it; with more, a hash finds the few to compare.
 */
class CategoryRun {
  readonly dictionary: string[] = [];
  /** Every entry, in order of first appearance. */
  private readonly entries: CategoryEntry[] = [];
  /** Byte hash to the entries with that hash, once there are more than a few. */
  private readonly byHash = new Map<number, CategoryEntry[]>();

  /** @param codes where the batch's codes go, a cell per row */
  constructor(
    readonly name: string,
    readonly codes: Int32Array,
  ) {}

  add(row: number, buffer: Buffer, start: number, end: number): void {
    const candidates =
      this.entries.length <= FEW_CATEGORIES ? this.entries : this.byHash.get(hashBytes(buffer, start, end));
    const found = candidates ? entryOf(candidates, buffer, start, end) : undefined;
    this.codes[row] = found ? found.code : this.enter(buffer, start, end);
  }

  /** Adds a category not seen before; returns its code. */
  private enter(buffer: Buffer, start: number, end: number): number {
    const text = buffer.toString('utf8', start, end);
    // A blank text is a missing category, as serving reads it.
    const code = text.trim() === '' ? MISSING_CODE : this.dictionary.push(text) - 1;
    const entry = { bytes: Buffer.from(buffer.subarray(start, end)), code };
    this.entries.push(entry);
    if (this.entries.length === FEW_CATEGORIES + 1) {
      for (const each of this.entries) this.hashed(each);
    } else if (this.entries.length > FEW_CATEGORIES + 1) {
      this.hashed(entry);
    }
    return code;
  }

  private hashed(entry: CategoryEntry): void {
    const hash = hashBytes(entry.bytes, 0, entry.bytes.length);
    const sameHash = this.byHash.get(hash);
    if (sameHash) sameHash.push(entry);
    else this.byHash.set(hash, [entry]);
  }
}

/** The entry among `entries` whose bytes are `buffer[start..end)`, if any. */
function entryOf(
  entries: readonly CategoryEntry[],
  buffer: Buffer,
  start: number,
  end: number,
): CategoryEntry | undefined {
  for (let index = 0; index < entries.length; index++) {
    const entry = entries[index] as CategoryEntry;
    if (sameBytes(entry.bytes, buffer, start, end)) return entry;
  }
  return undefined;
}

function hashBytes(buffer: Uint8Array, start: number, end: number): number {
  let hash = end - start;
  for (let at = start; at < end; at++) hash = (Math.imul(hash, 31) + (buffer[at] as number)) | 0;
  return hash;
}

/** How a field is kept, as a number the hot loop switches on. */
const KEY = 0;
const FLOAT8 = 1;
const TEXT = 2;
const READS: Record<FieldRead, number> = { key: KEY, float8: FLOAT8, text: TEXT };

/**
 * Bytes of a piece first joined to the start of a row the piece before ended inside: rows are a few
 * hundred bytes, so a row is finished with a small copy, not with a copy of the whole piece.
 */
const JOIN_BYTES = 1 << 9;

/**
 * Reads a binary COPY stream fed in pieces of any size into batches of at most `batchRows` rows.
 * Feed it every piece in order (`push`), then `end()`; each returns the batches completed by then.
 */
export class BinaryCopyReader {
  /** The start of a row (or of the header) the last piece ended inside, copied out of it. */
  private pending: Buffer = Buffer.alloc(0);
  private headerRead = false;
  private ended = false;
  private rows = 0;
  /** The arrays the batch being read goes into. */
  private arrays!: BatchArrays;
  private keys = new ByteRun();
  private keyOffsets: Uint32Array = new Uint32Array(0);
  private numbers: Float64Array[] = [];
  private texts: CategoryRun[] = [];
  /** Arrays handed back (`recycle`), to be read into again. */
  private readonly spare: BatchArrays[] = [];
  /** The arrays of each batch handed out and not handed back yet. */
  private readonly lent = new WeakMap<DecodedRows, BatchArrays>();
  private readonly reads: Uint8Array;
  private readonly numberNames: string[];
  private readonly textNames: string[];
  private readonly completed: DecodedRows[] = [];

  /**
   * @param fields what each field of a row is, by name, in the order of the stream's columns
   * @param batchRows the most rows a batch holds
   */
  constructor(
    private readonly fields: readonly { name: string; read: FieldRead }[],
    private readonly batchRows: number,
  ) {
    this.reads = Uint8Array.from(fields, (field) => READS[field.read]);
    this.numberNames = fields.filter((field) => field.read === 'float8').map((field) => field.name);
    this.textNames = fields.filter((field) => field.read === 'text').map((field) => field.name);
    this.startBatch();
  }

  /**
   * Reads what `piece` completes; returns the batches that filled up. The piece is read where it
   * is; only the start of a row it ends inside is copied, to be finished by the next piece.
   */
  push(piece: Buffer): DecodedRows[] {
    if (this.ended) throw new CopyFormatError('data after the end of the binary COPY stream');
    let at = 0;
    if (this.pending.length > 0 || !this.headerRead) {
      at = this.readJoined(piece);
      if (at < 0) return this.completed.splice(0);
    }
    at = this.readTuples(piece, at, piece.length);
    // Copied, so a large piece is not kept alive for its last few bytes.
    this.pending = at < piece.length ? Buffer.from(piece.subarray(at)) : EMPTY;
    return this.completed.splice(0);
  }

  /** The last batch, once the whole stream was pushed. */
  end(): DecodedRows[] {
    if (!this.ended || this.pending.length > 0) {
      throw new CopyFormatError('the binary COPY stream ended in the middle of a row or without its trailer');
    }
    if (this.rows > 0) this.finishBatch();
    return this.completed.splice(0);
  }

  /**
   * Finishes the header or the row the pending bytes start, joined with as much of `piece` as it
   * takes (a few kB first, more for a longer row).
   *
   * @returns where reading goes on in `piece`, or -1 when all of it went to the pending bytes
   */
  private readJoined(piece: Buffer): number {
    const held = this.pending.length;
    for (let take = Math.min(piece.length, JOIN_BYTES); ; take = Math.min(piece.length, take * 2)) {
      const joined = Buffer.concat([this.pending, piece.subarray(0, take)]);
      let at = 0;
      if (!this.headerRead) at = this.readHeader(joined);
      // Only the row the pending bytes start is read here: every row before it was read already.
      if (this.headerRead) at = this.readTuples(joined, at, held);
      if (this.headerRead && at >= held) return at - held;
      if (take === piece.length) {
        this.pending = joined;
        return -1;
      }
    }
  }

  /** Checks the header; returns where the rows start, or 0 when the header is not all here. */
  private readHeader(buffer: Buffer): number {
    if (buffer.length < HEADER_BYTES) return 0;
    if (!buffer.subarray(0, COPY_SIGNATURE.length).equals(COPY_SIGNATURE)) {
      throw new CopyFormatError('the stream does not start with the binary COPY signature');
    }
    const extension = buffer.readUInt32BE(COPY_SIGNATURE.length + 4);
    if (buffer.length < HEADER_BYTES + extension) return 0;
    this.headerRead = true;
    return HEADER_BYTES + extension;
  }

  /**
   * Reads the rows that start in `buffer[start..until)`, none after the trailer; returns where the
   * first byte not read is.
   */
  private readTuples(buffer: Buffer, start: number, until: number): number {
    const fieldCount = this.fields.length;
    // A DataView reads big-endian numbers in place, several times faster than Buffer's readers.
    const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.length);
    let at = start;
    while (!this.ended && at < until && at + 2 <= buffer.length) {
      const count = view.getInt16(at);
      if (count === -1) {
        this.ended = true;
        return at + 2;
      }
      if (count !== fieldCount) {
        throw new CopyFormatError(`a row has ${count} fields, not the ${fieldCount} expected`);
      }
      const end = this.readTuple(buffer, view, at + 2);
      // Not all of the row is here yet: it is read again, whole, with the next piece.
      if (end < 0) break;
      at = end;
    }
    return at;
  }

  /**
   * Reads one row into the batch. The row's cells are written at its index, so a row cut short by
   * the end of the piece is simply overwritten when it is read again; only its key bytes are undone.
   *
   * @returns where the next row starts, or -1 when the row does not end in this piece
   */
  private readTuple(buffer: Buffer, view: DataView, start: number): number {
    const row = this.rows;
    const keysBefore = this.keys.length;
    const size = buffer.length;
    const reads = this.reads;
    let at = start;
    let numberIndex = 0;
    let textIndex = 0;
    for (let field = 0; field < reads.length; field++) {
      if (at + 4 > size) {
        this.keys.length = keysBefore;
        return -1;
      }
      const length = view.getInt32(at);
      const dataStart = at + 4;
      const dataEnd = dataStart + (length > 0 ? length : 0);
      if (dataEnd > size) {
        this.keys.length = keysBefore;
        return -1;
      }
      const read = reads[field];
      if (read === FLOAT8) {
        const values = this.numbers[numberIndex++] as Float64Array;
        if (length === 8) values[row] = view.getFloat64(dataStart);
        else if (length === -1) values[row] = Number.NaN;
        else throw new CopyFormatError(`field ${this.fields[field]?.name} is not a float8 (${length} bytes)`);
      } else if (read === TEXT) {
        const run = this.texts[textIndex++] as CategoryRun;
        if (length === -1) run.codes[row] = MISSING_CODE;
        else run.add(row, buffer, dataStart, dataEnd);
      } else {
        this.keys.append(buffer, at, dataEnd);
      }
      at = dataEnd;
    }
    this.rows = row + 1;
    this.keyOffsets[this.rows] = this.keys.length;
    if (this.rows === this.batchRows) this.finishBatch();
    return at;
  }

  /**
   * Takes back the arrays of a batch this reader returned, once nothing reads them any more: later
   * batches are read into them rather than into new ones, so a long stream does not leave a batch's
   * worth of garbage behind every batch. Optional: a batch never handed back is simply collected.
   */
  recycle(batch: DecodedRows): void {
    const arrays = this.lent.get(batch);
    if (!arrays) return;
    this.lent.delete(batch);
    this.spare.push(arrays);
  }

  private startBatch(): void {
    this.rows = 0;
    const arrays = this.spare.pop() ?? {
      keys: new ByteRun(),
      keyOffsets: new Uint32Array(this.batchRows + 1),
      numbers: this.numberNames.map(() => new Float64Array(this.batchRows)),
      codes: this.textNames.map(() => new Int32Array(this.batchRows)),
    };
    arrays.keys.length = 0;
    this.arrays = arrays;
    this.keys = arrays.keys;
    this.keyOffsets = arrays.keyOffsets;
    this.numbers = arrays.numbers;
    this.texts = this.textNames.map(
      (name, index) => new CategoryRun(name, arrays.codes[index] as Int32Array),
    );
  }

  private finishBatch(): void {
    const rows = this.rows;
    const batch: DecodedRows = {
      rowCount: rows,
      keyBytes: this.keys.bytes.subarray(0, this.keys.length),
      keyOffsets: this.keyOffsets.subarray(0, rows + 1),
      numbers: this.numberNames.map((name, index) => ({
        kind: 'numeric',
        name,
        values: (this.numbers[index] as Float64Array).subarray(0, rows),
      })),
      texts: this.texts.map((run) => ({
        kind: 'categorical',
        name: run.name,
        codes: run.codes.subarray(0, rows),
        dictionary: run.dictionary,
      })),
    };
    this.lent.set(batch, this.arrays);
    this.completed.push(batch);
    this.startBatch();
  }
}

/** The arrays one batch is read into, each as long as a whole batch. */
interface BatchArrays {
  keys: ByteRun;
  keyOffsets: Uint32Array;
  numbers: Float64Array[];
  codes: Int32Array[];
}
