/**
 * A canary ends: promoting it makes its version production (the canary alias goes), and aborting it
 * takes the canary away (production alone answers again). A person does it as an operator of the
 * model, like a rollback; the nightly check aborts a canary worse than production on the same path,
 * as `kerf`. Each move and each refusal is audited with who asked and why.
 */
import type pg from 'pg';
import { getAlias } from '../registry/aliasRecords';
import { moveAlias, removeAlias } from '../registry/aliases';
import { appendAudit } from '../registry/audit';
import { RegistryError } from '../registry/errors';
import { AccessError } from './errors';
import { actionProblem } from './roles';
import type { Identity } from './users';

export type CanaryDecision = 'promote' | 'abort';

export interface CanaryEnding {
  model: string;
  decision: CanaryDecision;
  /** Why, for the alias history and the audit log. */
  reason: string;
  /** Who ends it: a person's name, or `kerf` for the nightly check. */
  actor: string;
  /**
   * The canary version the decision was taken on: when the canary is another version by then (a
   * person moved it meanwhile), nothing changes.
   * @default undefined (whichever version is the canary)
   */
  version?: number;
  /** More for the audit row (the errors and outcome counts an automatic abort was decided on). */
  details?: Record<string, unknown>;
}

/**
 * Promotes or aborts the model's canary as `actor`, who has been checked by the caller.
 *
 * @returns the canary's version, and production's after the move
 * @throws RegistryError (`not-found`) when the model has no canary, (`conflict`) when the canary is
 *   not `version`
 */
export async function endCanary(
  pool: pg.Pool,
  request: CanaryEnding,
): Promise<{ canary: number; production: number | null }> {
  const { model, decision, actor } = request;
  const canary = await getAlias(pool, model, 'canary');
  if (!canary) throw new RegistryError('not-found', `${model} has no canary to ${decision}`);
  const changed = () =>
    new RegistryError(
      'conflict',
      `the canary of ${model} is no longer v${request.version ?? canary.version}: it was changed meanwhile`,
    );
  if (request.version !== undefined && canary.version !== request.version) throw changed();
  if (decision === 'promote') {
    await moveAlias(pool, {
      model,
      alias: 'production',
      version: canary.version,
      actor,
      reason: `canary promoted: ${request.reason}`,
    });
  } else {
    const { removedVersion } = await removeAlias(pool, {
      model,
      alias: 'canary',
      version: canary.version,
      actor,
      reason: `canary aborted: ${request.reason}`,
    });
    if (removedVersion === null) throw changed();
  }
  const production = await getAlias(pool, model, 'production');
  await appendAudit(pool, {
    actor,
    action: decision === 'promote' ? 'canary-promoted' : 'canary-aborted',
    model,
    version: canary.version,
    details: { ...request.details, reason: request.reason, production: production?.version ?? null },
  });
  return { canary: canary.version, production: production?.version ?? null };
}

/**
 * Promotes or aborts the model's canary as `identity`.
 *
 * @returns the canary's version, and production's after the move
 * @throws AccessError (`forbidden`) for someone who may not; RegistryError (`not-found`) when the
 *   model has no canary
 */
export async function endCanaryAs(
  pool: pg.Pool,
  identity: Identity,
  request: { model: string; decision: CanaryDecision; reason: string },
): Promise<{ canary: number; production: number | null }> {
  const actor = identity.user.name;
  const refuse = (reason: string) =>
    appendAudit(pool, {
      actor,
      action: 'canary-refused',
      model: request.model,
      details: { decision: request.decision, reason, requested: request.reason },
    });
  const problem = actionProblem(identity.user, 'rollback', request.model);
  if (problem) {
    await refuse(problem);
    throw new AccessError('forbidden', `${problem} (an operator promotes or aborts a canary)`);
  }
  try {
    return await endCanary(pool, { ...request, actor });
  } catch (error) {
    if (error instanceof RegistryError && (error.kind === 'not-found' || error.kind === 'conflict')) {
      await refuse(error.message);
    }
    throw error;
  }
}
