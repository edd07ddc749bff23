/**
 * Every prediction goes to `serving.predictions`, written in batches off the request path: a
 * request only appends to a buffer, and a timer (or a full batch) writes it with one INSERT of
 * arrays. PostgreSQL being slow or away never fails a request: the buffer holds up to `maxPending`
 * rows and keeps retrying; beyond that new rows are dropped and counted. Rows are keyed by their
 * prediction id, so a batch written twice (a retry after a lost answer) adds nothing.
 */
import type pg from 'pg';
import type { PredictionWarning } from './contract';
import { errorMessage } from './errors';
import type { ServingMetrics } from './metrics';
import type { RawRow } from './payload';

/** A prediction's value as logged and answered. */
export type PredictionOutput = { value: number } | { label: string; probabilities: Record<string, number> };

/** One row of `serving.predictions`. */
export interface PredictionRecord {
  predictionId: string;
  model: string;
  version: number;
  alias: 'production' | 'canary' | 'shadow';
  key: string | null;
  /** The row as the caller sent it. */
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
}

/** How the log is doing, for `GET /v1/status`. */
export interface PredictionLogStatus {
  pending: number;
  written: number;
  dropped: number;
  lastWriteAt: string | null;
  /** The last failed write, until a write succeeds again. */
  lastError: { message: string; at: string } | null;
}

interface LogWarn {
  warn(details: object, message: string): void;
}

const INSERT_SQL = `INSERT INTO serving.predictions
    (prediction_id, model, version, alias, key, inputs, output, warnings, served_at, shadow_of)
  SELECT * FROM unnest($1::uuid[], $2::text[], $3::int[], $4::text[], $5::text[], $6::jsonb[], $7::jsonb[],
    $8::jsonb[], $9::timestamptz[], $10::uuid[])
  ON CONFLICT (prediction_id) DO NOTHING`;

export class PredictionLog {
  private pending: PredictionRecord[] = [];
  private chain: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;
  private readonly batchSize: number;
  private readonly maxPending: number;
  private written = 0;
  private dropped = 0;
  private lastWriteAt: Date | null = null;
  private lastError: { message: string; at: Date } | null = null;
  private closed = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly metrics: ServingMetrics,
    private readonly log: LogWarn,
    options: PredictionLogOptions = {},
  ) {
    this.batchSize = positiveInteger(options.batchSize ?? 500, 'batchSize');
    this.maxPending = positiveInteger(options.maxPending ?? 100_000, 'maxPending');
    const interval = positiveInteger(options.flushIntervalMs ?? 500, 'flushIntervalMs');
    this.timer = setInterval(() => void this.flush(), interval);
    this.timer.unref();
  }

  /** Buffers predictions for the next write; never waits and never throws. */
  add(records: readonly PredictionRecord[]): void {
    const room = this.closed ? 0 : this.maxPending - this.pending.length;
    const taken = records.length <= room ? records : records.slice(0, Math.max(0, room));
    this.pending.push(...taken);
    const lost = records.length - taken.length;
    if (lost > 0) {
      this.dropped += lost;
      this.metrics.droppedPredictions.inc(lost);
    }
    this.metrics.pendingPredictions.set(this.pending.length);
    if (this.pending.length >= this.batchSize) void this.flush();
  }

  /** Writes everything buffered now; resolves when done or when a write failed (kept for later). */
  flush(): Promise<void> {
    // Never left rejected: a failed write is recorded, and the next flush tries again.
    this.chain = this.chain
      .then(() => this.writePending())
      .catch((error: unknown) => this.noteFailure(error, this.pending.length));
    return this.chain;
  }

  status(): PredictionLogStatus {
    return {
      pending: this.pending.length,
      written: this.written,
      dropped: this.dropped,
      lastWriteAt: this.lastWriteAt?.toISOString() ?? null,
      lastError: this.lastError
        ? { message: this.lastError.message, at: this.lastError.at.toISOString() }
        : null,
    };
  }

  /** Stops the timer and writes what is buffered; rows PostgreSQL still refuses are counted as dropped. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    await this.flush();
    if (this.pending.length > 0) {
      this.log.warn(
        { rows: this.pending.length, error: this.lastError?.message },
        'serving closed with predictions PostgreSQL would not take; they are not logged',
      );
      this.dropped += this.pending.length;
      this.metrics.droppedPredictions.inc(this.pending.length);
      this.pending = [];
    }
  }

  private async writePending(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.slice(0, this.batchSize);
      try {
        await this.insert(batch);
      } catch (error) {
        if (!isDataError(error)) {
          this.noteFailure(error, batch.length);
          return;
        }
        // A row PostgreSQL refuses would block every row behind it: write the rest one by one.
        await this.insertOneByOne(batch);
      }
      this.pending.splice(0, batch.length);
      this.metrics.pendingPredictions.set(this.pending.length);
    }
  }

  private async insert(batch: readonly PredictionRecord[]): Promise<void> {
    await this.pool.query(INSERT_SQL, [
      batch.map((record) => record.predictionId),
      batch.map((record) => record.model),
      batch.map((record) => record.version),
      batch.map((record) => record.alias),
      batch.map((record) => (record.key === null ? null : withoutNul(record.key))),
      batch.map((record) => jsonText(record.inputs)),
      batch.map((record) => jsonText(record.output)),
      batch.map((record) => jsonText(record.warnings)),
      batch.map((record) => record.servedAt.toISOString()),
      batch.map((record) => record.shadowOf),
    ]);
    this.written += batch.length;
    this.metrics.loggedPredictions.inc(batch.length);
    this.lastWriteAt = new Date();
    this.lastError = null;
  }

  private async insertOneByOne(batch: readonly PredictionRecord[]): Promise<void> {
    for (const record of batch) {
      try {
        await this.insert([record]);
      } catch (error) {
        this.dropped += 1;
        this.metrics.droppedPredictions.inc();
        this.log.warn(
          { predictionId: record.predictionId, model: record.model, error: errorMessage(error) },
          'PostgreSQL refused a prediction row; it is not logged',
        );
      }
    }
  }

  private noteFailure(error: unknown, rows: number): void {
    const first = this.lastError === null;
    this.lastError = { message: errorMessage(error), at: new Date() };
    // Once per outage, not once per tick.
    if (first) {
      this.log.warn(
        { rows, pending: this.pending.length, error: this.lastError.message },
        'cannot write predictions to serving.predictions; keeping them and retrying',
      );
    }
  }
}

/** JSON for a jsonb column: PostgreSQL's jsonb refuses the NUL character, so it becomes U+FFFD. */
function jsonText(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => (typeof item === 'string' ? withoutNul(item) : item));
}

function withoutNul(text: string): string {
  return text.includes('\u0000') ? text.replaceAll('\u0000', '\uFFFD') : text;
}

/** PostgreSQL refused the data itself (SQLSTATE class 22 or 23), not the connection. */
function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^2[23][0-9A-Z]{3}$/.test(code);
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new Error(`predictionLog.${name} must be a whole number from 1, got ${value}`);
  }
  return value;
}
