/**
 * The decision check: every approve, reject or rollback a run receives (by Signal or Update) is
 * redeemed here against `access.decision_codes` before it counts. Refusals are audited in the same
 * transaction and returned; they never fail the activity, so no payload can fail a run.
 */
import { Context } from '@temporalio/activity';
import {
  checkDecisions,
  type DecisionCheckInput,
  type DecisionCheckResult,
} from '../../access/decisionCodes';
import type { ActivityDeps } from '../deps';
import { runIdOf } from './register';

export function createApproveActivities({ pool }: ActivityDeps) {
  return {
    /**
     * Checks a batch of decisions in the order they arrived: the first valid one is accepted, every
     * other is refused with its reason and an audit row.
     */
    async checkDecisions(
      input: Omit<DecisionCheckInput, 'runId' | 'redeemedIn'>,
    ): Promise<DecisionCheckResult> {
      const info = Context.current().info;
      return checkDecisions(pool, {
        ...input,
        runId: runIdOf(),
        // The activity, not the attempt: a retry redeems the same code again instead of refusing it.
        redeemedIn: `${info.workflowExecution?.runId ?? 'no-run'}/${info.activityId}`,
      });
    },
  };
}
