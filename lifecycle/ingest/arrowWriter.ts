/**
 * A snapshot's Arrow IPC file written a record batch at a time, as the rows arrive: the schema first,
 * then for each batch the categories it brings new (a delta dictionary batch) and its record batch,
 * then the footer that indexes them. The file is what `encodeSnapshot` describes (float64 numbers
 * with nulls, dictionary-encoded utf8 categories in order of first appearance, Kerf's field
 * metadata) and `decodeSnapshot` reads it to the same table; only the dictionaries come in pieces,
 * which the Arrow file format allows (delta dictionary batches, applied in file order).
 *
 * Deterministic: the same batches give the same bytes. Only the bytes of the current batch exist.
 */
import { dictionary, float64, int32, utf8, type Field } from '@uwdata/flechette';
import { Builder } from '@uwdata/flechette/src/encode/builder.js';
import { encodeDictionaryBatch } from '@uwdata/flechette/src/encode/dictionary-batch.js';
import { writeFooter } from '@uwdata/flechette/src/encode/footer.js';
import { type Block, writeMessage } from '@uwdata/flechette/src/encode/message.js';
import { encodeRecordBatch, type EncodedBatch } from '@uwdata/flechette/src/encode/record-batch.js';
import { encodeSchema } from '@uwdata/flechette/src/encode/schema.js';
import { MISSING_CODE } from '../../ml/table';
import { snapshotField, snapshotMetadata, type FieldDescription } from './arrow';

/** Arrow's file magic and its end-of-stream marker. */
const MAGIC = Uint8Array.of(65, 82, 82, 79, 87, 49);
const END_OF_STREAM = Uint8Array.of(255, 255, 255, 255, 0, 0, 0, 0);
/** Arrow's message header kinds. */
const SCHEMA_MESSAGE = 1;
const DICTIONARY_MESSAGE = 2;
const RECORD_BATCH_MESSAGE = 3;

/** One column of a batch: numbers (NaN missing) or category codes (-1 missing) into the column's labels so far. */
export type BatchColumn =
  | { kind: 'numeric'; values: Float64Array }
  | { kind: 'categorical'; codes: Int32Array; newLabels: readonly string[] };

/** Writes one snapshot file; every call returns the bytes it completed, in file order. */
export class SnapshotFileWriter {
  readonly #chunks: Uint8Array[] = [];
  readonly #builder = new Builder({ write: (bytes) => this.#chunks.push(bytes) });
  readonly #schema: { fields: Field[]; metadata: Map<string, string> };
  readonly #dictionaryBlocks: Block[] = [];
  readonly #recordBlocks: Block[] = [];
  /** Per column: its dictionary id, or -1 for a numeric column. */
  readonly #dictionaryIds: number[];
  #batches = 0;

  /** @param fields one description per column, in file order */
  constructor(
    private readonly fields: readonly FieldDescription[],
    timeColumn: string | undefined,
  ) {
    let nextId = 0;
    this.#dictionaryIds = fields.map((field) => (field.kind === 'categorical' ? nextId++ : -1));
    this.#schema = {
      fields: fields.map((field, index) => {
        const id = this.#dictionaryIds[index] as number;
        return snapshotField(field, id < 0 ? float64() : dictionary(utf8(), int32(), false, id));
      }),
      metadata: snapshotMetadata(timeColumn),
    };
  }

  /** The file's start: magic and schema. */
  start(): Uint8Array[] {
    this.#builder.addBuffer(MAGIC);
    writeMessage(this.#builder, SCHEMA_MESSAGE, encodeSchema(this.#builder, this.#schema), 0);
    return this.#drain();
  }

  /**
   * One record batch, preceded by the categories it brings new. The first batch writes every
   * column's dictionary (empty ones too), so each record batch finds its dictionaries before it.
   */
  batch(columns: readonly BatchColumn[], rows: number): Uint8Array[] {
    if (columns.length !== this.fields.length) {
      throw new Error(`A batch has ${columns.length} columns, the snapshot ${this.fields.length}`);
    }
    const record = new BatchLayout();
    columns.forEach((column, index) => {
      if (column.kind === 'numeric') {
        record.nullable(column.values, rows, missingNumbers(column.values, rows));
        return;
      }
      if (this.#batches === 0 || column.newLabels.length > 0) {
        const labels = new BatchLayout();
        labels.utf8(column.newLabels);
        this.#write(
          DICTIONARY_MESSAGE,
          encodeDictionaryBatch(
            this.#builder,
            { id: this.#dictionaryIds[index] as number, isDelta: this.#batches > 0, data: labels.done() },
            null,
          ),
          labels.done(),
          this.#dictionaryBlocks,
        );
      }
      record.nullable(column.codes, rows, missingCodes(column.codes, rows));
    });
    const encoded = record.done();
    this.#write(
      RECORD_BATCH_MESSAGE,
      encodeRecordBatch(this.#builder, encoded, null),
      encoded,
      this.#recordBlocks,
    );
    this.#batches++;
    return this.#drain();
  }

  /** The file's end: end-of-stream and the footer. */
  finish(): Uint8Array[] {
    this.#builder.addBuffer(END_OF_STREAM);
    writeFooter(this.#builder, this.#schema, this.#dictionaryBlocks, this.#recordBlocks, null);
    return this.#drain();
  }

  #write(header: number, headerOffset: number, batch: EncodedBatch, blocks: Block[]): void {
    writeMessage(this.#builder, header, headerOffset, batch.byteLength, blocks);
    for (const buffer of batch.buffers) this.#builder.addBuffer(buffer);
  }

  #drain(): Uint8Array[] {
    return this.#chunks.splice(0);
  }
}

