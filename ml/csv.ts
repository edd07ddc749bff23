/**
 * CSV (RFC 4180) to Table, streaming: bytes are decoded as strict UTF-8 chunk by chunk, an incremental
 * parser turns text into fields, and each field goes straight into its column's growable typed array.
 * No row objects and no per-cell strings are kept, so memory stays near the size of the final table.
 *
 * A column is numeric while every non-missing value parses as a finite number (`Number()` on the
 * text, which trims), otherwise categorical. A column that turns to text after holding numbers has
 * lost the original text of those numbers ("007" was stored as 7), so the file is read a second time
 * with every column's kind already known; that only happens for such columns.
 */
import { createReadStream } from 'node:fs';
import { TextDecoder } from 'node:util';
import { BlockArray } from './blockArray';
import { CsvError, CsvParser, type RecordSink } from './csvParser';
import { CategoryDictionary, MISSING_CODE, Table, type Column, type ColumnKind } from './table';

export { CsvError } from './csvParser';

export interface CsvOptions {
  /** Force the kind of some columns; forcing numeric on a column holding text is an error. */
  kinds?: Record<string, ColumnKind>;
  /** Keep only these columns, in this order. */
  columns?: string[];
  /** Texts (compared after trimming) read as missing, besides empty fields. */
  missingValues?: readonly string[];
}

/** Texts read as missing unless `missingValues` says otherwise. */
export const DEFAULT_MISSING_VALUES: readonly string[] = 'NA N/A n/a #N/A NaN nan null NULL None'.split(' ');

/** Parses CSV text (a leading BOM is ignored). */
export function parseCsv(text: string, options: CsvOptions = {}): Table {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  return twoPasses(options, (builder) => {
    const parser = new CsvParser(builder);
    parser.push(body);
    parser.finish();
  });
}

/** Parses CSV bytes, which must be UTF-8 (a BOM is ignored). */
export function parseCsvBytes(bytes: Uint8Array, options: CsvOptions = {}): Table {
  return twoPasses(options, (builder) => {
    const parser = new CsvParser(builder);
    parser.push(decodeChunk(new TextDecoder('utf-8', { fatal: true }), bytes, 1, false));
    parser.finish();
  });
}

/**
 * Reads a CSV file as a stream. Nothing is returned unless the whole file is valid.
 *
 * @throws CsvError naming the file and line: ragged rows, bad header, unterminated quote, not UTF-8
 */
export async function readCsvFile(path: string, options: CsvOptions = {}): Promise<Table> {
  try {
    return await readCsv(() => createReadStream(path, { highWaterMark: 1 << 20 }), options);
  } catch (error) {
    if (error instanceof CsvError) throw new CsvError(`${path}: ${error.message}`, error.line);
    throw error;
  }
}

/**
 * Reads CSV from UTF-8 byte chunks of any size (a file or object-store stream). `open` is called
 * again for a second read only when a column turns to text after holding numbers.
 */
export async function readCsv(
  open: () => AsyncIterable<Uint8Array>,
  options: CsvOptions = {},
): Promise<Table> {
  const first = await readPass(open(), new TableBuilder(options));
  if (first instanceof Table) return first;
  const second = await readPass(open(), new TableBuilder({ ...options, kinds: first }));
  if (second instanceof Table) return second;
  throw new Error('The second read of the CSV did not settle the column kinds; did the data change?');
}

async function readPass(
  chunks: AsyncIterable<Uint8Array>,
  builder: TableBuilder,
): Promise<Table | Record<string, ColumnKind>> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const parser = new CsvParser(builder);
  // Leaving the loop by an error closes the source (for a file stream: the file).
  for await (const chunk of chunks) parser.push(decodeChunk(decoder, chunk, parser.line, true));
  parser.push(decodeChunk(decoder, new Uint8Array(0), parser.line, false));
  parser.finish();
  return builder.result();
}

function twoPasses(options: CsvOptions, run: (builder: TableBuilder) => void): Table {
  const first = new TableBuilder(options);
  run(first);
  const result = first.result();
  if (result instanceof Table) return result;
  const second = new TableBuilder({ ...options, kinds: result });
  run(second);
  return second.result() as Table;
}

/** Decodes strict UTF-8; on a bad byte, says where (roughly) and how to convert the file. */
function decodeChunk(decoder: TextDecoder, bytes: Uint8Array, line: number, stream: boolean): string {
  try {
    return decoder.decode(bytes, { stream });
  } catch {
    // Find the first bad byte: a prefix decodes in stream mode exactly when it holds no bad byte.
    let low = 0;
    let high = bytes.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      try {
        new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, mid + 1), { stream: true });
        low = mid + 1;
      } catch {
        high = mid;
      }
    }
    let badLine = line;
    for (let i = 0; i < low; i++) if (bytes[i] === 0x0a) badLine++;
    const bad = bytes[low];
    const what =
      bad === undefined
        ? 'it ends in the middle of a character'
        : `invalid byte 0x${bad.toString(16).padStart(2, '0')} on line ${badLine}`;
    throw new CsvError(
      `The file is not UTF-8: ${what}. ` +
        'Convert it to UTF-8 first, e.g. `iconv -f WINDOWS-1252 -t UTF-8 in.csv > out.csv` ' +
        '(or save it from the spreadsheet as "CSV UTF-8").',
      badLine,
    );
  }
}

/** Collects one column's values in typed arrays while its kind is decided. */
class ColumnAccumulator {
  kind: ColumnKind;
  /** The column turned to text after holding numbers: the file must be read again. */
  needsSecondPass = false;
  store = true;
  private numbers = new BlockArray(float64s);
  private codes = new BlockArray(int32s);
  private dictionary = new CategoryDictionary();
  private sawNumber = false;

