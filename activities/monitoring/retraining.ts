/**
 * What a nightly check does about what it found: retraining for a stale model, a lifecycle for a
 * spec that changed since the production version, and an announcement of both and of candidates
 * waiting for a decision. The runs it starts carry their spec by hash like any other: the spec file
 * when this worker has one (KERF_PIPELINES_DIR, the scheduler's side), else the spec production was
 * made from, so a worker without a `pipelines/` folder retrains too.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { log } from '@temporalio/activity';
import { lifecycleInput } from '../../workflows/client/lifecycleRuns';
import {
  loadPipelineSpec,
  parsePipelineSpec,
  type PipelineSpec,
  PipelineSpecError,
  specHash,
} from '../../lifecycle/spec';
import { TamperedArtifactError } from '../../lifecycle/manifest';
import type { ObjectStore } from '../../platform/objectStore';
import { appendAudit, getAlias, getVersion, listVersions } from '../../registry';
import { artifactKeys } from '../../registry/artifactKeys';
import type { VersionRecord } from '../../registry/types';
import type { LifecycleInput } from '../../workflows/lifecycleTypes';
import type { ActivityDeps } from '../deps';
import { specsIn } from '../lifecycle/runSpec';

/** The spec file of a pipeline, found by its name among the specs; none when there is no such folder. */
export async function findSpec(pipelinesDir: string, model: string): Promise<PipelineSpec | undefined> {
  const names = await readdir(pipelinesDir).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  });
  const files = names.filter((file) => file.endsWith('.json'));
  for (const file of files) {
    const spec = await loadPipelineSpec(path.join(pipelinesDir, file)).catch(() => undefined);
    if (spec?.name === model) return spec;
  }
  return undefined;
}

/**
 * The spec a served version was made from, by its recorded hash. Versions made before specs were
 * stored by hash have only their own copy (`models/<model>/v<N>/spec.json`): it is used when it
 * hashes to the recorded hash, and stored by hash for next time.
 */
async function specOfVersion(
  objectStore: ObjectStore,
  version: VersionRecord,
): Promise<{ spec: PipelineSpec; specHash: string } | { refused: string }> {
  const specs = specsIn(objectStore);
  try {
    return { spec: await specs.load(version.specHash), specHash: version.specHash };
  } catch (error) {
    // The bucket or the network away: the activity is retried. Anything else is an answer.
    if (!(error instanceof PipelineSpecError || error instanceof TamperedArtifactError)) throw error;
    const copy = await objectStore
      .getJson<unknown>(artifactKeys(version.model, version.version).spec)
      .catch(() => undefined);
    // Checked before it is stored: a copy changed since (or not a spec any more) stores nothing.
    const copyHash = (() => {
      try {
        return copy === undefined ? undefined : specHash(parsePipelineSpec(copy));
      } catch {
        return undefined;
      }
    })();
    if (copyHash === version.specHash) return specs.store(copy);
    const why = copy === undefined ? 'has no copy of it' : 'holds a copy that is not that spec any more';
    return {
      refused:
        `version ${version.version}'s spec ${version.specHash} is not stored by its hash and the version ${why}: ` +
        'retraining needs the spec; put it in the pipelines folder and run `kerf run <spec file>`',
    };
  }
}

export interface RetrainingPlan {
  kind: 'retrain' | 'spec-changed' | 'none';
  reason: string;
  lifecycle?: LifecycleInput;
}

export function createRetrainingActivities({
  pool,
  objectStore,
  pipelinesDir,
  temporal,
  webhookUrl,
}: ActivityDeps) {
  return {
    /** Whether a new lifecycle should run for the model tonight, and its input. */
    async planRetraining(input: {
      model: string;
      stale: boolean;
      staleReasons: string[];
      startedBy: string;
      approvalDeadlineMs?: number;
    }): Promise<RetrainingPlan> {
      const fileSpec = await findSpec(pipelinesDir, input.model);
      const production = await getAlias(pool, input.model, 'production');
      const served = production ? await getVersion(pool, input.model, production.version) : undefined;
      const options = {
        startedBy: input.startedBy,
        approvalDeadlineMs: input.approvalDeadlineMs,
        heavyTaskQueue: temporal.heavyTaskQueue,
      };
      const specs = specsIn(objectStore);
      if (input.stale) {
        const stored = fileSpec
          ? await specs.store(fileSpec)
          : served
            ? await specOfVersion(objectStore, served)
            : undefined;
        if (stored && 'refused' in stored) {
          // Not retried: no retry brings the spec back. A person must hear of it.
          await appendAudit(pool, {
            actor: input.startedBy,
            action: 'retraining-refused',
            model: input.model,
            version: served?.version,
            details: { reason: stored.refused },
          });
          return { kind: 'none', reason: stored.refused };
        }
        if (!stored) {
          return {
            kind: 'none',
            reason: `no spec named ${input.model} in ${pipelinesDir} and nothing serves; nothing to retrain from`,
          };
        }
        return {
          kind: 'retrain',
          reason: `stale: ${input.staleReasons.join('; ')}`,
          lifecycle: lifecycleInput(stored, options),
        };
      }
      if (!served) return { kind: 'none', reason: 'nothing serves' };
      if (!fileSpec) {
        return {
          kind: 'none',
          reason: `fresh; no spec named ${input.model} in ${pipelinesDir} to compare with production`,
        };
      }
      const current = specHash(fileSpec);
      if (served.specHash !== current) {
        return {
          kind: 'spec-changed',
          reason: `the spec changed since version ${served.version} (${served.specHash.slice(0, 12)} -> ${current.slice(0, 12)})`,
          lifecycle: lifecycleInput(await specs.store(fileSpec), options),
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
