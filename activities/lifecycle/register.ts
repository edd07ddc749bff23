/** Registry writes of the lifecycle: the version, decisions, audit events, breakdowns. */
import { Context } from '@temporalio/activity';
import {
  appendAudit,
  currentSpecHash,
  getVersion,
  recordApproval,
  recordSpecRevision,
  resolveVersion,
  setStatus,
} from '../../registry';
import { changedFields, modelHash } from '../../lifecycle/spec';
import type { RegisteredVersion, SnapshotRef, SpecRef } from '../../workflows/lifecycleTypes';
import type { ActivityDeps } from '../deps';
import { stoppingOn } from './errors';
import { specOf, specsIn } from './runSpec';
import { modelTaskOf } from '../../lifecycle/spec/metrics';

/** The workflow id of the run an activity works for. */
export function runIdOf(): string {
  const execution = Context.current().info.workflowExecution as { workflowId: string } | undefined;
  if (!execution) throw new Error('lifecycle activities run inside a workflow: they are keyed by its id');
  return execution.workflowId;
}

/** Who the run is in the audit log. */
export const runActor = (runId: string) => `run:${runId}`;

export function createRegisterActivities({ pool, objectStore, codeVersion }: ActivityDeps) {
  return {
    /**
     * The version this run makes: the existing one when the same model definition already ran on
     * the same data (no duplicate), else the next number. When it existed and this run's spec
     * differs from its current one in other fields only, the difference is recorded as a revision.
     */
    async registerVersion(
      input: SpecRef & { specHash: string; snapshot: SnapshotRef },
    ): Promise<RegisteredVersion> {
      const spec = await specOf(objectStore, input);
      return stoppingOn(async () => {
        const runId = runIdOf();
        const { version, created } = await resolveVersion(pool, {
          model: spec.name,
          task: modelTaskOf(spec.task),
          description: spec.description,
          specHash: input.specHash,
          modelHash: modelHash(spec),
          snapshotHash: input.snapshot.sha256,
          runId,
          params: { trainer: spec.trainer.kind, ...spec.trainer.params },
          codeVersion,
        });
        if (!created && version.status === 'failed' && version.runId !== runId) {
          // A run broke down on this version before: this one trains it again.
          await setStatus(pool, {
            model: version.model,
            version: version.version,
            status: 'training',
            actor: runActor(runId),
            reason: `training again after run ${version.runId} failed`,
          });
          return { version: version.version, created: false, status: 'training', runId };
        }
        const registered = {
          version: version.version,
          created,
          status: version.status,
          runId: version.runId,
        };
        if (created) return registered;
        const current = await currentSpecHash(pool, version.model, version.version);
        if (current === input.specHash) return registered;
        const before = await specsIn(objectStore).load(current);
        const revision = await recordSpecRevision(pool, {
          model: version.model,
          version: version.version,
          specHash: input.specHash,
          previousSpecHash: current,
          fields: changedFields(before, spec),
          actor: runActor(runId),
          description: spec.description,
        });
        return revision
          ? { ...registered, revision: { revision: revision.revision, fields: revision.fields } }
          : registered;
      });
    },

    /** Something broke (not a decision): the version is marked failed so a later run may train it again. */
    async markVersionFailed(input: {
      model: string;
      version: number;
      stage: string;
      reason: string;
      runId: string;
    }): Promise<void> {
      const current = await getVersion(pool, input.model, input.version);
      if (current.status === 'failed' || current.runId !== input.runId) return;
      if (current.status !== 'training') {
        await appendAudit(pool, {
          actor: runActor(input.runId),
          action: 'run-failed',
          model: input.model,
          version: input.version,
          details: { stage: input.stage, reason: input.reason },
        });
        return;
      }
      await setStatus(pool, {
        model: input.model,
        version: input.version,
        status: 'failed',
        actor: runActor(input.runId),
        reason: `${input.stage} failed: ${input.reason}`,
      });
    },

    /** An event the workflow saw (a refused approval, a reminder), for the audit log. */
    async recordAuditEvent(input: {
      actor: string;
      action: string;
      /** None for a run refused before its spec was read. */
      model?: string;
      version?: number;
      details: Record<string, unknown>;
    }): Promise<void> {
      await appendAudit(pool, input);
    },

    /** A person's decision (or the deadline's) on the candidate. */
    async recordDecision(input: {
      model: string;
      version: number;
      decision: 'approved' | 'rejected';
      approver: string;
      comment?: string;
      runId: string;
      expired: boolean;
      /** How the approver was authenticated (`cli-key`, `approval-code`); absent for older runs. */
      authenticatedBy?: string;
    }): Promise<void> {
      await stoppingOn(async () => {
        if (input.expired) {
          await appendAudit(pool, {
            actor: 'kerf',
            action: 'approval-deadline-passed',
            model: input.model,
            version: input.version,
            details: { runId: input.runId, comment: input.comment ?? null },
          });
        }
        await recordApproval(pool, {
          model: input.model,
          version: input.version,
          decision: input.decision,
          approver: input.approver,
          comment: input.comment,
          ...(input.authenticatedBy ? { authenticatedBy: input.authenticatedBy, runId: input.runId } : {}),
        });
      });
    },
  };
}
