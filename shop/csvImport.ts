/**
 * `kerf import-csv`: loads a CSV file into a new PostgreSQL table with inferred column types.
 *
 * Two passes over the file. The first is `readCsvFile` (ml/csv.ts): it settles each column's kind
 * and catches every CSV problem with its line number before the database is touched. The second
 * streams the file through a re-encoder into `COPY ... FROM STDIN` inside one transaction that also
 * creates the table, so a failure leaves no table (or, with `replace`, the old one) behind.
 *
 * The re-encoder parses the file with the same parser as the first pass and writes canonical CSV:
 * - numeric columns: the number as JavaScript reads it (`Number()` on the text, so " 7 " and "7.0"
 *   load as 7, exactly the value the ML core sees), and every text the reader treats as missing
 *   (empty, blank, "NA", "N/A", "NaN", "null", "None", ...) as an unquoted empty field, i.e. NULL;
 * - text columns: the text verbatim, always quoted (so a value such as `\.` is never taken for the
 *   end of the data), except an empty field, which loads as NULL.
 * PostgreSQL's "line N" in a COPY error counts the lines it was sent; the re-encoder remembers where
 * those and the file's lines drift apart (blank lines skipped, quoted fields spanning lines), so
 * errors name the file line where the failing record starts.
 */
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { TextDecoder } from 'node:util';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { CsvError, DEFAULT_MISSING_VALUES, readCsvFile } from '../ml/csv';
import { CsvParser, type RecordSink } from '../ml/csvParser';
import type { Table } from '../ml/table';

/** PostgreSQL types a CSV column can be loaded as. */
export type CsvColumnType = 'bigint' | 'double precision' | 'text';

export interface CsvImportOptions {
  /** `name` or `schema.name`: letters, digits and underscores, not starting with a digit. */
  table: string;
  /** Drop an existing table of that name and create it again, in the same transaction. */
  replace?: boolean;
}

export interface CsvImportResult {
  /** The table as created: PostgreSQL folds unquoted names to lower case, and so does Kerf. */
  table: string;
  rows: number;
  columns: { name: string; type: CsvColumnType }[];
}

/** An import that failed; nothing was left in the database. `line` is the file's line, when known. */
export class CsvImportError extends Error {
  constructor(
    message: string,
    readonly table: string,
    readonly line?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CsvImportError';
  }
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** PostgreSQL silently truncates longer identifiers (NAMEDATALEN - 1 bytes). */
const MAX_IDENTIFIER_BYTES = 63;

/**
 * Checks a table name and returns it in PostgreSQL's folded (lower-case) form with its SQL spelling.
 *
 * @throws CsvImportError saying what a table name may hold
 */
export function parseTableName(name: string): { name: string; sql: string } {
  const parts = name.split('.');
  const valid =
    parts.length <= 2 &&
    parts.every((part) => IDENTIFIER.test(part) && Buffer.byteLength(part) <= MAX_IDENTIFIER_BYTES);
  if (!valid) {
    throw new CsvImportError(
      `Table name ${JSON.stringify(name)} is not allowed: use letters, digits and underscores ` +
        '(not starting with a digit, at most 63 characters), optionally as schema.table, e.g. steel_energy.',
      name,
    );
  }
  const folded = parts.map((part) => part.toLowerCase());
  return { name: folded.join('.'), sql: folded.map((part) => pg.escapeIdentifier(part)).join('.') };
}

/** The PostgreSQL type of a column read by `readCsvFile`. */
function columnType(column: Table['columns'][number]): CsvColumnType {
  if (column.kind === 'categorical') return 'text';
  let sawValue = false;
  for (const value of column.values) {
    if (Number.isNaN(value)) continue;
    sawValue = true;
    if (!Number.isSafeInteger(value)) return 'double precision';
  }
  // A column with no values at all gives no evidence of integers: keep it a plain number.
  return sawValue ? 'bigint' : 'double precision';
}

/**
 * Loads a CSV file into a new table.
 *
 * @param pool the pool to take one connection from (the caller owns and ends it)
 * @param file path of a UTF-8 CSV file with a header line
 * @throws CsvImportError for a bad table name or file (with its line), an existing table without
 *   `replace`, or a failed load (with the line PostgreSQL names); the transaction is rolled back
 */
export async function importCsv(
  pool: pg.Pool,
  file: string,
  options: CsvImportOptions,
): Promise<CsvImportResult> {
  const table = parseTableName(options.table);
  const fail = (message: string, line?: number, cause?: unknown): CsvImportError =>
    new CsvImportError(`Cannot import ${file} into ${table.name}: ${message}`, table.name, line, { cause });

  // First pass: kinds, and every CSV problem, before the database is touched.
  let columns: CsvImportResult['columns'];
  let expectedRows: number;
  try {
    const read = await readCsvFile(file);
    columns = read.columns.map((column) => ({ name: stripBom(column.name), type: columnType(column) }));
    expectedRows = read.rowCount;
  } catch (error) {
    if (error instanceof CsvError) throw fail(error.message, error.line, error);
    if (isErrnoError(error))
      throw fail(`the file cannot be read (${error.code ?? error.message}).`, undefined, error);
    throw error;
  }
  const tooLong = columns.find((column) => Buffer.byteLength(column.name) > MAX_IDENTIFIER_BYTES);
  if (tooLong) {
    throw fail(
      `column name ${JSON.stringify(tooLong.name)} is longer than PostgreSQL's 63 bytes; shorten it in the header.`,
      1,
    );
  }

  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw fail(
      `cannot connect to PostgreSQL (${error instanceof Error ? error.message : String(error)}); ` +
        'start the stack with `kerf stack up` or check DATABASE_URL.',
      undefined,
      error,
    );
  }

