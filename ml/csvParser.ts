/** The incremental RFC 4180 parser behind `ml/csv.ts`: text in, fields and record ends out. */

/** A CSV file that cannot be read as a table; `line` is 1-based when the problem has a place. */
export class CsvError extends Error {
  constructor(
    message: string,
    readonly line?: number,
  ) {
    super(message);
    this.name = 'CsvError';
  }
}

/** Receives the parsed fields; `line` is the 1-based line where the record started. */
export interface RecordSink {
  field(text: string, line: number): void;
  endRecord(line: number): void;
}

const COMMA = 0x2c;
const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;

// Parser states.
const FIELD_START = 0;
const UNQUOTED = 1;
const QUOTED = 2;
/** A quote inside a quoted field: either the closing quote or the first half of "". */
const QUOTE_IN_QUOTED = 3;

/** Incremental RFC 4180 parser: feed text in chunks of any size, then `finish()`. Blank lines are skipped. */
export class CsvParser {
  /** The line the parser is on (1-based). */
  line = 1;
  private state: number = FIELD_START;
  private partial = '';
  private recordLine = 1;
  private quoteLine = 1;
  private fieldsInRecord = 0;
  /** The last chunk ended with CR: a LF starting the next chunk belongs to it. */
  private afterCr = false;

  constructor(private readonly sink: RecordSink) {}

  push(chunk: string): void {
    const n = chunk.length;
    let i = 0;
    if (this.afterCr && n > 0) {
      this.afterCr = false;
      if (chunk.charCodeAt(0) === LF) i = 1;
    }
    while (i < n) {
      if (this.state === QUOTED) {
        const quote = chunk.indexOf('"', i);
        const end = quote < 0 ? n : quote;
        for (let at = chunk.indexOf('\n', i); at >= 0 && at < end; at = chunk.indexOf('\n', at + 1))
          this.line++;
        this.partial += chunk.slice(i, end);
        if (quote < 0) return;
        this.state = QUOTE_IN_QUOTED;
        i = quote + 1;
        continue;
      }
      const c = chunk.charCodeAt(i);
      if (this.state === QUOTE_IN_QUOTED) {
        if (c === QUOTE) {
          this.partial += '"';
          this.state = QUOTED;
          i++;
          continue;
        }
        if (c !== COMMA && c !== LF && c !== CR) {
          throw new CsvError(
            `Line ${this.line}: unexpected ${JSON.stringify(chunk[i])} after the closing quote of a field; ` +
              'quote the whole field and write quotes inside it as "".',
            this.line,
          );
        }
        this.emit(this.partial);
        i = this.terminate(chunk, i);
        continue;
      }
      if (this.state === FIELD_START) {
        if (c === QUOTE) {
          this.state = QUOTED;
          this.quoteLine = this.line;
          i++;
          continue;
        }
        if (c === COMMA || c === LF || c === CR) {
          // An empty field, unless the whole line is empty (skipped).
          if (c === COMMA || this.fieldsInRecord > 0) this.emit('');
          i = this.terminate(chunk, i);
          continue;
        }
        this.state = UNQUOTED;
      }
      // Unquoted: scan to the next separator; a quote inside an unquoted field is kept as text.
      let j = i;
      while (j < n) {
        const d = chunk.charCodeAt(j);
        if (d === COMMA || d === LF || d === CR) break;
        j++;
      }
      if (j === n) {
        this.partial += chunk.slice(i, n);
        return;
      }
      this.emit(this.partial === '' ? chunk.slice(i, j) : this.partial + chunk.slice(i, j));
      i = this.terminate(chunk, j);
    }
  }

  /** Ends the input; an unclosed quote is an error naming the line where the field started. */
  finish(): void {
    if (this.state === QUOTED) {
      throw new CsvError(
        `Line ${this.quoteLine}: a quoted field starting here is never closed (end of file reached); ` +
          'add the closing quote, and write quotes inside a field as "".',
        this.quoteLine,
      );
    }
    if (this.state !== FIELD_START || this.fieldsInRecord > 0) {
      this.emit(this.partial);
      this.sink.endRecord(this.recordLine);
    }
  }

  private emit(text: string): void {
    this.partial = '';
    this.fieldsInRecord++;
    this.sink.field(text, this.recordLine);
  }

  /** Handles the separator at `i` (comma, LF or CR) and returns the index after it. */
  private terminate(chunk: string, i: number): number {
    this.state = FIELD_START;
    const c = chunk.charCodeAt(i);
    if (c === COMMA) return i + 1;
    if (this.fieldsInRecord > 0) this.sink.endRecord(this.recordLine);
    this.fieldsInRecord = 0;
    this.line++;
    this.recordLine = this.line;
    if (c === CR) {
      if (i + 1 === chunk.length) this.afterCr = true;
      else if (chunk.charCodeAt(i + 1) === LF) return i + 2;
    }
    return i + 1;
  }
}
