/**
 * Every prediction goes to `serving.predictions`, written in batches off the request path: a
 * request only appends to a buffer; each row's JSON and COPY line are made between requests, after
 * the answers went out; and a timer (or a full batch) writes the batch with one COPY
 * (`predictionCopy.ts`), or, when that is refused, one INSERT of arrays. PostgreSQL being slow or
 * away never fails or slows a request: the buffer holds up to `maxPending` rows in memory, the newer
 * ones go to a spill file (`predictionSpill.ts`) written back in big COPY batches as PostgreSQL
 * catches up, and only past the spill file's limit are rows dropped and counted. A row PostgreSQL
 * refuses (a value it cannot store) never blocks the rows behind it: the batch is written row by
 * row and the refused row goes to `serving.prediction_dead_letters` with its reason. Rows are keyed
 * by their prediction id and time (the table is partitioned by month of `served_at`, migration
 * 000016), so a batch written twice (a retry after a lost answer) adds nothing. The log says when it
 * is degraded (rows piling up, a failing write, a recent dead letter) for `/healthz`, `/v1/status`
 * and the metrics.
 */
import type pg from 'pg';
import type { PredictionWarning } from './contract';
import { errorMessage } from './errors';
import type { ServingMetrics } from './metrics';
import type { RawRow } from './payload';
import { encodePrediction, type PredictionOutput } from './predictionCopy';
import { PredictionSpill } from './predictionSpill';
import { PredictionWrites, type Writable } from './predictionWrites';

export type { PredictionOutput } from './predictionCopy';

/** One row of `serving.predictions`. */
export interface PredictionRecord {
  predictionId: string;
  model: string;
  version: number;
  alias: 'production' | 'canary' | 'shadow';
  key: string | null;
  /** The model's input columns of the row, as checked against its contract. */
  inputs: RawRow;
  output: PredictionOutput;
  warnings: PredictionWarning[];
  servedAt: Date;
  /** For a shadow prediction: the prediction that answered the same row. */
  shadowOf: string | null;
}

export interface PredictionLogOptions {
  /**
   * How often buffered predictions are written, in milliseconds.
   * @default 500
   */
  flushIntervalMs?: number;
  /**
   * Rows per INSERT; a full batch is written without waiting for the timer.
   * @default 500
   */
  batchSize?: number;
  /**
   * The most rows held in memory while PostgreSQL cannot take them; newer ones go to the spill file.
   * @default 100000
   */
  maxPending?: number;
  /**
   * The most bytes of COPY text the spill file holds (a row takes about 250); past it rows are
   * dropped and counted.
   * @default 1073741824 (1 GiB)
   */
  maxSpillBytes?: number;
  /**
   * Where the spill file's folder is made (a fresh folder, removed when the log closes).
   * @default the OS's temporary folder
   */
  spillDirectory?: string;
  /**
   * Rows waiting to be written above which the log reports itself degraded.
   * @default 10000
   */
  degradedPendingRows?: number;
  /**
   * How long a dead letter keeps the log reported as degraded, in milliseconds.
   * @default 900000 (15 minutes)
   */
  deadLetterWindowMs?: number;
}

/** How the log is doing, for `GET /v1/status`. */
export interface PredictionLogStatus {
  /** `degraded` when rows pile up, the last write failed, or a row was dead-lettered recently. */
  state: 'ok' | 'degraded';
  /** Why it is degraded, one sentence each; empty when ok. */
  degraded: string[];
  /** Rows waiting to be written, in memory or in the spill file. */
  pending: number;
  /** Of the pending rows, those in the spill file. */
  spilled: number;
  written: number;
  dropped: number;
  /** Rows set aside in `serving.prediction_dead_letters` since serving started. */
  deadLetters: number;
  lastDeadLetterAt: string | null;
  /** Batch writes that failed since serving started (PostgreSQL away, or a row it refused). */
  flushFailures: number;
  lastWriteAt: string | null;
  /**
   * The last failed write, until a write succeeds again: when, and PostgreSQL's SQLSTATE or the
   * network error's code (the full text is in the serving log, not here).
   */
  lastError: { code: string; at: string } | null;
}

interface LogWarn {
  warn(details: object, message: string): void;
}

