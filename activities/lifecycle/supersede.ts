/**
 * One open candidate per model: a run that reaches approval tells the runs of older candidates of
 * its model that they are superseded, and each of those checks the registry before it ends (a
 * Signal proves nothing), its version rejected as superseded, audited. So a stale night's retraining
 * replaces the candidate still waiting from the night before instead of queueing beside it.
 */
import { log } from '@temporalio/activity';
import { appendAudit, listVersions, setStatus } from '../../registry';
import { supersededSignal } from '../../workflows/lifecycleMessages';
import type { ActivityDeps } from '../deps';
import { runActor } from './register';

export function createSupersedeActivities({ pool, temporal }: ActivityDeps) {
  return {
    /** Signals the runs of the model's older candidates; returns the versions told. */
    async supersedeOlderCandidates(input: { model: string; version: number }): Promise<number[]> {
      const older = (await listVersions(pool, input.model)).filter(
        (version) => version.status === 'candidate' && version.version < input.version,
      );
      const told: number[] = [];
      for (const version of older) {
        try {
          await temporal.client.workflow
            .getHandle(version.runId)
            .signal(supersededSignal, { by: input.version });
          told.push(version.version);
        } catch (error) {
          // A run that is gone cannot wait any more; its candidate ends by its deadline or a person.
          log.warn('could not tell an older candidate it is superseded', {
            model: input.model,
            version: version.version,
            error: error instanceof Error ? error.message : String(error),
          });
        }
      }
      return told;
    },

    /**
     * Whether a newer candidate of the model waits: if so this version is rejected as superseded by
     * it (audited `candidate-superseded`) and its number is returned.
     */
    async endIfSuperseded(input: {
      model: string;
      version: number;
      runId: string;
      /** A `superseded` Signal asked (audited when nothing newer waits); false: the run's own check. */
      claimed?: boolean;
    }): Promise<{ by?: number }> {
      const newer = (await listVersions(pool, input.model))
        .filter((version) => version.status === 'candidate' && version.version > input.version)
        .sort((a, b) => b.version - a.version)[0];
      if (!newer) {
        if (input.claimed === false) return {};
        await appendAudit(pool, {
          actor: runActor(input.runId),
          action: 'supersede-refused',
          model: input.model,
          version: input.version,
          details: {
            reason: 'a superseded Signal arrived, but no newer candidate waits; the run goes on waiting',
          },
        });
        return {};
      }
      await setStatus(pool, {
        model: input.model,
        version: input.version,
        status: 'rejected',
        actor: runActor(input.runId),
        reason: `superseded by version ${newer.version}, a newer candidate waiting for approval`,
      });
      await appendAudit(pool, {
        actor: runActor(input.runId),
        action: 'candidate-superseded',
        model: input.model,
        version: input.version,
        details: { by: newer.version, byRun: newer.runId },
      });
      return { by: newer.version };
    },
  };
}
