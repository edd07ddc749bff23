/**
 * Every prediction goes to `serving.predictions`, written in batches off the request path: a
 * request only appends to a buffer; each row's JSON and COPY line are made between requests, after
 * the answers went out; and a timer (or a full batch) writes the batch with one COPY
 * (`predictionCopy.ts`), or, when that is refused, one INSERT of arrays. PostgreSQL being slow or away never fails a request: the buffer holds up to `maxPending`
 * rows and keeps retrying; beyond that new rows are dropped and counted. A row PostgreSQL refuses
 * (a value it cannot store) never blocks the rows behind it: the batch is written row by row and the
 * refused row goes to `serving.prediction_dead_letters` with its reason. Rows are keyed by their
 * prediction id and time (the table is partitioned by month of `served_at`, migration 000016), so a
 * batch written twice (a retry after a lost answer) adds nothing. The log says
 * when it is degraded (rows piling up, a failing write, a recent dead letter) for `/healthz`,
 * `/v1/status` and the metrics.
 */
import type pg from 'pg';
import type { PredictionWarning } from './contract';
import { errorMessage } from './errors';
import type { ServingMetrics } from './metrics';
import type { RawRow } from './payload';
import { copyLine, copyPredictions } from './predictionCopy';
import { excerptOf, isRowRefusal, refusalReason, writeDeadLetter } from './predictionDeadLetters';

/** A prediction's value as logged and answered. */
export type PredictionOutput = { value: number } | { label: string; probabilities: Record<string, number> };

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
   * The most rows held in memory while PostgreSQL cannot take them; more are dropped and counted.
   * @default 100000
   */
  maxPending?: number;
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
  pending: number;
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

const INSERT_SQL = `INSERT INTO serving.predictions
    (prediction_id, model, version, alias, key, inputs, output, warnings, served_at, shadow_of)
  SELECT * FROM unnest($1::uuid[], $2::text[], $3::int[], $4::text[], $5::text[], $6::jsonb[], $7::jsonb[],
    $8::jsonb[], $9::timestamptz[], $10::uuid[])
  ON CONFLICT DO NOTHING`;

/** Pending rows whose JSON is made in one turn of the event loop (a few hundred microseconds). */
const ENCODED_PER_TURN = 64;

/** A record with its JSON columns and its line of COPY text, or why it cannot be written as JSON at all. */
type Prepared =
  | { record: PredictionRecord; json: { inputs: string; output: string; warnings: string }; line: string }
  | { record: PredictionRecord; problem: unknown };