/**
 * A pending row once its line of COPY text is made: the line alone (one flat string, `copyLine`)
 * and the id, so the record, its inputs and the row's other strings are garbage while still young.
 * Rows wait up to a flush interval, long enough to outlive a scavenge or two: what they hold is what
 * each scavenge copies (a pause on the event loop) and what is promoted to the old generation (a
 * mark-compact later).
 */
interface EncodedRow {
  predictionId: string;
  line: string;
}

/** A pending row: its record until its line is made (or when it cannot be written as JSON). */
type PendingRow = PredictionRecord | EncodedRow;

/** A record that cannot be written as JSON (nested past the stack), and why: the writer sets it aside. */
interface UnencodableRow {
  record: PredictionRecord;
  problem: unknown;
}

const isEncoded = (row: PendingRow | UnencodableRow): row is EncodedRow => 'line' in row;

/**
 * A record as its encoded row, or as why it cannot be written as JSON: the one place a logged
 * prediction becomes the line its pending row keeps, whether made between requests, at a flush or on
 * the way to the spill file.
 */
function encodeRow(record: PredictionRecord): EncodedRow | UnencodableRow {
  const encoded = encodePrediction(record);
  return 'line' in encoded
    ? { predictionId: record.predictionId, line: encoded.line }
    : { record, problem: encoded.problem };
}

/** Pending rows whose JSON is made in one turn of the event loop (a few hundred microseconds). */
const ENCODED_PER_TURN = 64;
/** The most rows from memory in one COPY, when their lines are made already. */
const MAX_COPY_ROWS = 5000;
/** About how many bytes of the spill file one COPY takes (some 4,000 rows). */
const SPILL_CHUNK_BYTES = 1 << 20;

