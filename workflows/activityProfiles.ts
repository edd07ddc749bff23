/** Named timeout and retry profiles, one per kind of activity. */
import type { ActivityOptions } from '@temporalio/workflow';

/** Short database and object-store calls: fail fast, retry a few times on network hiccups. */
export const quickIo: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 5,
    nonRetryableErrorTypes: [
      'GateFailedError',
      'DataValidationError',
      'TamperedArtifactError',
      'SourceError',
      'RegistryError',
    ],
  },
};

/** Errors an activity raises on purpose: retrying cannot change the answer. */
const NEVER_RETRIED = [
  'GateFailedError',
  'DataValidationError',
  'TamperedArtifactError',
  'SourceError',
  'RegistryError',
];

/** Reading a pipeline's source into a snapshot, validating it: minutes, a few retries. */
export const dataMovement: ActivityOptions = {
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

/**
 * Training: long, heartbeating its progress; a worker that dies is noticed after `heartbeatSeconds`
 * and the training starts again on another (its outputs are keyed by version, so nothing doubles).
 */
export function training(options: { heartbeatSeconds: number }): ActivityOptions {
  return {
    startToCloseTimeout: '4 hours',
    heartbeatTimeout: `${options.heartbeatSeconds} seconds`,
    retry: {
      initialInterval: '5 seconds',
      backoffCoefficient: 2,
      maximumInterval: '2 minutes',
      maximumAttempts: 5,
      nonRetryableErrorTypes: NEVER_RETRIED,
    },
  };
}

/** Scoring, gates, signing and the model card: minutes at most. */
export const evaluation: ActivityOptions = {
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
