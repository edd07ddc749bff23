/**
 * The deploy stage: the manifest's signature and the ONNX file's hash are verified against the keys
 * an admin trusted (revoked ones refused) before any alias moves; then production (or the canary, or the shadow) points
 * at the approved version. Rollback moves production back.
 */
import { log } from '@temporalio/activity';
import { retireKnownMappings } from '../../monitoring/categoryMappings';
import { ensureNightlySchedule } from '../../workflows/client/schedules';
import { ensureScoringSchedules } from '../../workflows/client/scoringSchedules';
import type { ReferenceProfile } from '../../monitoring/reference';
import { appendAudit, getAlias, getVersion, moveAlias, rollback } from '../../registry';
import { TamperedArtifactError } from '../../lifecycle/manifest';
import type { RollbackAnswer, SpecRef } from '../../workflows/lifecycleTypes';
import type { ActivityDeps } from '../deps';
import { stoppingOn, stopRun } from './errors';
import { artifactKeys } from '../../registry/artifactKeys';
import { runActor, runIdOf } from './register';
import { readVerifiedArtifact } from './verifiedArtifact';
import { specOf } from './runSpec';

export function createDeployActivities({ pool, objectStore, temporal }: ActivityDeps) {
  return {
    async deployVersion(
      input: SpecRef & { version: number; actor: string },
    ): Promise<{ alias: string; version: number }> {
      const spec = await specOf(objectStore, input);
      const { version } = input;
      const runId = runIdOf();
      const keys = artifactKeys(spec.name, version);
      const onnxKey = (await getVersion(pool, spec.name, version)).artifacts.onnxKey ?? keys.onnx;
      try {
        await readVerifiedArtifact(pool, objectStore, spec.name, version);
      } catch (error) {
        if (!(error instanceof TamperedArtifactError)) throw error;
        await appendAudit(pool, {
          actor: runActor(runId),
          action: 'deploy-refused',
          model: spec.name,
          version,
          details: { reason: error.reason, message: error.message, runId, onnxKey },
        });
        throw stopRun(
          'TamperedArtifactError',
          `${spec.name} v${version} was not deployed: ${error.message}`,
          {
            reason: error.reason,
          },
        );
      }

      // A canary or shadow needs a production version beside it; the first version simply serves.
      const production = await getAlias(pool, spec.name, 'production');
      const strategy = spec.deploy.strategy;
      const alias = strategy === 'replace' || !production ? 'production' : strategy;
      const moved = await stoppingOn(() =>
        moveAlias(pool, {
          model: spec.name,
          alias,
          version,
          trafficShare: alias === 'canary' ? spec.deploy.canaryShare : undefined,
          actor: input.actor,
          reason: `approved by ${input.actor} in run ${runId}; signature and SHA-256 verified`,
        }),
      );
      if (moved.alias.alias === 'production' && spec.task !== 'forecast') {
        // Categories operators taught serving are retired once the model serving knows them (a
        // forecast takes no rows, so nobody teaches it categories).
        const reference = await objectStore.getJson<ReferenceProfile>(keys.reference);
        const retired = await retireKnownMappings(pool, spec.name, version, reference, runActor(runId));
        if (retired.length > 0)
          log.info('taught categories retired', { model: spec.name, count: retired.length });
      }
      // The nightly check of what serves: created with the first deploy, kept in step with the spec.
      const schedule = await ensureNightlySchedule(temporal.client, {
        model: spec.name,
        cron: spec.monitoring.schedule,
        taskQueue: temporal.taskQueue,
        setBy: runActor(runId),
      });
      log.info('nightly schedule', { model: spec.name, schedule, cron: spec.monitoring.schedule });
      // The spec's scheduled batch scorings, kept in step with it the same way.
      const scorings = await ensureScoringSchedules(temporal.client, {
        model: spec.name,
        jobs: spec.scoring ?? [],
        taskQueue: temporal.taskQueue,
        heavyTaskQueue: temporal.heavyTaskQueue,
        setBy: runActor(runId),
      });
      log.info('scoring schedules', { model: spec.name, ...scorings });
      return { alias: moved.alias.alias, version: moved.alias.version };
    },

    async rollbackProduction(input: {
      model: string;
      actor: string;
      reason: string;
    }): Promise<RollbackAnswer> {
      return stoppingOn(async () => {
        const result = await rollback(pool, input);
        return { from: result.previousVersion ?? result.alias.version, to: result.alias.version };
      });
    },
  };
}