export class PredictionLog {
  private pending: PredictionRecord[] = [];
  /**
   * The JSON columns of pending rows, made a slice at a time between requests (after their answers
   * were written), so a write does not stop the event loop for a whole batch's JSON.
   */
  private readonly encoded = new WeakMap<PredictionRecord, Prepared>();
  /** How many pending rows, from the front, have their JSON made. */
  private encodedRows = 0;
  private encodeScheduled = false;
  /** The ids of the pending answers (not shadow scores): an outcome may name one not written yet. */
  private readonly pendingIds = new Set<string>();
  private chain: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;
  private readonly batchSize: number;
  private readonly maxPending: number;
  private readonly degradedPendingRows: number;
  private readonly deadLetterWindowMs: number;
  private written = 0;
  private dropped = 0;
  private deadLetters = 0;
  private flushFailures = 0;
  private lastDeadLetterAt: Date | null = null;
  private lastWriteAt: Date | null = null;
  private lastError: { code: string; at: Date } | null = null;
  private closed = false;
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
    const interval = positiveInteger(options.flushIntervalMs ?? 500, 'flushIntervalMs');
    this.timer = setInterval(() => void this.flush(), interval);
    this.timer.unref();
    metrics.beforeScrape(() => this.updateGauges());
  }

  /**
   * Buffers predictions for the next write; never waits and never throws. The request path's only
   * work for the log: the gauges are brought up to date at each write and before each scrape.
   */
  add(records: readonly PredictionRecord[]): void {
    const room = this.closed ? 0 : this.maxPending - this.pending.length;
    const taken = Math.min(records.length, Math.max(0, room));
    for (let index = 0; index < taken; index++) {
      const record = records[index] as PredictionRecord;
      this.pending.push(record);
      // Outcomes name answers, never shadow scores.
      if (record.alias !== 'shadow') this.pendingIds.add(record.predictionId);
    }
    if (taken > 0 && !this.encodeScheduled) {
      this.encodeScheduled = true;
      setImmediate(() => this.encodeSome());
    }
    const lost = records.length - taken;
    if (lost > 0) {
      this.dropped += lost;
      this.metrics.droppedPredictions.inc(lost);
      this.updateGauges();
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
      .catch((error: unknown) => this.noteFailure(error, this.pending.length))
      .finally(() => {
        this.flushing = this.chain !== settled;
        this.updateGauges();
      });
    const settled = this.chain;
    return this.chain;
  }

  status(): PredictionLogStatus {
    const degraded = this.degradedReasons();
    return {
      state: degraded.length > 0 ? 'degraded' : 'ok',
      degraded,
      pending: this.pending.length,
      written: this.written,
      dropped: this.dropped,
      deadLetters: this.deadLetters,
      lastDeadLetterAt: this.lastDeadLetterAt?.toISOString() ?? null,
      flushFailures: this.flushFailures,
      lastWriteAt: this.lastWriteAt?.toISOString() ?? null,
      lastError: this.lastError ? { code: this.lastError.code, at: this.lastError.at.toISOString() } : null,
    };
  }

  /** Stops the timer and writes what is buffered; rows PostgreSQL still cannot take are counted as dropped. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    await this.flush();
    if (this.pending.length > 0) {
      this.log.warn(
        { rows: this.pending.length, error: this.lastError?.code },
        'serving closed with predictions PostgreSQL would not take; they are not logged',
      );
      this.dropped += this.pending.length;
      this.metrics.droppedPredictions.inc(this.pending.length);
      this.settle(this.pending.length);
    }
  }

  private degradedReasons(): string[] {
    const reasons: string[] = [];
    if (this.pending.length > this.degradedPendingRows) {
      reasons.push(
        `${this.pending.length} predictions wait to be written, more than ${this.degradedPendingRows}`,
      );
    }
    if (this.lastError) {
      reasons.push(
        `writing predictions fails since ${this.lastError.at.toISOString()} (${this.lastError.code}); the serving log has the error`,
      );
    }
    if (this.lastDeadLetterAt && Date.now() - this.lastDeadLetterAt.getTime() < this.deadLetterWindowMs) {
      reasons.push(
        `PostgreSQL refused prediction rows, set aside in serving.prediction_dead_letters (the last at ${this.lastDeadLetterAt.toISOString()})`,
      );
    }
    return reasons;
  }

  private updateGauges(): void {
    this.metrics.pendingPredictions.set(this.pending.length);
    this.metrics.predictionLogDegraded.set(this.degradedReasons().length > 0 ? 1 : 0);
  }

  /** Takes the first `count` pending rows off the buffer: written, dead-lettered or dropped. */
  private settle(count: number): void {
    for (const record of this.pending.splice(0, count)) this.pendingIds.delete(record.predictionId);
    this.encodedRows = Math.max(0, this.encodedRows - count);
  }

  /** Makes the JSON of the next few pending rows, and comes back for more in the loop's next turn. */
  private encodeSome(): void {
    this.encodeScheduled = false;
    const end = Math.min(this.pending.length, this.encodedRows + ENCODED_PER_TURN);
    for (let index = this.encodedRows; index < end; index++) {
      const record = this.pending[index] as PredictionRecord;
      if (!this.encoded.has(record)) this.encoded.set(record, prepare(record));
    }
    this.encodedRows = end;
    if (end < this.pending.length) {
      this.encodeScheduled = true;
      setImmediate(() => this.encodeSome());
    }
  }

  private async writePending(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.slice(0, this.batchSize);
      const settled = await this.writeBatch(batch);
      this.settle(settled);
      this.updateGauges();
      // PostgreSQL cannot take rows now: the rest waits for the next flush.
      if (settled < batch.length) return;
    }
  }

  /**
   * Writes a batch in one INSERT; when PostgreSQL refuses a row of it, row by row, setting aside each
   * row it refuses. Stops at a failure that is not about a row (the connection, a grant).
   *
   * @returns how many rows from the front of the batch are done with (written or set aside)
   */
  private async writeBatch(batch: readonly PredictionRecord[]): Promise<number> {
    const prepared = batch.map((record) => this.encoded.get(record) ?? prepare(record));
    if (prepared.every((entry) => 'json' in entry)) {
      if (prepared.length > 1) {
        try {
          await copyPredictions(
            this.pool,
            prepared.map((entry) => ('line' in entry ? entry.line : '')),
          );
          this.noteWritten(prepared.length);
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
        await this.insert(prepared);
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
    for (const [index, entry] of prepared.entries()) {
      let refusal: unknown = 'problem' in entry ? entry.problem : undefined;
      if ('json' in entry) {
        try {
          await this.insert([entry]);
          continue;
        } catch (error) {
          if (!isRowRefusal(error)) {
            this.noteFailure(error, batch.length - index);
            return index;
          }
          refusal = error;
        }
      }
      if (!(await this.setAside(entry.record, refusal))) return index;
    }
    return batch.length;
  }

  private async insert(batch: readonly Prepared[]): Promise<void> {
    const rows = batch.flatMap((entry) => ('json' in entry ? [entry] : []));
    await this.pool.query(INSERT_SQL, [
      rows.map(({ record }) => record.predictionId),
      rows.map(({ record }) => record.model),
      rows.map(({ record }) => record.version),
      rows.map(({ record }) => record.alias),
      rows.map(({ record }) => (record.key === null ? null : withoutNul(record.key))),
      rows.map(({ json }) => json.inputs),
      rows.map(({ json }) => json.output),
      rows.map(({ json }) => json.warnings),
      rows.map(({ record }) => record.servedAt.toISOString()),
      rows.map(({ record }) => record.shadowOf),
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
  private async setAside(record: PredictionRecord, refusal: unknown): Promise<boolean> {
    const reason = refusalReason(refusal);
    try {
      await writeDeadLetter(this.pool, {
        predictionId: record.predictionId,
        model: record.model,
        version: record.version,
        reason,
        excerpt: excerptOf({ key: record.key, inputs: record.inputs, output: record.output }),
      });
    } catch (error) {
      if (!isRowRefusal(error)) {
        this.noteFailure(error, 1);
        return false;
      }
      // Even the dead letter was refused: the row is lost, and the log says so.
      this.dropped += 1;
      this.metrics.droppedPredictions.inc();
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

  private noteFailure(error: unknown, rows: number): void {
    const first = this.lastError === null;
    this.lastError = { code: errorCode(error), at: new Date() };
    // Once per outage, not once per tick.
    if (first) {
      this.log.warn(
        { rows, pending: this.pending.length, error: errorMessage(error) },
        'cannot write predictions to serving.predictions; keeping them and retrying',
      );
    }
  }
}

/** A record's JSON columns, or the error that made one impossible (a structure too deep, say). */
function prepare(record: PredictionRecord): Prepared {
  let json: { inputs: string; output: string; warnings: string };
  try {
    json = {
      inputs: jsonText(record.inputs),
      output: jsonText(record.output),
      warnings: jsonText(record.warnings),
    };
  } catch (problem) {
    return { record, problem };
  }
  const line = copyLine({
    ...json,
    predictionId: record.predictionId,
    model: record.model,
    version: record.version,
    alias: record.alias,
    key: record.key === null ? null : withoutNul(record.key),
    servedAt: record.servedAt.toISOString(),
    shadowOf: record.shadowOf,
  });
  return { record, json, line };
}

/** PostgreSQL's SQLSTATE or the network error's code, for the status; `unknown` when there is none. */
function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z_]{1,32}$/.test(code) ? code : 'unknown';
}

/** JSON for a jsonb column: PostgreSQL's jsonb refuses the NUL character, so it becomes U+FFFD. */
function jsonText(value: unknown): string {
  const text = JSON.stringify(value);
  // JSON.stringify writes a NUL as \u0000: only text holding that needs the slower pass.
  if (!text.includes('\\u0000')) return text;
  return JSON.stringify(value, (_key, item: unknown) => (typeof item === 'string' ? withoutNul(item) : item));
}

function withoutNul(text: string): string {
  return text.includes('\u0000') ? text.replaceAll('\u0000', '\uFFFD') : text;
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new Error(`predictionLog.${name} must be a whole number from 1, got ${value}`);
  }
  return value;
}
