/** The one error type of the model registry: what kind of problem, and a message that says what to do. */

/**
 * - `not-found`: the model, version, alias or key does not exist.
 * - `conflict`: the request contradicts what is already recorded (a different decision, different
 *   metrics for an evaluated version, another task for a model).
 * - `invalid-transition`: the version's status does not allow this step.
 * - `invalid-input`: a value is malformed (a name, a hash, a share outside (0, 1)).
 */
export type RegistryErrorKind = 'not-found' | 'conflict' | 'invalid-transition' | 'invalid-input';

/** A request the registry refused. Retrying it unchanged fails the same way. */
export class RegistryError extends Error {
  constructor(
    readonly kind: RegistryErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RegistryError';
  }
}
