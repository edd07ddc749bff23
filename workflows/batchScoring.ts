/**
 * Batch scoring: the rows of a read-only query scored by one verified model version into a result
 * table, `scoring.<name>`, chunk by chunk (`kerf score`, or a spec's scheduled scoring).
 *
 * plan (run the query once, stage its rows numbered 1..n, pin the version) -> score the chunks, a
 * few at once, on the heavy queue -> finish (every row written once, the staged rows dropped).
 *
 * Each chunk writes its predictions and its mark in one transaction, so a chunk an attempt finished
 * is never written again: a killed worker's chunk is retried elsewhere and the run goes on from the
 * chunks already done. Only references and counts pass through here.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities } from '../activities';
import { batchChunk, dataMovement, quickIo } from './activityProfiles';
import { heavyQueueOf } from '../platform/taskQueues';
import {
  type BatchScoringInput,
  type BatchScoringResult,
  type BatchScoringStatus,
  batchScoringStatusQuery,
  type ChunkSummary,
  DEFAULT_PARALLEL_CHUNKS,
  MAX_PARALLEL_CHUNKS,
} from './batchScoringTypes';

type Activities = ReturnType<typeof createActivities>;

/** Longest text an input's names may be. */
const MAX_NAME_LENGTH = 200;
// eslint-disable-next-line no-control-regex -- control characters are what it refuses
const PLAIN_TEXT = /^[^\u0000-\u001f\u007f]{1,1000}$/;

const positiveInteger = (value: unknown, max: number) =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 1 && value <= max;

/**
 * What makes a run's input unusable before anything runs (anyone who reaches Temporal may start one
 * with any JSON); the query, the table name and the version are checked by the plan, with the data.
 */
function inputProblem(input: unknown): string | undefined {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return 'the run input must be a JSON object with model, query, into and startedBy: start the run with `kerf score`';
  }
  const fields = input as Record<string, unknown>;
  for (const name of ['model', 'into', 'startedBy'] as const) {
    const value = fields[name];
    if (typeof value !== 'string' || value.trim() === '' || value.length > MAX_NAME_LENGTH) {
      return `${name}: give text of 1 to ${MAX_NAME_LENGTH} characters`;
    }
  }
  if (typeof fields.query !== 'string' || fields.query.trim() === '') {
    return 'query: give the SELECT whose rows to score';
  }
  if (fields.version !== undefined && !positiveInteger(fields.version, 1e9)) {
    return 'version: give a version number, or leave it out for the production version';
  }
  if (fields.chunkRows !== undefined && !positiveInteger(fields.chunkRows, 1e9)) {
    return 'chunkRows: give a positive whole number of rows';
  }
  if (fields.parallelChunks !== undefined && !positiveInteger(fields.parallelChunks, MAX_PARALLEL_CHUNKS)) {
    return `parallelChunks: give a whole number from 1 to ${MAX_PARALLEL_CHUNKS}`;
  }
  const { heavyTaskQueue } = fields;
  if (
    heavyTaskQueue !== undefined &&
    (typeof heavyTaskQueue !== 'string' || !PLAIN_TEXT.test(heavyTaskQueue))
  ) {
    return 'heavyTaskQueue: give a task queue name, or leave it out for the default';
  }
  return undefined;
}

/** The chunks of `rows` staged rows: rows 1..n cut every `chunkRows`. */
function chunkRanges(
  rows: number,
  chunkRows: number,
): { chunk: number; firstRow: number; lastRow: number }[] {
  const ranges = [];
  for (let firstRow = 1, chunk = 0; firstRow <= rows; firstRow += chunkRows, chunk++) {
    ranges.push({ chunk, firstRow, lastRow: Math.min(rows, firstRow + chunkRows - 1) });
  }
  return ranges;
}

function failureMessage(error: unknown): string {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  return cause instanceof Error ? cause.message : String(cause);
}

export async function batchScoring(input: BatchScoringInput): Promise<BatchScoringResult> {
  const { workflowId } = workflowInfo();
  const io = proxyActivities<Activities>(quickIo);
  const problem = inputProblem(input);
  if (problem) {
    await io.recordAuditEvent({
      actor: `run:${workflowId}`,
      action: 'batch-scoring-refused',
      details: { stage: 'start', message: problem },
    });
    throw ApplicationFailure.create({ type: 'ScoringRefused', message: problem, nonRetryable: true });
  }
  const status: BatchScoringStatus = {
    stage: 'planning',
    model: input.model,
    into: input.into,
    startedBy: input.startedBy,
    finished: [],
  };
  setHandler(batchScoringStatusQuery, () => status);
  const startedAt = Date.now();
  const data = proxyActivities<Activities>(dataMovement);
  // Scoring keeps a core busy: chunks go to the heavy queue the starter named, or the default one.
  const scorer = proxyActivities<Pick<Activities, 'scoreBatchChunk'>>({
    ...batchChunk,
    taskQueue: input.heavyTaskQueue ?? heavyQueueOf(workflowInfo().taskQueue),
  });

  try {
    const plan = await data.planBatchScoring({
      model: input.model,
      ...(input.version === undefined ? {} : { version: input.version }),
      query: input.query,
      into: input.into,
      ...(input.chunkRows === undefined ? {} : { chunkRows: input.chunkRows }),
      startedBy: input.startedBy,
    });
    const ranges = chunkRanges(plan.rows, plan.chunkRows);
    status.plan = plan;
    status.chunks = ranges.length;
    status.stage = 'scoring';

    // A few lanes take the chunks in order; a failed chunk stops its lane from taking more, and
    // the run waits for the chunks under way before it ends (they finish or fail whole).
    let next = 0;
    let failure: unknown;
    const lane = async () => {
      while (failure === undefined && next < ranges.length) {
        const range = ranges[next++] as (typeof ranges)[number];
        try {
          const summary: ChunkSummary = await scorer.scoreBatchChunk({ run: plan.run, ...range });
          status.finished.push(summary);
        } catch (error) {
          failure ??= error;
        }
      }
    };
    const lanes = Math.min(input.parallelChunks ?? DEFAULT_PARALLEL_CHUNKS, ranges.length);
    await Promise.all(Array.from({ length: lanes }, lane));
    if (failure !== undefined) throw failure instanceof Error ? failure : new Error(failureMessage(failure));

    status.stage = 'finishing';
    const finished = await io.finishBatchScoring({ outcome: 'scored' });
    status.stage = 'scored';
    const unseen: Record<string, number> = {};
    for (const chunk of status.finished) {
      for (const [column, count] of Object.entries(chunk.unseen))
        unseen[column] = (unseen[column] ?? 0) + count;
    }
    return {
      model: input.model,
      version: plan.version,
      into: plan.into,
      run: plan.run,
      rows: finished.rows,
      chunks: ranges.length,
      seconds: (Date.now() - startedAt) / 1000,
      unseen,
    };
  } catch (error) {
    status.stage = 'failed';
    status.reason = failureMessage(error);
    // The run's books say why, and its staged rows go; a run that never planned has neither.
    await io.finishBatchScoring({ outcome: 'failed', reason: status.reason }).catch((ending: unknown) => {
      // The run failed already; a failure to record it must not hide why.
      if (!(ending instanceof ActivityFailure)) throw ending;
    });
    throw error;
  }
}
