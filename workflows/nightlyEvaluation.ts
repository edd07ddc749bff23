/**
 * The nightly check of one production model, started by its Temporal Schedule (`nightly-<model>`):
 * drift, unseen categories, decay and fairness on the window since the last check, written as a
 * report (a row and an HTML page). A stale model gets a retraining lifecycle on fresh data, and a
 * spec that changed since the production version gets a lifecycle too: either way a new version goes
 * through the gates and a person's approval again. The runs it starts outlive it (they wait for
 * approval for days). Stale models and candidates waiting for a decision are announced.
 */
import { ParentClosePolicy, proxyActivities, startChild, workflowInfo } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import { evaluation, quickIo } from './activityProfiles';
import { modelLifecycle } from './modelLifecycle';
import type { NightlyInput, NightlyResult } from './monitoringTypes';

type Activities = ReturnType<typeof createActivities>;

export async function nightlyEvaluation(input: NightlyInput): Promise<NightlyResult> {
  const io = proxyActivities<Activities>(quickIo);
  const monitor = proxyActivities<Activities>(evaluation);
  const { workflowId, runId } = workflowInfo();

  const check = await monitor.checkProductionModel({ model: input.model, runId: workflowId });
  const started: NightlyResult['started'] = [];
  if (input.retrain !== false && check.version !== null) {
    const plan = await io.planRetraining({
      model: input.model,
      stale: check.stale,
      staleReasons: check.staleReasons,
      startedBy: input.startedBy ?? 'kerf-nightly',
      approvalDeadlineMs: input.approvalDeadlineMs,
    });
    if (plan.lifecycle) {
      const childId = `lifecycle-${input.model}-${plan.kind}-${runId.slice(0, 8)}`;
      await startChild(modelLifecycle, {
        workflowId: childId,
        args: [plan.lifecycle],
        parentClosePolicy: ParentClosePolicy.ABANDON,
      });
      started.push({ workflowId: childId, reason: plan.reason });
    }
  }
  const pendingApprovals = await io.pendingApprovals({ model: input.model });
  if (check.stale || started.length > 0 || pendingApprovals.length > 0) {
    await io.announce({
      event: 'nightly-check',
      model: input.model,
      version: check.version,
      stale: check.stale,
      reasons: check.staleReasons,
      alarms: check.alarms,
      started,
      pendingApprovals,
      reportKey: check.htmlKey ?? null,
    });
  }
  return { ...check, started, pendingApprovals };
}
