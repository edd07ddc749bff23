/**
 * The versions served beside production, at night: `checkCanary` judges the canary against
 * production on labelled outcomes and aborts it, as `kerf`, through the same path as `kerf canary
 * abort` when it is worse beyond its spec's bound; `compareShadowWith` sets a shadow beside
 * production on the same requests for the report.
 */
import { log } from '@temporalio/activity';
import { endCanary } from '../../access/canaryControl';
import { primaryMetricOf } from '../../lifecycle/gates/quality';
import { DEFAULT_CANARY_BOUND, DEFAULT_SHADOW_TOLERANCE, type PipelineSpec } from '../../lifecycle/spec';
import { canaryEvidence, type CanaryJudgement, canarySentence, judgeCanary } from '../../monitoring/canary';
import { compareShadow, type ShadowComparison } from '../../monitoring/shadow';
import { comparisonMetricOf } from '../../monitoring/versionErrors';
import { getAlias, RegistryError } from '../../registry';
import type { AliasRecord } from '../../registry/types';
import type { CanaryCheck } from '../../workflows/monitoringTypes';
import type { ActivityDeps } from '../deps';
import { labelledOutputs, shadowPairs } from './versionRows';
import { currentSpecOf } from './versionSpec';

/** Who aborts a canary on its own, in the alias history, the audit log and the announcement. */
export const AUTOMATIC_ACTOR = 'kerf';

/** The later of the two aliases' last moves: since then the same two versions served side by side. */
function sideBySideSince(a: AliasRecord, b: AliasRecord): Date {
  return a.updatedAt > b.updatedAt ? a.updatedAt : b.updatedAt;
}

/** The comparison metric by the spec's primary quality metric; undefined for a forecast (no rows to compare). */
function metricOf(spec: PipelineSpec) {
  if (spec.task === 'forecast') return undefined;
  return comparisonMetricOf(spec.task, primaryMetricOf(spec.task, spec.gates.quality));
}

/**
 * The canary judgement a nightly run already acted on (its audit row), so that a retried activity
 * reports the abort it made instead of finding no canary.
 */
async function abortedByRun(
  pool: ActivityDeps['pool'],
  model: string,
  runId: string,
): Promise<CanaryJudgement | undefined> {
  const { rows } = await pool.query<{ judgement: CanaryJudgement | null }>(
    `SELECT details -> 'judgement' AS judgement FROM registry.audit_log
     WHERE model = $1 AND action = 'canary-aborted' AND actor = $2 AND details ->> 'runId' = $3
     ORDER BY id DESC LIMIT 1`,
    [model, AUTOMATIC_ACTOR, runId],
  );
  return rows[0]?.judgement ?? undefined;
}

/** The shadow beside production on the same requests; null without a shadow, or for a forecast. */
export async function compareShadowWith(
  deps: Pick<ActivityDeps, 'pool' | 'objectStore'>,
  production: AliasRecord,
  to: Date,
): Promise<ShadowComparison | null> {
  const shadow = await getAlias(deps.pool, production.model, 'shadow');
  if (!shadow) return null;
  const spec = await currentSpecOf(deps, shadow.model, shadow.version);
  const metric = metricOf(spec);
  if (metric === undefined || spec.task === 'forecast') return null;
  const since = sideBySideSince(shadow, production);
  const { pairs, labelled } = await shadowPairs(deps.pool, {
    model: shadow.model,
    shadowVersion: shadow.version,
    productionVersion: production.version,
    since,
    to,
  });
  return compareShadow({
    model: shadow.model,
    task: spec.task,
    metric,
    shadowVersion: shadow.version,
    productionVersion: production.version,
    since: since.toISOString(),
    to: to.toISOString(),
    tolerance: spec.deploy.shadowTolerance ?? DEFAULT_SHADOW_TOLERANCE,
    pairs,
    labelled,
  });
}

export function createDeploymentCheckActivities({ pool, objectStore }: ActivityDeps) {
  return {
    /**
     * Judges the model's canary against production on labelled outcomes since both serve (the
     * canary's current spec gives the bound) and aborts it when it is worse beyond the bound.
     *
     * @returns the judgement, or null when the model has no canary (or is a forecast)
     */
    async checkCanary(input: { model: string; runId: string }): Promise<CanaryCheck | null> {
      const checked = (judgement: CanaryJudgement): CanaryCheck => ({
        judgement,
        summary: canarySentence(judgement),
      });
      const earlier = await abortedByRun(pool, input.model, input.runId);
      if (earlier) return checked(earlier);
      const [canary, production] = await Promise.all([
        getAlias(pool, input.model, 'canary'),
        getAlias(pool, input.model, 'production'),
      ]);
      if (!canary || !production) return null;
      const spec = await currentSpecOf({ pool, objectStore }, input.model, canary.version);
      const metric = metricOf(spec);
      if (metric === undefined || spec.task === 'forecast') return null;
      const since = sideBySideSince(canary, production);
      const to = new Date();
      const served = (alias: 'canary' | 'production', version: number) =>
        labelledOutputs(pool, { model: input.model, alias, version, since, to });
      const judgement = judgeCanary({
        model: input.model,
        task: spec.task,
        metric,
        since: since.toISOString(),
        to: to.toISOString(),
        maxErrorRatio: spec.deploy.canaryMaxErrorRatio ?? DEFAULT_CANARY_BOUND.maxErrorRatio,
        minOutcomes: spec.deploy.canaryMinOutcomes ?? DEFAULT_CANARY_BOUND.minOutcomes,
        canary: { version: canary.version, rows: await served('canary', canary.version) },
        production: { version: production.version, rows: await served('production', production.version) },
      });
      log.info('canary judged', {
        model: input.model,
        canary: canary.version,
        verdict: judgement.verdict,
        ratio: judgement.ratio,
      });
      if (judgement.verdict !== 'worse') return checked(judgement);
      const aborted: CanaryJudgement = { ...judgement, aborted: true };
      try {
        await endCanary(pool, {
          model: input.model,
          decision: 'abort',
          actor: AUTOMATIC_ACTOR,
          version: canary.version,
          reason:
            `the nightly check found it worse than production: ${canaryEvidence(judgement)}, beyond ` +
            `deploy.canaryMaxErrorRatio ${judgement.maxErrorRatio} (run ${input.runId})`,
          details: {
            runId: input.runId,
            metric: judgement.metric,
            canaryError: judgement.canary.value,
            canaryOutcomes: judgement.canary.outcomes,
            productionVersion: judgement.production.version,
            productionError: judgement.production.value,
            productionOutcomes: judgement.production.outcomes,
            ratio: judgement.ratio,
            maxErrorRatio: judgement.maxErrorRatio,
            minOutcomes: judgement.minOutcomes,
            judgement: aborted,
          },
        });
        return checked(aborted);
      } catch (error) {
        // A person promoted, aborted or replaced the canary since it was read: theirs stands.
        if (!(error instanceof RegistryError)) throw error;
        return checked({ ...judgement, notAborted: error.message });
      }
    },
  };
}