export class PredictionLog {
  /**
   * Rows waiting to be written: records as requests hand them in, their COPY lines made a slice at a
   * time between requests (after their answers were written), so a write does not stop the event
   * loop for a whole batch's JSON.
   */
  private pending: PendingRow[] = [];
  /** How many pending rows, from the front, have had their line made (or found to have none). */
  private encodedRows = 0;
  private encodeScheduled = false;
  private spillScheduled = false;
  private readonly spill: PredictionSpill;
  /** The ids of the pending answers (not shadow scores): an outcome may name one not written yet. */
  private readonly pendingIds = new Set<string>();
  private chain: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;
  private readonly batchSize: number;
  private readonly maxPending: number;
  private readonly degradedPendingRows: number;
  private readonly deadLetterWindowMs: number;
  private dropped = 0;
  private readonly writes: PredictionWrites;
  private closed = false;
  /** The causes of lost rows already in the serving log. */
  private readonly lossesTold = new Set<string>();
  /** A flush is running or chained: a full buffer needs no other. */
  private flushing = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly metrics: ServingMetrics,
    private readonly log: LogWarn,
    options: PredictionLogOptions = {},
  ) {
    this.batchSize = positiveInteger(options.batchSize ?? 500, 'batchSize');
    this.maxPending = positiveInteger(options.maxPending ?? 100_000, 'maxPending');
    this.degradedPendingRows = positiveInteger(options.degradedPendingRows ?? 10_000, 'degradedPendingRows');
    this.deadLetterWindowMs = positiveInteger(options.deadLetterWindowMs ?? 900_000, 'deadLetterWindowMs');
    this.writes = new PredictionWrites(pool, metrics, log, {
      dropped: (rows) => {
        this.dropped += rows;
        this.metrics.droppedPredictions.inc(rows);
      },
      pendingRows: () => this.pending.length + this.spill.rows,
    });
    this.spill = new PredictionSpill(
      options.spillDirectory,
      positiveInteger(options.maxSpillBytes ?? 1 << 30, 'maxSpillBytes'),
      (rows, error) => this.lose(rows, 'the disk refused the spill file', error),
    );
    const interval = positiveInteger(options.flushIntervalMs ?? 500, 'flushIntervalMs');
    this.timer = setInterval(() => void this.flush(), interval);
    this.timer.unref();
    metrics.beforeScrape(() => this.updateGauges());
  }

  /**
   * Buffers predictions for the next write; never waits and never throws. The request path's only
   * work for the log: the gauges are brought up to date at each write and before each scrape, and
   * rows past `maxPending` go to the spill file in the loop's next turn.
   */
  add(records: readonly PredictionRecord[]): void {
    if (this.closed) {
      this.lose(records.length, 'serving had closed');
      return;
    }
    for (let index = 0; index < records.length; index++) {
      const record = records[index] as PredictionRecord;
      this.pending.push(record);
      // Outcomes name answers, never shadow scores.
      if (record.alias !== 'shadow') this.pendingIds.add(record.predictionId);
    }
    if (!this.encodeScheduled) {
      this.encodeScheduled = true;
      setImmediate(() => this.encodeSome());
    }
    if (this.pending.length > this.maxPending && !this.spillScheduled) {
      this.spillScheduled = true;
      setImmediate(() => this.spillOverflow());
    }
    if (this.pending.length >= this.batchSize && !this.flushing) {
      this.flushing = true;
      // In the loop's next turn: this request's answer goes out first.
      setImmediate(() => void this.flush());
    }
  }

  /** Whether an answered prediction (not a shadow score) is buffered and not yet written. */
  holds(predictionId: string): boolean {
    return this.pendingIds.has(predictionId);
  }

  /** Writes everything buffered now; resolves when done or when a write failed (kept for later). */
  flush(): Promise<void> {
    this.flushing = true;
    // Never left rejected: a failed write is recorded, and the next flush tries again.
    this.chain = this.chain
      .then(() => this.writePending())
      .catch((error: unknown) => this.writes.noteFailure(error, this.pending.length))
      .finally(() => {
        this.flushing = this.chain !== settled;
        this.updateGauges();
      });
    const settled = this.chain;
    return this.chain;
  }

  status(): PredictionLogStatus {
    const degraded = this.degradedReasons();
    const { written, deadLetters, lastDeadLetterAt, flushFailures, lastWriteAt, lastError } = this.writes;
    return {
      state: degraded.length > 0 ? 'degraded' : 'ok',
      degraded,
      pending: this.pending.length + this.spill.rows,
      spilled: this.spill.rows,
      written,
      dropped: this.dropped,
      deadLetters,
      lastDeadLetterAt: lastDeadLetterAt?.toISOString() ?? null,
      flushFailures,
      lastWriteAt: lastWriteAt?.toISOString() ?? null,
      lastError: lastError ? { code: lastError.code, at: lastError.at.toISOString() } : null,
    };
  }

  /**
   * Stops the timer and writes what is buffered, the spill file included; rows PostgreSQL still
   * cannot take are counted as dropped.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    await this.flush();
    const left = this.pending.length + this.spill.rows;
    if (left > 0) {
      this.log.warn(
        { rows: left, error: this.writes.lastError?.code },
        'serving closed with predictions PostgreSQL would not take; they are not logged',
      );
      this.dropped += left;
      this.metrics.droppedPredictions.inc(left);
      this.settle(this.pending.length);
    }
    await this.spill.close();
  }

  private degradedReasons(): string[] {
    const reasons: string[] = [];
    const waiting = this.pending.length + this.spill.rows;
    if (waiting > this.degradedPendingRows) {
      reasons.push(`${waiting} predictions wait to be written, more than ${this.degradedPendingRows}`);
    }
    const { lastError, lastDeadLetterAt } = this.writes;
    if (lastError) {
      reasons.push(
        `writing predictions fails since ${lastError.at.toISOString()} (${lastError.code}); the serving log has the error`,
      );
    }
    if (lastDeadLetterAt && Date.now() - lastDeadLetterAt.getTime() < this.deadLetterWindowMs) {
      reasons.push(
        `PostgreSQL refused prediction rows, set aside in serving.prediction_dead_letters (the last at ${lastDeadLetterAt.toISOString()})`,
      );
    }
    return reasons;
  }

  private updateGauges(): void {
    this.metrics.pendingPredictions.set(this.pending.length + this.spill.rows);
    this.metrics.predictionLogDegraded.set(this.degradedReasons().length > 0 ? 1 : 0);
  }

  /** Takes the first `count` pending rows off the buffer: written, dead-lettered or dropped. */
  private settle(count: number): void {
    for (const row of this.pending.splice(0, count)) this.pendingIds.delete(row.predictionId);
    this.encodedRows = Math.max(0, this.encodedRows - count);
  }

  /** Counts rows that will never be written, and says why once per cause. */
  private lose(rows: number, why: string, error?: unknown): void {
    this.dropped += rows;
    this.metrics.droppedPredictions.inc(rows);
    if (!this.lossesTold.has(why)) {
      this.lossesTold.add(why);
      this.log.warn(
        { rows, ...(error === undefined ? {} : { error: errorMessage(error) }) },
        `predictions are not logged: ${why} (said once; the dropped count goes on)`,
      );
    }
    this.updateGauges();
  }

  /** Makes the JSON of the next few pending rows, and comes back for more in the loop's next turn. */
  private encodeSome(): void {
    this.encodeScheduled = false;
    const end = Math.min(this.pending.length, this.encodedRows + ENCODED_PER_TURN);
    for (let index = this.encodedRows; index < end; index++) this.encodedAt(index);
    this.encodedRows = end;
    if (end < this.pending.length) {
      this.encodeScheduled = true;
      setImmediate(() => this.encodeSome());
    }
  }

  /**
   * The pending row at `index` with its line made, and kept made (a write that fails leaves it ready
   * for the next); or, for a record that cannot be written as JSON, why (the record stays pending).
   */
  private encodedAt(index: number): EncodedRow | UnencodableRow {
    const row = this.pending[index] as PendingRow;
    if (isEncoded(row)) return row;
    const encoded = encodeRow(row);
    if (isEncoded(encoded)) this.pending[index] = encoded;
    return encoded;
  }

  /**
   * Moves the rows past `maxPending` (the newest) to the spill file, their lines made now: memory
   * holds at most `maxPending` rows and what one turn of the loop brings. Their ids leave
   * `pendingIds`, so an outcome naming one is checked against the table (it fails until the row is
   * written, which is why memory goes first).
   */
  private spillOverflow(): void {
    this.spillScheduled = false;
    if (this.pending.length <= this.maxPending) return;
    const overflow = this.pending.splice(this.maxPending);
    this.encodedRows = Math.min(this.encodedRows, this.maxPending);
    const lines: string[] = [];
    const unencodable: PredictionRecord[] = [];
    for (const pendingRow of overflow) {
      const row = isEncoded(pendingRow) ? pendingRow : encodeRow(pendingRow);
      // A row that cannot become JSON stays in memory, where the writer sets it aside.
      if (!isEncoded(row)) unencodable.push(row.record);
      else {
        lines.push(row.line);
        this.pendingIds.delete(row.predictionId);
      }
    }
    for (const record of unencodable) this.pending.push(record);
    if (!this.spill.append(lines)) this.lose(lines.length, 'the spill file is full');
    if (!this.flushing) void this.flush();
  }

  /**
   * Writes memory's rows and the spill file's, a batch of each in turn: the rows buffered when the
   * flush began, and more while a full batch waits; stops when PostgreSQL cannot take rows now (the
   * rest waits for the next flush). Rows that arrive meanwhile, fewer than a batch, wait for the
   * timer, so a steady trickle is not written a few rows per COPY.
   */
  private async writePending(): Promise<void> {
    let owed = this.pending.length;
    const memoryDue = () => this.pending.length > 0 && (owed > 0 || this.pending.length >= this.batchSize);
    while (memoryDue() || this.spill.rows > 0) {
      if (memoryDue()) {
        // Rows whose lines are made go in big COPY batches; the rest a batch at a time, made now.
        const size = Math.max(this.batchSize, Math.min(this.encodedRows, MAX_COPY_ROWS));
        const batch: Writable[] = [];
        // Never past maxPending: the rows beyond may move to the spill file while the batch is written.
        const rows = Math.min(size, this.pending.length, this.maxPending);
        for (let index = 0; index < rows; index++) batch.push(this.encodedAt(index));
        const settled = await this.writes.writeBatch(batch);
        this.settle(settled);
        owed -= settled;
        this.updateGauges();
        if (settled < batch.length) return;
      }
      if (this.spill.rows > 0) {
        let chunk = await this.spill.read(SPILL_CHUNK_BYTES);
        if (!chunk) {
          // Still on its way to disk.
          await this.spill.onDisk();
          chunk = await this.spill.read(SPILL_CHUNK_BYTES);
          if (!chunk) return;
        }
        if (!(await this.writes.writeSpilled(chunk, (done) => this.spill.commit(done)))) return;
        this.spill.commit(chunk);
        this.updateGauges();
      }
    }
  }
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new Error(`predictionLog.${name} must be a whole number from 1, got ${value}`);
  }
  return value;
}