  const encoder = new CanonicalCsv(columns);
  let rows: number;
  try {
    await client.query('BEGIN');
    if (options.replace) await client.query(`DROP TABLE IF EXISTS ${table.sql}`);
    const definitions = columns.map((column) => `${pg.escapeIdentifier(column.name)} ${column.type}`);
    try {
      await client.query(`CREATE TABLE ${table.sql} (${definitions.join(', ')})`);
    } catch (error) {
      if (databaseCode(error) === '42P07') {
        throw fail(
          `table ${table.name} already exists; pass --replace to drop and load it again.`,
          undefined,
          error,
        );
      }
      if (databaseCode(error) === '3F000') {
        throw fail(
          `schema ${table.name.split('.')[0] ?? ''} does not exist; create it first.`,
          undefined,
          error,
        );
      }
      throw error;
    }
    const copy = copyFrom(`COPY ${table.sql} FROM STDIN WITH (FORMAT csv, HEADER true, NULL '')`);
    await pipeline(
      createReadStream(file, { highWaterMark: 1 << 20 }),
      (source: AsyncIterable<Buffer>) => encoder.encode(source),
      client.query(copy),
    );
    rows = copy.rowCount;
    if (rows !== expectedRows) {
      throw fail(`the first read found ${expectedRows} rows but ${rows} were loaded; did the file change?`);
    }
    await client.query('COMMIT');
  } catch (error) {
    let broken: Error | undefined;
    try {
      await client.query('ROLLBACK');
    } catch (rollbackError) {
      broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
    }
    client.release(broken ?? false);
    if (error instanceof CsvImportError) throw error;
    if (error instanceof CsvError) throw fail(error.message, error.line, error);
    if (error instanceof pg.DatabaseError) {
      const copyLine = /\bline (\d+)\b/.exec(error.where ?? '');
      const line = copyLine?.[1] === undefined ? undefined : encoder.fileLine(Number(copyLine[1]));
      // "COPY name, line 4, column x: ..." names PostgreSQL's line, not the file's: keep the rest.
      const rest = (error.where ?? '').replace(/^COPY [^,]*(, line \d+)?(, )?/, '');
      const where = rest === '' ? '' : ` (${rest})`;
      throw fail(`${line === undefined ? '' : `line ${line}: `}${error.message}${where}`, line, error);
    }
    throw fail(error instanceof Error ? error.message : String(error), undefined, error);
  }
  client.release();
  return { table: table.name, rows, columns };
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function isErrnoError(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && 'code' in error && 'syscall' in error;
}

function databaseCode(error: unknown): string | undefined {
  return error instanceof pg.DatabaseError ? error.code : undefined;
}

const MISSING = new Set(DEFAULT_MISSING_VALUES);

/**
 * Re-encodes the file as canonical CSV for COPY (see the top of this file), checking on the way
 * that it still matches what the first pass read.
 */
class CanonicalCsv implements RecordSink {
  private headerDone = false;
  private header: string[] = [];
  private fields: string[] = [];
  private out: string[] = [];
  /** The COPY input line the next record starts on (PostgreSQL counts newlines inside quotes too). */
  private nextCopyLine = 1;
  /**
   * [first COPY line, last COPY line, file line] of records where COPY and file lines stop moving
   * in step (multi-line records, blank lines skipped, and the record after each); between two
   * entries every record is one line with the same offset as the entry before.
   */
  private marks: [number, number, number][] = [];
  private offset = 0;
  private markNext = false;

