/**
 * Reads PostgreSQL's binary COPY format a batch at a time: pieces of any size in, columns out. Key
 * columns are never decoded: their bytes are kept as they came, to be written back as they are
 * (`copyWriter.ts`), so any key type passes through exactly as PostgreSQL sent it. Pure.
 */
import { type CategoricalColumn, MISSING_CODE, type NumericColumn } from '../../ml/table';
import { COPY_SIGNATURE, copyBytes, CopyFormatError, HEADER_BYTES, sameBytes } from './copyFormat';

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

/**
 * The category codes of one text field, with its dictionary in order of first appearance. A cell is
 * matched on its bytes (a hash, then a comparison), so a category is decoded to text once, not once
 * per row: a batch holds thousands of rows and a handful of categories.
 */
class CategoryRun {
  codes: Int32Array;
  readonly dictionary: string[] = [];
  /** Byte hash to the entries with that hash: their bytes and code (-1 for a blank text). */
  private readonly byHash = new Map<number, { bytes: Buffer; code: number }[]>();

  constructor(
    readonly name: string,
    capacity: number,
  ) {
    this.codes = new Int32Array(capacity);
  }

  add(row: number, buffer: Buffer, start: number, end: number): void {
    let hash = end - start;
    for (let at = start; at < end; at++) hash = (Math.imul(hash, 31) + (buffer[at] as number)) | 0;
    let entries = this.byHash.get(hash);
    if (entries) {
      for (const entry of entries) {
        if (sameBytes(entry.bytes, buffer, start, end)) {
          this.codes[row] = entry.code;
          return;
        }
      }
    } else {
      entries = [];
      this.byHash.set(hash, entries);
    }
    const text = buffer.toString('utf8', start, end);
    // A blank text is a missing category, as serving reads it.
    const code = text.trim() === '' ? MISSING_CODE : this.dictionary.push(text) - 1;
    entries.push({ bytes: Buffer.from(buffer.subarray(start, end)), code });
    this.codes[row] = code;
  }
}

/**
 * Reads a binary COPY stream fed in pieces of any size into batches of at most `batchRows` rows.
 * Feed it every piece in order (`push`), then `end()`; each returns the batches completed by then.
 */
export class BinaryCopyReader {
  private pending: Buffer = Buffer.alloc(0);
  private headerRead = false;
  private ended = false;
  private rows = 0;
  private keys = new ByteRun();
  private keyOffsets: Uint32Array;
  private numbers: Float64Array[] = [];
  private texts: CategoryRun[] = [];
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
    this.numberNames = fields.filter((field) => field.read === 'float8').map((field) => field.name);
    this.textNames = fields.filter((field) => field.read === 'text').map((field) => field.name);
    this.keyOffsets = new Uint32Array(batchRows + 1);
    this.startBatch();
  }

  /** Reads what `piece` completes; returns the batches that filled up. */
  push(piece: Buffer): DecodedRows[] {
    if (this.ended) throw new CopyFormatError('data after the end of the binary COPY stream');
    const buffer = this.pending.length > 0 ? Buffer.concat([this.pending, piece]) : piece;
    let at = 0;
    if (!this.headerRead) {
      if (buffer.length < HEADER_BYTES) {
        this.pending = Buffer.from(buffer);
        return this.completed.splice(0);
      }
      if (!buffer.subarray(0, COPY_SIGNATURE.length).equals(COPY_SIGNATURE)) {
        throw new CopyFormatError('the stream does not start with the binary COPY signature');
      }
      const extension = buffer.readUInt32BE(COPY_SIGNATURE.length + 4);
      if (buffer.length < HEADER_BYTES + extension) {
        this.pending = Buffer.from(buffer);
        return this.completed.splice(0);
      }
      at = HEADER_BYTES + extension;
      this.headerRead = true;
    }
    at = this.readTuples(buffer, at);
    // Copied, so a large piece is not kept alive for its last few bytes.
    this.pending = at < buffer.length ? Buffer.from(buffer.subarray(at)) : Buffer.alloc(0);
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

  private readTuples(buffer: Buffer, start: number): number {
    const fieldCount = this.fields.length;
    let at = start;
    while (at + 2 <= buffer.length) {
      const count = buffer.readInt16BE(at);
      if (count === -1) {
        this.ended = true;
        return at + 2;
      }
      if (count !== fieldCount) {
        throw new CopyFormatError(`a row has ${count} fields, not the ${fieldCount} expected`);
      }
      const end = this.readTuple(buffer, at + 2);
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
  private readTuple(buffer: Buffer, start: number): number {
    const row = this.rows;
    const keysBefore = this.keys.length;
    const size = buffer.length;
    let at = start;
    let numberIndex = 0;
    let textIndex = 0;
    for (const field of this.fields) {
      if (at + 4 > size) {
        this.keys.length = keysBefore;
        return -1;
      }
      const length = buffer.readInt32BE(at);
      const dataStart = at + 4;
      const dataEnd = dataStart + (length > 0 ? length : 0);
      if (dataEnd > size) {
        this.keys.length = keysBefore;
        return -1;
      }
      if (field.read === 'key') {
        this.keys.append(buffer, at, dataEnd);
      } else if (field.read === 'float8') {
        const values = this.numbers[numberIndex++] as Float64Array;
        if (length === 8) values[row] = buffer.readDoubleBE(dataStart);
        else if (length === -1) values[row] = Number.NaN;
        else throw new CopyFormatError(`field ${field.name} is not a float8 (${length} bytes)`);
      } else {
        const run = this.texts[textIndex++] as CategoryRun;
        if (length === -1) run.codes[row] = MISSING_CODE;
        else run.add(row, buffer, dataStart, dataEnd);
      }
      at = dataEnd;
    }
    this.rows = row + 1;
    this.keyOffsets[this.rows] = this.keys.length;
    if (this.rows === this.batchRows) this.finishBatch();
    return at;
  }

  private startBatch(): void {
    this.rows = 0;
    this.keys = new ByteRun();
    this.keyOffsets = new Uint32Array(this.batchRows + 1);
    this.numbers = this.numberNames.map(() => new Float64Array(this.batchRows));
    this.texts = this.textNames.map((name) => new CategoryRun(name, this.batchRows));
  }

  private finishBatch(): void {
    const rows = this.rows;
    this.completed.push({
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
    });
    this.startBatch();
  }
}
