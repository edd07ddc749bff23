/** The messages a lifecycle run understands: Signals from the Web UI, Updates from the CLI, a Query. */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type {
  ApprovalSignal,
  DecisionAnswer,
  DecisionRequest,
  LifecycleStatus,
  RollbackAnswer,
  RollbackRequest,
} from './lifecycleTypes';

/** `{ "code": "kc_...", "comment": "..." }` (a code from `kerf approval-code`): approve the waiting candidate. */
export const approveSignal = defineSignal<[ApprovalSignal]>('approve');
/** `{ "code": "kc_...", "comment": "..." }` (a code for reject): reject the waiting candidate. */
export const rejectSignal = defineSignal<[ApprovalSignal]>('reject');
/** Approve or reject with a decision code, answered: refused with the reason when it does not validate. */
export const decideUpdate = defineUpdate<DecisionAnswer, [DecisionRequest]>('decide');
/** Move production back to the version before this run's, while the run is open after deploying. */
export const rollbackUpdate = defineUpdate<RollbackAnswer, [RollbackRequest]>('rollback');
/**
 * A newer candidate of the same model waits for approval: the run asks the registry, and ends
 * superseded only if it is so. The payload is not read (anyone who reaches Temporal may send it).
 */
export const supersededSignal = defineSignal<[unknown?]>('superseded');
/** Stage, key metrics, gate verdicts, where the model card is, the approval's state. */
export const statusQuery = defineQuery<LifecycleStatus>('status');