/** A record batch's field nodes and buffers, laid out as Arrow's body wants them (8-byte aligned). */
class BatchLayout {
  readonly #batch: EncodedBatch = { byteLength: 0, nodes: [], regions: [], variadic: [], buffers: [] };

  /**
   * A fixed-width column with a validity bitmap (left out when nothing is missing). The missing
   * cells are counted by a plain loop over the typed array first (`missingNumbers`, `missingCodes`):
   * a callback per cell cost more than all the rest of a batch's encoding.
   *
   * @param missing how many of the rows are missing (NaN, or the missing code)
   */
  nullable(values: Float64Array | Int32Array, rows: number, missing: number): void {
    this.#batch.nodes.push({ length: rows, nullCount: missing });
    this.#buffer(missing === 0 ? new Uint8Array(0) : validityBitmap(values, rows));
    this.#buffer(new Uint8Array(values.buffer, values.byteOffset, rows * values.BYTES_PER_ELEMENT));
  }

  /** A utf8 column without nulls: the dictionary's new labels. */
  utf8(labels: readonly string[]): void {
    const encoded = labels.map((label) => Buffer.from(label, 'utf8'));
    const offsets = new Int32Array(labels.length + 1);
    encoded.forEach((bytes, index) => (offsets[index + 1] = (offsets[index] as number) + bytes.length));
    this.#batch.nodes.push({ length: labels.length, nullCount: 0 });
    this.#buffer(new Uint8Array(0));
    this.#buffer(new Uint8Array(offsets.buffer));
    this.#buffer(Buffer.concat(encoded));
  }

  done(): EncodedBatch {
    return this.#batch;
  }

  #buffer(bytes: Uint8Array): void {
    this.#batch.regions.push({ offset: this.#batch.byteLength, length: bytes.byteLength });
    this.#batch.buffers.push(bytes);
    this.#batch.byteLength += (bytes.byteLength + 7) & ~7;
  }
}

/** How many of the first `rows` numbers are missing (NaN). */
function missingNumbers(values: Float64Array, rows: number): number {
  let missing = 0;
  for (let row = 0; row < rows; row++) if (values[row] !== values[row]) missing++;
  return missing;
}

/** How many of the first `rows` codes are missing. */
function missingCodes(codes: Int32Array, rows: number): number {
  let missing = 0;
  for (let row = 0; row < rows; row++) if (codes[row] === MISSING_CODE) missing++;
  return missing;
}

/** Arrow's validity bitmap of a column with missing values: a bit per row, set where present. */
function validityBitmap(values: Float64Array | Int32Array, rows: number): Uint8Array {
  const validity = new Uint8Array((rows + 7) >> 3).fill(0xff);
  const numbers = values instanceof Float64Array;
  for (let row = 0; row < rows; row++) {
    const value = values[row] as number;
    // A number is missing when NaN (never equal to itself), a code when it is the missing code.
    if (numbers ? value === value : value !== MISSING_CODE) continue;
    validity[row >> 3] = (validity[row >> 3] as number) & ~(1 << (row & 7));
  }
  return validity;
}
