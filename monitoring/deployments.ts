/**
 * The versions served beside production in the nightly report: the canary's judgement (an alarm
 * when it was found worse, a note otherwise) and the shadow's comparison (a note). Neither makes
 * the production model stale: they are about the versions beside it.
 */
import { type CanaryJudgement, canarySentence } from './canary';
import type { MonitoringReport } from './report';
import { type ShadowComparison, shadowSentence } from './shadow';

export interface DeploymentComparisons {
  canary?: CanaryJudgement | null;
  shadow?: ShadowComparison | null;
}

/** The report with the canary and the shadow beside production, in its JSON, alarms and notes. */
export function withDeploymentComparisons(
  report: MonitoringReport,
  { canary, shadow }: DeploymentComparisons,
): MonitoringReport {
  const canaryWorse = canary?.verdict === 'worse';
  return {
    ...report,
    alarms: [...report.alarms, ...(canary && canaryWorse ? [canarySentence(canary)] : [])],
    notes: [
      ...report.notes,
      ...(canary && !canaryWorse ? [canarySentence(canary)] : []),
      ...(shadow ? [shadowSentence(shadow)] : []),
    ],
    ...(canary ? { canary } : {}),
    ...(shadow ? { shadow } : {}),
  };
}
