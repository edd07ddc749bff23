/**
 * Micro-batching of one version's scoring: a request that finds the version idle is scored in the
 * same turn of the event loop, with the requests read in that turn; rows that requests hand in while
 * a run is in flight are scored together in the next onnxruntime run, then split back to their
 * requests in order. onnxruntime runs on the event loop's thread, and its fixed cost per run
 * (inputs, session, outputs) is several rows' worth, so under load this saves much of serving's
 * work, while an idle server adds no wait to a lone request (one turn of the loop). Each row's
 * score is its own: the serving session scores rows one after the other, tree by tree, whatever
 * else is in the run (`servingSessionOptions`).
 */
import type { InferenceSession } from 'onnxruntime-node';
import type { CategoryMappings, PredictionWarning, UnseenCategory } from './contract';
import { loggedHistory, scoringTable } from './featureBuild';
import type { LoadedVersion } from './loadVersion';
import { outputShape, predictionOf, type PredictionValue } from './outputs';
import type { RawRow } from './payload';
import type { PredictionOutput } from './predictionLog';

/** The `history` of a row scored without history features (shared: no object per row). */
export const NO_HISTORY: Readonly<Record<string, number | null>> = Object.freeze({});

/** One scored row. */
export interface ScoredRow {
  output: PredictionOutput;
  value: PredictionValue;
  warnings: PredictionWarning[];
  /** The history features the row was scored with, logged with its inputs (what the model saw). */
  history: Readonly<Record<string, number | null>>;
}

/**
 * onnxruntime's options for a served version: one thread, in the calling thread. Serving's
 * parallelism is its requests (batched here); a thread pool per session would spin on the cores the
 * HTTP stack needs, and one thread scores each row in the same order whatever the batch holds.
 */
export const servingSessionOptions: InferenceSession.SessionOptions = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
};

/**
 * The most rows one run takes from the queue (a request's rows are never split; one bigger than
 * this runs alone).
 * @default 2000
 */
const MAX_ROWS_PER_RUN = 2000;

interface Waiting {
  rows: readonly RawRow[];
  mappings: CategoryMappings | undefined;
  resolve: (scored: ScoredRow[]) => void;
  reject: (error: unknown) => void;
}

/** Scores `rows` with `version` in one run, and reports the unseen categories met. */
async function scoreNow(
  version: LoadedVersion,
  rows: readonly RawRow[],
  mappings: CategoryMappings | undefined,
  onUnseen: (unseen: readonly UnseenCategory[]) => void,
): Promise<ScoredRow[]> {
  const { prepared, table, history } = scoringTable(version, rows, mappings);
  if (prepared.unseen.length > 0) onUnseen(prepared.unseen);
  const scores = await version.scorer.scoreTable(table);
  const shape = outputShape(version);
  const scored = new Array<ScoredRow>(rows.length);
  for (let row = 0; row < rows.length; row++) {
    const { output, value } = predictionOf(scores, row, shape);
    scored[row] = {
      output,
      value,
      warnings: prepared.warnings[row] ?? [],
      history: history.length > 0 ? loggedHistory(history, row) : NO_HISTORY,
    };
  }
  return scored;
}

/**
 * Whether rows of different requests may share a run: history features are read per request from
 * the entity history, so a version with them scores each request alone.
 */
function batchable(version: LoadedVersion): boolean {
  return version.featureBuild?.build.definition.history === undefined;
}

/** The scoring queue of one version, for answers or for shadow scores. */
export class ScoringQueue {
  private waiting: Waiting[] = [];
  /** A run is in flight: requests wait for the next one. */
  private running = false;

  /**
   * @param onUnseen told of every unseen category met (the answering queue counts them; the
   *   shadow's does not)
   */
  constructor(
    private readonly version: LoadedVersion,
    private readonly onUnseen: (unseen: readonly UnseenCategory[]) => void,
  ) {}

  /** Scores a request's rows (checked against the version's contract), in their order. */
  score(rows: readonly RawRow[], mappings: CategoryMappings | undefined): Promise<ScoredRow[]> {
    if (!batchable(this.version)) return scoreNow(this.version, rows, mappings, this.onUnseen);
    return new Promise((resolve, reject) => {
      this.waiting.push({ rows, mappings, resolve, reject });
      // Idle: the run starts once the event loop has read what else arrived with this request (the
      // requests of one poll share the run); busy: the next run takes it.
      if (!this.running) {
        this.running = true;
        setImmediate(() => void this.runNext());
      }
    });
  }

  /** Scores what waits (one run per mappings), then whatever came meanwhile; `score` set `running`. */
  private async runNext(): Promise<void> {
    try {
      while (this.waiting.length > 0) {
        const batch = this.take();
        if (batch.length === 1) {
          const [only] = batch as [Waiting];
          await scoreNow(this.version, only.rows, only.mappings, this.onUnseen).then(
            only.resolve,
            only.reject,
          );
        } else {
          await this.scoreTogether(batch);
        }
      }
    } finally {
      this.running = false;
    }
  }

  /** The first waiting request and those after it with the same mappings, up to the row limit. */
  private take(): Waiting[] {
    const first = this.waiting[0] as Waiting;
    const batch: Waiting[] = [];
    const rest: Waiting[] = [];
    let rows = 0;
    for (const waiting of this.waiting) {
      const fits = batch.length === 0 || rows + waiting.rows.length <= MAX_ROWS_PER_RUN;
      if (fits && waiting.mappings === first.mappings) {
        batch.push(waiting);
        rows += waiting.rows.length;
      } else {
        rest.push(waiting);
      }
    }
    this.waiting = rest;
    return batch;
  }

  private async scoreTogether(batch: readonly Waiting[]): Promise<void> {
    const rows: RawRow[] = [];
    for (const waiting of batch) for (const row of waiting.rows) rows.push(row);
    let scored: ScoredRow[];
    // Counted once the run succeeded: after a failure each request is scored (and counted) alone.
    const unseen: UnseenCategory[] = [];
    try {
      scored = await scoreNow(this.version, rows, batch[0]?.mappings, (met) => unseen.push(...met));
    } catch {
      // One request's failure must not fail the others: each is scored alone, as without batching.
      for (const waiting of batch) {
        await scoreNow(this.version, waiting.rows, waiting.mappings, this.onUnseen).then(
          waiting.resolve,
          waiting.reject,
        );
      }
      return;
    }
    if (unseen.length > 0) this.onUnseen(unseen);
    let start = 0;
    for (const waiting of batch) {
      waiting.resolve(scored.slice(start, start + waiting.rows.length));
      start += waiting.rows.length;
    }
  }
}
