/**
 * The prediction log's writes to PostgreSQL: a batch with one COPY (or one INSERT ... ON CONFLICT DO
 * NOTHING once COPY refused it, skipping rows already there), a chunk of the spill file with one COPY,
 * and, when PostgreSQL refuses a row, the batch row by row with each refused row set aside in
 * `serving.prediction_dead_letters`. It keeps the counts and the last failure the log reports.
 */
import type pg from 'pg';
import { errorMessage } from './errors';
import type { ServingMetrics } from './metrics';
import { type CopyRow, copyPredictions, parseCopyLine } from './predictionCopy';
import { excerptOf, isRowRefusal, refusalReason, writeDeadLetter } from './predictionDeadLetters';
import type { SpilledChunk } from './predictionSpill';

const INSERT_SQL = `INSERT INTO serving.predictions
    (prediction_id, model, version, alias, key, inputs, output, warnings, served_at, shadow_of)
  SELECT * FROM unnest($1::uuid[], $2::text[], $3::int[], $4::text[], $5::text[], $6::jsonb[], $7::jsonb[],
    $8::jsonb[], $9::timestamptz[], $10::uuid[])
  ON CONFLICT DO NOTHING`;

/** What a dead letter tells of a row still in memory (a `PredictionRecord`). */
export interface HeldRecord {
  predictionId: string;
  model: string;
  version: number;
  key: string | null;
  inputs: unknown;
  output: unknown;
}

/**
 * A row to write: its COPY line (with its record when the log still has it; a row whose line was
 * made ahead, or read back from the spill file, has none: its values are read back from the line
 * when COPY is refused), or a record that cannot be written as JSON at all.
 */
export type Writable = { line: string; record?: HeldRecord } | { record: HeldRecord; problem: unknown };

/** A line's values, for the INSERT that follows a refused COPY (rare: parsed only then). */
const rowOf = (entry: { line: string }): CopyRow => parseCopyLine(entry.line);

export interface PredictionWritesHooks {
  /** Told of rows lost for good (PostgreSQL refused the row and its dead letter). */
  dropped(rows: number): void;
  /** The rows waiting, for the serving log's line about a failing write. */
  pendingRows(): number;
}

export class PredictionWrites {
  written = 0;
  deadLetters = 0;
  flushFailures = 0;
  lastDeadLetterAt: Date | null = null;
  lastWriteAt: Date | null = null;
  /** The last failed write, until a write succeeds again. */
  lastError: { code: string; at: Date } | null = null;

  constructor(
    private readonly pool: pg.Pool,
    private readonly metrics: ServingMetrics,
    private readonly log: { warn(details: object, message: string): void },
    private readonly hooks: PredictionWritesHooks,
  ) {}

  /**
   * Writes a chunk of the spill file with one COPY; when PostgreSQL refuses a row of it, as rows
   * read back from their lines, through `writeBatch`.
   *
   * @returns whether the whole chunk is done with (written or set aside)
   */
  async writeSpilled(chunk: SpilledChunk, commitPart: (part: SpilledChunk) => void): Promise<boolean> {
    try {
      await copyPredictions(this.pool, chunk.text);
      this.noteWritten(chunk.rows);
      return true;
    } catch (error) {
      if (!isRowRefusal(error)) {
        this.countFlushFailure();
        this.noteFailure(error, chunk.rows);
        return false;
      }
    }
    const lines = chunk.text.toString('utf8').split('\n');
    lines.pop();
    const batch: Writable[] = lines.map((line) => ({ line: `${line}\n` }));
    const settled = await this.writeBatch(batch, true);
    // Written in part: the lines done with are taken off the chunk, the rest waits.
    if (settled < batch.length) {
      const doneBytes = Buffer.byteLength(lines.slice(0, settled).join('\n')) + (settled > 0 ? 1 : 0);
      commitPart({ text: chunk.text.subarray(0, doneBytes), rows: settled, bytes: doneBytes });
      return false;
    }
    return true;
  }

