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

/** `{ "approver": "...", "comment": "..." }`: approve the waiting candidate. */
export const approveSignal = defineSignal<[ApprovalSignal]>('approve');
/** `{ "approver": "...", "comment": "..." }`: reject the waiting candidate. */
export const rejectSignal = defineSignal<[ApprovalSignal]>('reject');
/** Approve or reject, answered: refused with the reason when the approver may not decide. */
export const decideUpdate = defineUpdate<DecisionAnswer, [DecisionRequest]>('decide');
/** Move production back to the version before this run's, while the run is open after deploying. */
export const rollbackUpdate = defineUpdate<RollbackAnswer, [RollbackRequest]>('rollback');
/** Stage, key metrics, gate verdicts, where the model card is, the approval's state. */
export const statusQuery = defineQuery<LifecycleStatus>('status');
