/**
 * The failure types that end a lifecycle run on purpose, named once: the activities raise them, the
 * retry profiles never retry them, the workflow recognises them. No imports, so workflow code and
 * activity code can both use it.
 */

/** Errors that end a run on purpose: the activity recorded why, retrying cannot help. */
export const STOPPING_ERRORS = [
  'GateFailedError',
  'DataValidationError',
  'TamperedArtifactError',
  'SourceError',
] as const;

/** Errors an activity raises on purpose: the stopping ones, and a registry refusal. */
export const NEVER_RETRIED = [...STOPPING_ERRORS, 'RegistryError'] as const;

/** The `type` of a failure an activity raises to stop the run. */
export type StopType = (typeof NEVER_RETRIED)[number];

/** True when a failure of this type ended the run on purpose. */
export function isStoppingError(type: string | null | undefined): boolean {
  return (STOPPING_ERRORS as readonly string[]).includes(type ?? '');
}
