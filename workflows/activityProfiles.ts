/** Named timeout and retry profiles, one per kind of activity. */
import type { ActivityOptions } from '@temporalio/workflow';
import { NEVER_RETRIED as NEVER_RETRIED_TYPES } from './stoppingErrors';

/** Errors an activity raises on purpose: retrying cannot change the answer. */
const NEVER_RETRIED = [...NEVER_RETRIED_TYPES];

/**
 * The activities that keep a core busy for minutes: they run on the heavy task queue, every other
 * activity (and every workflow) on the light one. Workers register by this list, the workflow routes by it.
 */
export const HEAVY_ACTIVITIES = ['trainModel', 'tuneTrial', 'evaluateCandidate', 'scoreBatchChunk'] as const;

export type HeavyActivity = (typeof HEAVY_ACTIVITIES)[number];

/** Short database and object-store calls: fail fast, retry a few times on network hiccups. */
export const quickIo: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 5,
    nonRetryableErrorTypes: NEVER_RETRIED,
  },
};

/** Minutes of work that heartbeats: a few retries, a dead worker noticed within two minutes. */
const minutesOfWork: ActivityOptions = {
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: {
    initialInterval: '5 seconds',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 3,
    nonRetryableErrorTypes: NEVER_RETRIED,
  },
};

/** Reading a pipeline's source into a snapshot, validating it. */
export const dataMovement: ActivityOptions = minutesOfWork;

/**
 * Announcing (`announce`): each webhook gets a few attempts with backoff inside the activity (about a
 * minute at worst), heartbeating; the activity never fails for a webhook, only for the database.
 */
export const announcing: ActivityOptions = {
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '1 minute',
  retry: {
    initialInterval: '5 seconds',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 5,
    nonRetryableErrorTypes: NEVER_RETRIED,
  },
};

/** Scoring, gates, signing and the model card. */
export const evaluation: ActivityOptions = minutesOfWork;

/**
 * The most seconds between two heartbeats a worker sends to Temporal (its heartbeat throttle). Training
 * heartbeats at least this often even while the trainer is busy: it trains in a worker thread, so the
 * activity's event loop stays free to beat.
 */
export const HEARTBEAT_THROTTLE_SECONDS = 2;

/**
 * How long training may go without a heartbeat before Temporal takes its worker for dead: five missed
 * beats. Short, so a killed worker's training starts again elsewhere within about 10 s (the goal is
 * 15 s); long enough that a busy machine delaying a beat or two is not taken for a dead worker.
 */
export const DEFAULT_TRAINING_HEARTBEAT_SECONDS = 5 * HEARTBEAT_THROTTLE_SECONDS;

/**
 * Training: long, heartbeating its progress; a worker that dies is noticed after `heartbeatSeconds`
 * and the training starts again on another (its outputs are keyed by version, so nothing doubles).
 * The first retry follows at once: the failure was a dead worker, not an overloaded service.
 */
export function training(options: { heartbeatSeconds?: number } = {}): ActivityOptions {
  return {
    startToCloseTimeout: '4 hours',
    heartbeatTimeout: `${options.heartbeatSeconds ?? DEFAULT_TRAINING_HEARTBEAT_SECONDS} seconds`,
    retry: {
      initialInterval: '1 second',
      backoffCoefficient: 2,
      maximumInterval: '2 minutes',
      maximumAttempts: 5,
      nonRetryableErrorTypes: NEVER_RETRIED,
    },
  };
}

/**
 * One chunk of a batch scoring run: seconds to minutes of scoring that heartbeats every batch. A
 * worker that dies is noticed within `DEFAULT_TRAINING_HEARTBEAT_SECONDS` and the chunk is scored
 * again on another (its transaction died with the worker, so nothing of it was written).
 */
export const batchChunk: ActivityOptions = {
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: `${DEFAULT_TRAINING_HEARTBEAT_SECONDS} seconds`,
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 5,
    nonRetryableErrorTypes: NEVER_RETRIED,
  },
};
