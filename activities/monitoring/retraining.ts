/**
 * What a nightly check does about what it found: retraining for a stale model, a lifecycle for a
 * spec that changed since the production version, and an announcement of both and of candidates
 * waiting for a decision.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { log } from '@temporalio/activity';
import { lifecycleInput } from '../../workflows/client/lifecycleRuns';
import { loadPipelineSpec, type PipelineSpec, specHash } from '../../lifecycle/spec';
import { appendAudit, getAlias, getVersion, listVersions } from '../../registry';
import type { LifecycleInput } from '../../workflows/lifecycleTypes';
import type { ActivityDeps } from '../deps';

/** The spec file of a pipeline, found by its name among the specs. */
export async function findSpec(pipelinesDir: string, model: string): Promise<PipelineSpec | undefined> {
  const files = (await readdir(pipelinesDir)).filter((file) => file.endsWith('.json'));
  for (const file of files) {
    const spec = await loadPipelineSpec(path.join(pipelinesDir, file)).catch(() => undefined);
    if (spec?.name === model) return spec;
  }
  return undefined;
}

export interface RetrainingPlan {
  kind: 'retrain' | 'spec-changed' | 'none';
  reason: string;
  lifecycle?: LifecycleInput;
}

export function createRetrainingActivities({ pool, pipelinesDir, webhookUrl }: ActivityDeps) {
  return {
    /** Whether a new lifecycle should run for the model tonight, and its input. */
    async planRetraining(input: {
      model: string;
      stale: boolean;
      staleReasons: string[];
      startedBy: string;
      approvalDeadlineMs?: number;
    }): Promise<RetrainingPlan> {
      const spec = await findSpec(pipelinesDir, input.model);
      if (!spec) {
        return {
          kind: 'none',
          reason: `no spec named ${input.model} in ${pipelinesDir}; nothing to retrain from`,
        };
      }
      const options = { startedBy: input.startedBy, approvalDeadlineMs: input.approvalDeadlineMs };
      if (input.stale) {
        return {
          kind: 'retrain',
          reason: `stale: ${input.staleReasons.join('; ')}`,
          lifecycle: lifecycleInput(spec, options),
        };
      }
      const production = await getAlias(pool, input.model, 'production');
      if (!production) return { kind: 'none', reason: 'nothing serves' };
      const served = await getVersion(pool, input.model, production.version);
      const current = specHash(spec);
      if (served.specHash !== current) {
        return {
          kind: 'spec-changed',
          reason: `the spec changed since version ${served.version} (${served.specHash.slice(0, 12)} -> ${current.slice(0, 12)})`,
          lifecycle: lifecycleInput(spec, options),
        };
      }
      return { kind: 'none', reason: 'fresh, and the spec is the one in production' };
    },

    /** Candidates of the model waiting for a person's decision. */
    async pendingApprovals(input: { model: string }): Promise<{ model: string; version: number }[]> {
      const versions = await listVersions(pool, input.model).catch(() => []);
      return versions
        .filter((version) => version.status === 'candidate')
        .map((version) => ({ model: version.model, version: version.version }));
    },

    /** Posts the night's news to the webhook (when one is configured) and audits it. */
    async announce(
      message: Record<string, unknown> & { event: string; model: string },
    ): Promise<{ posted: boolean }> {
      let posted = false;
      if (webhookUrl) {
        const response = await fetch(webhookUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ source: 'kerf', ...message }),
          signal: AbortSignal.timeout(10_000),
        });
        if (!response.ok)
          throw new Error(`the webhook ${webhookUrl} answered ${response.status} ${response.statusText}`);
        posted = true;
      } else {
        log.info(
          'no webhook configured (KERF_WEBHOOK_URL); the announcement is in the audit log only',
          message,
        );
      }
      await appendAudit(pool, {
        actor: 'kerf-nightly',
        action: 'nightly-announcement',
        model: message.model,
        details: { ...message, posted },
      });
      return { posted };
    },
  };
}