  constructor(
    readonly name: string,
    private readonly forced: ColumnKind | undefined,
    private readonly missing: ReadonlySet<string>,
  ) {
    this.kind = forced ?? 'numeric';
    if (this.kind === 'categorical') this.toCategorical();
  }

  add(text: string, line: number): void {
    if (this.kind === 'numeric') {
      const value = Number(text);
      // Number('') and Number('  ') are 0: blank text is missing, not zero.
      if (Number.isFinite(value) && (value !== 0 || text.trim() !== '')) {
        this.sawNumber = true;
        if (this.store) this.numbers.push(value);
        return;
      }
      if (this.isMissing(text)) {
        if (this.store) this.numbers.push(Number.NaN);
        return;
      }
      if (this.forced === 'numeric') {
        throw new CsvError(
          `Column "${this.name}" is forced numeric but line ${line} holds ${JSON.stringify(text)}; ` +
            'fix the value, or let the column be categorical.',
          line,
        );
      }
      if (this.sawNumber) {
        this.needsSecondPass = true;
        this.store = false;
      }
      this.toCategorical();
    }
    if (!this.store) return;
    this.codes.push(this.isMissing(text) ? MISSING_CODE : this.dictionary.codeOf(text));
  }

  /** Stops keeping values (only the kind is still tracked) and frees the memory. */
  discard(): void {
    this.store = false;
    this.numbers = new BlockArray(float64s);
    this.codes = new BlockArray(int32s);
    this.dictionary = new CategoryDictionary();
  }

  /** The finished column; the accumulator lets go of its buffers so they can be freed one by one. */
  column(): Column {
    const column: Column =
      this.kind === 'numeric'
        ? { kind: 'numeric', name: this.name, values: this.numbers.toArray() }
        : {
            kind: 'categorical',
            name: this.name,
            codes: this.codes.toArray(),
            dictionary: this.dictionary.labels,
          };
    this.discard();
    return column;
  }

  private isMissing(text: string): boolean {
    const trimmed = text.trim();
    return trimmed === '' || this.missing.has(trimmed);
  }

  /** Switches to categories; rows so far can only be missing ones (else a second pass follows). */
  private toCategorical(): void {
    this.kind = 'categorical';
    if (!this.store) return;
    for (let row = 0; row < this.numbers.length; row++) this.codes.push(MISSING_CODE);
    this.numbers = new BlockArray(float64s);
  }
}

const float64s = (length: number): Float64Array => new Float64Array(length);
const int32s = (length: number): Int32Array => new Int32Array(length);

/** Turns records into columns: the first record is the header. */
class TableBuilder implements RecordSink {
  private header: string[] | undefined;
  private headerFields: string[] = [];
  /** Per field position, its accumulator, or undefined for a column not kept. */
  private slots: (ColumnAccumulator | undefined)[] = [];
  private kept: ColumnAccumulator[] = [];
  private position = 0;

  constructor(private readonly options: CsvOptions) {}

  field(text: string, line: number): void {
    if (!this.header) {
      this.headerFields.push(text);
      return;
    }
    const slot = this.slots[this.position++];
    if (slot) {
      const wasStoring = slot.store;
      slot.add(text, line);
      // One column needs a second pass: keeping the others' values now would only waste memory.
      if (wasStoring && slot.needsSecondPass) for (const other of this.kept) other.discard();
    }
  }

  endRecord(line: number): void {
    if (!this.header) {
      this.setHeader(this.headerFields, line);
      return;
    }
    const expected = this.slots.length;
    if (this.position !== expected) {
      throw new CsvError(
        `Line ${line} has ${this.position} fields but the header has ${expected}; ` +
          'check that fields holding commas are quoted and that no field is missing.',
        line,
      );
    }
    this.position = 0;
  }

  /** The table, or the settled column kinds when the file must be read again. */
  result(): Table | Record<string, ColumnKind> {
    if (!this.header) throw new CsvError('The CSV is empty: it needs a header line naming the columns.');
    if (this.kept.some((column) => !column.store)) {
      return Object.fromEntries(this.kept.map((column) => [column.name, column.kind]));
    }
    return new Table(this.kept.map((column) => column.column()));
  }

  private setHeader(names: string[], line: number): void {
    const empty = names.findIndex((name) => name.trim() === '');
    if (empty >= 0) {
      throw new CsvError(
        `Line ${line} (the header): column ${empty + 1} has no name; give every column a name.`,
        line,
      );
    }
    const seen = new Set<string>();
    const duplicates = new Set(names.filter((name) => seen.has(name) || !seen.add(name)));
    if (duplicates.size > 0) {
      throw new CsvError(
        `Line ${line} (the header): duplicate column names ${[...duplicates].map((name) => JSON.stringify(name)).join(', ')}; ` +
          'rename them so that each column has its own name.',
        line,
      );
    }
    const { kinds = {}, columns } = this.options;
    const unknown = [...(columns ?? []), ...Object.keys(kinds)].filter((name) => !seen.has(name));
    if (unknown.length > 0) {
      throw new CsvError(
        `No column ${unknown.map((name) => JSON.stringify(name)).join(', ')} in the header; it has: ${names.join(', ')}`,
        line,
      );
    }
    const missing = new Set(this.options.missingValues ?? DEFAULT_MISSING_VALUES);
    const wanted = columns ?? names;
    const byName = new Map(wanted.map((name) => [name, new ColumnAccumulator(name, kinds[name], missing)]));
    this.kept = [...byName.values()];
    this.slots = names.map((name) => byName.get(name));
    this.header = names;
  }
}
