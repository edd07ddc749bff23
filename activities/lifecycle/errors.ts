/**
 * Errors that end a lifecycle run on purpose become non-retryable Temporal failures with a type the
 * workflow recognises; everything else stays retryable (a network hiccup, a worker that died).
 */
import { ApplicationFailure } from '@temporalio/activity';
import { DataValidationError } from '../../lifecycle/validate';
import { TamperedArtifactError } from '../../lifecycle/manifest';
import { SnapshotError } from '../../lifecycle/ingest';
import { PipelineSpecError } from '../../lifecycle/spec';
import { RegistryError } from '../../registry';
import type { StopType } from '../../workflows/stoppingErrors';

/** A failure that stops the run; `details` go to the workflow's history for people to read. */
export function stopRun(type: StopType, message: string, details?: unknown): ApplicationFailure {
  return ApplicationFailure.create({
    type,
    message,
    nonRetryable: true,
    details: details === undefined ? [] : [details],
  });
}

/** Turns the lifecycle's own "this cannot work" errors into non-retryable failures; others pass through. */
export function asStopping(error: unknown): unknown {
  if (error instanceof DataValidationError) return stopRun('DataValidationError', error.message);
  if (error instanceof TamperedArtifactError)
    return stopRun('TamperedArtifactError', error.message, { reason: error.reason });
  if (error instanceof SnapshotError)
    return stopRun('SourceError', error.message, { failure: error.failure });
  if (error instanceof PipelineSpecError) return stopRun('SourceError', error.message);
  if (error instanceof RegistryError && error.kind !== 'not-found')
    return stopRun('RegistryError', error.message, { kind: error.kind });
  return error;
}

/** Runs `work`, rethrowing stopping errors as non-retryable failures. */
export async function stoppingOn<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw asStopping(error);
  }
}
