/**
 * The nightly check of one production model, started by its Temporal Schedule (`nightly-<model>`):
 * drift, unseen categories, decay and fairness on the window since the last check, written as a
 * report (a row and an HTML page). A stale model gets a retraining lifecycle on fresh data, and a
 * spec that changed since the production version gets a lifecycle too: either way a new version goes
 * through the gates and a person's approval again. The runs it starts outlive it (they wait for
 * approval for days). Stale models and candidates waiting for a decision are announced.
 *
 * Before the check, the outcomes query of the production version's current spec
 * (`outcomes.query`), if it has one, records the actual values it finds, so the window is judged
 * with them; a query that cannot be used is reported and announced, never fatal (behind
 * `patched('outcomes-from-sql')`, so nights recorded before it replay).
 *
 * A canary is judged first (behind `patched('canary-auto-abort')`): its error on the labelled
 * outcomes of the rows it answered against production's over the same time; worse beyond its spec's
 * bound, it is aborted as `kerf` (as `kerf canary abort` does) and announced. The report then shows
 * the judgement, and a shadow compared with production on the same requests.
 *
 * Last (behind `patched('retention')`), the retention: the model's rejected, superseded and failed
 * versions' objects older than KERF_GC_AFTER_DAYS go from the store, and the prediction log's months
 * older than KERF_PREDICTION_RETENTION_MONTHS are dropped (`activities/retention.ts`).
 */
import {
  ActivityFailure,
  log,
  ParentClosePolicy,
  patched,
  proxyActivities,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities } from '../activities';
import { announcing, dataMovement, evaluation, quickIo } from './activityProfiles';
import { modelLifecycle } from './modelLifecycle';
import type {
  CanaryCheck,
  NightlyInput,
  NightlyResult,
  OutcomesSummary,
  RetentionSummary,
} from './monitoringTypes';

type Activities = ReturnType<typeof createActivities>;

export async function nightlyEvaluation(input: NightlyInput): Promise<NightlyResult> {
  const io = proxyActivities<Activities>(quickIo);
  const monitor = proxyActivities<Activities>(evaluation);
  const announcer = proxyActivities<Activities>(announcing);
  const { workflowId, runId } = workflowInfo();

  const outcomes = patched('outcomes-from-sql') ? await collectOutcomes(input.model, workflowId) : null;
  // Nights recorded before canaries were judged replay without it.
  const canary = patched('canary-auto-abort') ? await checkCanary(input.model, workflowId) : null;
  const check = await monitor.checkProductionModel({
    model: input.model,
    runId: workflowId,
    ...(canary ? { canary: canary.judgement } : {}),
  });
  if (canary?.judgement.aborted) {
    const { judgement } = canary;
    await announcer.announce({
      event: 'canary-aborted',
      model: input.model,
      version: judgement.canary.version,
      production: judgement.production.version,
      actor: 'kerf',
      reason: canary.summary,
      metric: judgement.metric,
      canaryError: judgement.canary.value,
      canaryOutcomes: judgement.canary.outcomes,
      productionError: judgement.production.value,
      productionOutcomes: judgement.production.outcomes,
      maxErrorRatio: judgement.maxErrorRatio,
      reportKey: check.htmlKey ?? null,
    });
  }
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
  if (check.stale || started.length > 0 || pendingApprovals.length > 0 || outcomes?.refused) {
    await announcer.announce({
      event: 'nightly-check',
      model: input.model,
      version: check.version,
      stale: check.stale,
      reasons: check.staleReasons,
      alarms: check.alarms,
      started,
      pendingApprovals,
      reportKey: check.htmlKey ?? null,
      ...(outcomes ? { outcomes } : {}),
    });
  }
  // Nights recorded before retention replay without it.
  const retention = patched('retention') ? await applyRetention(input.model, workflowId) : null;
  return {
    ...check,
    ...(outcomes ? { outcomes } : {}),
    ...(canary ? { canary } : {}),
    started,
    pendingApprovals,
    ...(retention ? { retention } : {}),
  };
}

/**
 * The model's rejected and failed versions' objects past their age removed, and the prediction log's
 * months past retention dropped. An activity that failed all its attempts (the store or the database
 * away, a lock not granted) is reported, and tomorrow's night tries again.
 */
async function applyRetention(model: string, runId: string): Promise<RetentionSummary> {
  const data = proxyActivities<Activities>(dataMovement);
  try {
    return await data.applyRetention({ model, runId });
  } catch (error) {
    if (!(error instanceof ActivityFailure)) throw error;
    const cause = error.cause?.message ?? error.message;
    return {
      objects: 0,
      bytes: 0,
      versions: [],
      partitionsCreated: [],
      partitionsDropped: [],
      rowsExpired: 0,
      refused: `retention: not applied tonight: ${cause}`,
    };
  }
}

/**
 * The canary judged, and aborted when worse beyond its bound; null without one. An activity that
 * failed all its attempts leaves the canary as it is tonight, so the check still runs.
 */
async function checkCanary(model: string, runId: string): Promise<CanaryCheck | null> {
  const deployments = proxyActivities<Activities>(evaluation);
  try {
    return await deployments.checkCanary({ model, runId });
  } catch (error) {
    if (!(error instanceof ActivityFailure)) throw error;
    log.warn('the canary was not judged tonight', { model, error: error.cause?.message ?? error.message });
    return null;
  }
}

/**
 * The outcomes of the production version's `outcomes.query`; null when it has none. A query that
 * cannot be used comes back as `refused`; an activity that failed all its attempts (the reader's
 * database away) is reported the same way, so the check still runs.
 */
async function collectOutcomes(model: string, runId: string): Promise<OutcomesSummary | null> {
  const data = proxyActivities<Activities>(dataMovement);
  try {
    return await data.collectOutcomes({ model, runId });
  } catch (error) {
    if (!(error instanceof ActivityFailure)) throw error;
    const cause = error.cause?.message ?? error.message;
    return { recorded: 0, matched: 0, skipped: 0, refused: `outcomes.query: not run tonight: ${cause}` };
  }
}
