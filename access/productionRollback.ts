/**
 * A person moves production back at any time: an operator of the model names an approved version
 * (or none, for the one production served before), says why, and the registry moves the alias with
 * history and an audit row. A refused attempt (not an operator of the model, a version nobody
 * approved) is audited too, with who tried and why it was refused.
 */
import type pg from 'pg';
import { appendAudit } from '../registry/audit';
import { type AliasChangeResult, rollback, rollbackTo } from '../registry/aliases';
import { RegistryError } from '../registry/errors';
import { collectedMessage, versionCollection } from '../registry/collected';
import { AccessError } from './errors';
import type { Identity } from './users';
import { actionProblem } from './roles';

export interface ProductionRollbackRequest {
  model: string;
  /** The approved version production goes back to. @default the version it served before */
  to?: number;
  /** Why, for the audit log. */
  reason: string;
}

/**
 * Rolls production back as `identity`.
 *
 * @throws AccessError (`forbidden`) when the person may not roll the model back; RegistryError when
 *   the registry refuses the move (no production, the version is production, nobody approved it)
 */
export async function rollbackProductionAs(
  pool: pg.Pool,
  identity: Identity,
  request: ProductionRollbackRequest,
): Promise<AliasChangeResult> {
  const actor = identity.user.name;
  const refuse = async (reason: string) =>
    appendAudit(pool, {
      actor,
      action: 'rollback-refused',
      model: request.model,
      // The version asked for goes in the details: it may be one the registry does not have.
      details: {
        reason,
        rollbackReason: request.reason,
        ...(request.to === undefined ? {} : { to: request.to }),
      },
    });
  const problem = actionProblem(identity.user, 'rollback', request.model);
  if (problem) {
    await refuse(problem);
    throw new AccessError('forbidden', problem);
  }
  try {
    return request.to === undefined
      ? await rollback(pool, { model: request.model, actor, reason: request.reason })
      : await rollbackTo(pool, { model: request.model, version: request.to, actor, reason: request.reason });
  } catch (error) {
    if (!(error instanceof RegistryError) || error.kind === 'invalid-input') throw error;
    // A version garbage collection removed was never approved, so the registry refuses it anyway:
    // say that its artifacts are gone too, so nobody goes looking for them.
    const collected =
      request.to === undefined || error.kind === 'not-found'
        ? undefined
        : await versionCollection(pool, request.model, request.to).catch(() => undefined);
    const refusal = collected
      ? new RegistryError(error.kind, `${error.message}; ${collectedMessage(collected)}`, { cause: error })
      : error;
    await refuse(refusal.message);
    throw refusal;
  }
}
