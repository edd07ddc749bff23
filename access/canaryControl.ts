/**
 * A person ends a canary: promoting it makes its version production (the canary alias goes), and
 * aborting it takes the canary away (production alone answers again). Both are for an operator of
 * the model, like a rollback; each move and each refusal is audited with who asked and why.
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
  const canary = await getAlias(pool, request.model, 'canary');
  if (!canary) {
    const message = `${request.model} has no canary to ${request.decision}`;
    await refuse(message);
    throw new RegistryError('not-found', message);
  }
  if (request.decision === 'promote') {
    await moveAlias(pool, {
      model: request.model,
      alias: 'production',
      version: canary.version,
      actor,
      reason: `canary promoted: ${request.reason}`,
    });
  } else {
    await removeAlias(pool, {
      model: request.model,
      alias: 'canary',
      actor,
      reason: `canary aborted: ${request.reason}`,
    });
  }
  const production = await getAlias(pool, request.model, 'production');
  await appendAudit(pool, {
    actor,
    action: request.decision === 'promote' ? 'canary-promoted' : 'canary-aborted',
    model: request.model,
    version: canary.version,
    details: { reason: request.reason, production: production?.version ?? null },
  });
  return { canary: canary.version, production: production?.version ?? null };
}