  constructor(private readonly columns: CsvImportResult['columns']) {}

  async *encode(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    const decoder = new TextDecoder('utf-8', { fatal: true });
    const parser = new CsvParser(this);
    let first = true;
    for await (const chunk of source) {
      let text = decoder.decode(chunk, { stream: true });
      if (first && text.length > 0) {
        text = stripBom(text);
        first = false;
      }
      parser.push(text);
      if (this.out.length > 0) yield this.take();
    }
    parser.push(decoder.decode());
    parser.finish();
    if (!this.headerDone) throw new CsvError('The CSV is empty; did the file change?');
    if (this.out.length > 0) yield this.take();
  }

  /** The file line where the record holding PostgreSQL's COPY line `copyLine` starts. */
  fileLine(copyLine: number): number {
    let mark: [number, number, number] | undefined;
    for (const candidate of this.marks) {
      if (candidate[0] > copyLine) break;
      mark = candidate;
    }
    if (!mark) return copyLine;
    const [first, last, line] = mark;
    return copyLine <= last ? line : copyLine + line - first;
  }

  field(text: string, line: number): void {
    if (!this.headerDone) {
      this.header.push(this.header.length === 0 ? stripBom(text) : text);
      return;
    }
    const column = this.columns[this.fields.length];
    if (!column) {
      throw new CsvError(`Line ${line} has more fields than the header; did the file change?`, line);
    }
    this.fields.push(encodeValue(text, column.type, column.name, line));
  }

  endRecord(line: number): void {
    if (!this.headerDone) {
      this.headerDone = true;
      const expected = this.columns.map((column) => column.name);
      if (this.header.join('\n') !== expected.join('\n')) {
        throw new CsvError(
          `Line ${line} (the header) differs from the first read; did the file change?`,
          line,
        );
      }
      this.emit(expected.map(quote).join(','), line);
      return;
    }
    if (this.fields.length !== this.columns.length) {
      throw new CsvError(
        `Line ${line} has ${this.fields.length} fields but the header has ${this.columns.length}; did the file change?`,
        line,
      );
    }
    this.emit(this.fields.join(','), line);
    this.fields = [];
  }

  private emit(record: string, line: number): void {
    const first = this.nextCopyLine;
    let last = first;
    for (let at = record.indexOf('\n'); at >= 0; at = record.indexOf('\n', at + 1)) last++;
    this.nextCopyLine = last + 1;
    const multiLine = last > first;
    if (multiLine || this.markNext || line - first !== this.offset) {
      this.marks.push([first, last, line]);
      this.offset = line - first;
    }
    this.markNext = multiLine;
    this.out.push(record, '\n');
  }

  private take(): Buffer {
    const chunk = Buffer.from(this.out.join(''), 'utf8');
    this.out = [];
    return chunk;
  }
}

function quote(text: string): string {
  return `"${text.replace(/"/g, '""')}"`;
}

/** One value in canonical CSV: an unquoted empty field is NULL. */
function encodeValue(text: string, type: CsvColumnType, name: string, line: number): string {
  if (type === 'text') return text === '' ? '' : quote(text);
  const value = Number(text);
  const trimmed = text.trim();
  if (Number.isFinite(value) && (value !== 0 || trimmed !== '')) {
    if (type === 'bigint' && !Number.isSafeInteger(value)) {
      throw new CsvError(
        `Line ${line}: column "${name}" holds ${JSON.stringify(text)}, not a whole number; did the file change?`,
        line,
      );
    }
    return Object.is(value, -0) && type === 'double precision' ? '-0' : String(value);
  }
  if (trimmed === '' || MISSING.has(trimmed)) return '';
  throw new CsvError(
    `Line ${line}: column "${name}" holds ${JSON.stringify(text)}, not a number; did the file change?`,
    line,
  );
}
