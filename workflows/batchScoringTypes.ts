/**
 * What a batch scoring run takes, says while it runs, and returns; its status Query. Plain data:
 * the workflow, its activities, the CLI and the schedules share these.
 */
import { defineQuery } from '@temporalio/workflow';

/** What `kerf score` (or a spec's scheduled scoring) starts a run with. */
export interface BatchScoringInput {
  /** The model whose version scores the rows. */
  model: string;
  /**
   * The version: one a person approved. Pinned for the whole run.
   * @default the production version when the run starts
   */
  version?: number;
  /**
   * A read-only SELECT returning the version's input columns and the key columns that identify a
   * row (every other column). Run once, as the spec reader.
   */
  query: string;
  /** The result table: `name` or `scoring.name`. */
  into: string;
  /**
   * Rows per chunk: a chunk is scored and written in one transaction.
   * @default 100000
   */
  chunkRows?: number;
  /**
   * Chunks scored at once (on the heavy queue's workers). One more than a heavy worker scores at
   * once (its cores), so the next chunk is already waiting when one finishes.
   * @default 3
   */
  parallelChunks?: number;
  /** Who started it: a person's name, or `schedule:<schedule id>`. */
  startedBy: string;
  /**
   * The queue chunks are scored on.
   * @default `<the run's task queue>-heavy`
   */
  heavyTaskQueue?: string;
}

/** A run's plan, once its rows are staged. */
export interface BatchScoringPlan {
  /** The run's number (`batch_scoring.runs.run`); its rows in the result table carry it. */
  run: number;
  version: number;
  /** `scoring.<name>` */
  into: string;
  rows: number;
  chunkRows: number;
}

/** One finished chunk, as the status and the CLI show it. */
export interface ChunkSummary {
  chunk: number;
  rows: number;
  /** Wall-clock seconds of the attempt that answered (0 when an earlier attempt had scored it). */
  seconds: number;
  /** True when an earlier attempt had scored it and this one found it done. */
  alreadyScored: boolean;
  /** Rows scored with a category the model never saw, by column. */
  unseen: Record<string, number>;
}

export type BatchScoringStage = 'planning' | 'scoring' | 'finishing' | 'scored' | 'failed';

/** What the `batchScoringStatus` Query answers. */
export interface BatchScoringStatus {
  stage: BatchScoringStage;
  model: string;
  into: string;
  startedBy: string;
  plan?: BatchScoringPlan;
  /** How many chunks the rows make. */
  chunks?: number;
  /** Finished chunks, in the order they finished. */
  finished: ChunkSummary[];
  reason?: string;
}

export interface BatchScoringResult {
  model: string;
  version: number;
  into: string;
  run: number;
  rows: number;
  chunks: number;
  /** Workflow time from the run's start to its end. */
  seconds: number;
  /** Rows scored with a category the model never saw, by column, over the run. */
  unseen: Record<string, number>;
}

/**
 * The most chunks one run makes: each is an activity in the run's history, which Temporal caps, so
 * more rows need bigger chunks.
 */
export const MAX_CHUNKS = 10_000;
export const DEFAULT_PARALLEL_CHUNKS = 3;
export const MAX_PARALLEL_CHUNKS = 32;

/** Stage, plan and finished chunks of a batch scoring run. */
export const batchScoringStatusQuery = defineQuery<BatchScoringStatus>('batchScoringStatus');