  /**
   * Writes a batch in one COPY (or, once COPY refused it, one INSERT); when PostgreSQL refuses a row
   * of it, row by row, setting aside each row it refuses. Stops at a failure that is not about a row
   * (the connection, a grant).
   *
   * @param copyRefused the batch's COPY was refused already (a chunk of the spill file)
   * @returns how many rows from the front of the batch are done with (written or set aside)
   */
  async writeBatch(batch: readonly Writable[], copyRefused = false): Promise<number> {
    const lines = batch.flatMap((entry) => ('line' in entry ? [entry] : []));
    if (lines.length === batch.length) {
      if (lines.length > 1 && !copyRefused) {
        try {
          await copyPredictions(this.pool, lines.map((entry) => entry.line).join(''));
          this.noteWritten(batch.length);
          return batch.length;
        } catch (error) {
          if (!isRowRefusal(error)) {
            this.countFlushFailure();
            this.noteFailure(error, batch.length);
            return 0;
          }
          // A row refused, or one written before (a retry after a lost answer): INSERT ... ON
          // CONFLICT skips those already there, and row by row finds the one refused.
        }
      }
      try {
        await this.insert(lines.map(rowOf));
        return batch.length;
      } catch (error) {
        this.countFlushFailure();
        if (!isRowRefusal(error)) {
          this.noteFailure(error, batch.length);
          return 0;
        }
      }
    } else {
      // A row that cannot even become JSON (nested past the stack) fails the batch as surely.
      this.countFlushFailure();
    }
    for (const [index, entry] of batch.entries()) {
      let refusal: unknown = 'problem' in entry ? entry.problem : undefined;
      if ('line' in entry) {
        try {
          await this.insert([rowOf(entry)]);
          continue;
        } catch (error) {
          if (!isRowRefusal(error)) {
            this.noteFailure(error, batch.length - index);
            return index;
          }
          refusal = error;
        }
      }
      if (!(await this.setAside(entry, refusal))) return index;
    }
    return batch.length;
  }

  private async insert(rows: readonly CopyRow[]): Promise<void> {
    await this.pool.query(INSERT_SQL, [
      rows.map((row) => row.predictionId),
      rows.map((row) => row.model),
      rows.map((row) => row.version),
      rows.map((row) => row.alias),
      rows.map((row) => row.key),
      rows.map((row) => row.inputs),
      rows.map((row) => row.output),
      rows.map((row) => row.warnings),
      rows.map((row) => row.servedAt),
      rows.map((row) => row.shadowOf),
    ]);
    this.noteWritten(rows.length);
  }

  private noteWritten(rows: number): void {
    this.written += rows;
    this.metrics.loggedPredictions.inc(rows);
    this.lastWriteAt = new Date();
    this.lastError = null;
  }

  /**
   * Puts a row PostgreSQL refused into the dead-letter table.
   *
   * @returns false when that could not be done now (PostgreSQL away): the row stays pending
   */
  private async setAside(entry: Writable, refusal: unknown): Promise<boolean> {
    const reason = refusalReason(refusal);
    const row = 'line' in entry ? rowOf(entry) : undefined;
    const record = entry.record ?? row;
    if (!record) return true;
    try {
      await writeDeadLetter(this.pool, {
        predictionId: record.predictionId,
        model: record.model,
        version: record.version,
        reason,
        excerpt: excerptOf(
          entry.record
            ? { key: entry.record.key, inputs: entry.record.inputs, output: entry.record.output }
            : readBack(row as CopyRow),
        ),
      });
    } catch (error) {
      if (!isRowRefusal(error)) {
        this.noteFailure(error, 1);
        return false;
      }
      // Even the dead letter was refused: the row is lost, and the log says so.
      this.hooks.dropped(1);
      this.log.warn(
        { predictionId: record.predictionId, model: record.model, reason, error: errorMessage(error) },
        'PostgreSQL refused a prediction row and its dead letter; it is not logged',
      );
      return true;
    }
    this.deadLetters += 1;
    this.lastDeadLetterAt = new Date();
    this.metrics.predictionDeadLetters.inc({ model: record.model });
    this.log.warn(
      { predictionId: record.predictionId, model: record.model, version: record.version, reason },
      'PostgreSQL refused a prediction row; it is in serving.prediction_dead_letters',
    );
    return true;
  }

  private countFlushFailure(): void {
    this.flushFailures += 1;
    this.metrics.predictionLogFlushFailures.inc();
  }

  /** Records a failed write; says so in the serving log once per outage. */
  noteFailure(error: unknown, rows: number): void {
    const first = this.lastError === null;
    this.lastError = { code: errorCode(error), at: new Date() };
    // Once per outage, not once per tick.
    if (first) {
      this.log.warn(
        { rows, pending: this.hooks.pendingRows(), error: errorMessage(error) },
        'cannot write predictions to serving.predictions; keeping them and retrying',
      );
    }
  }
}

/** A row read back from its COPY line, as a dead letter's excerpt shows it. */
function readBack(row: CopyRow): object {
  const parsed = (text: string): unknown => {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  };
  return { key: row.key, inputs: parsed(row.inputs), output: parsed(row.output) };
}

/** PostgreSQL's SQLSTATE or the network error's code, for the status; `unknown` when there is none. */
function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z_]{1,32}$/.test(code) ? code : 'unknown';
}
