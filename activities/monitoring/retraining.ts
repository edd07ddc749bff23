/**
 * What a nightly check does about what it found: retraining for a stale model, a lifecycle for a
 * spec that changed since the production version, and an announcement of both and of candidates
 * waiting for a decision. The runs it starts carry their spec by hash like any other: the spec file
 * when this worker has one (KERF_PIPELINES_DIR, the scheduler's side), else the spec production was
 * made from, so a worker without a `pipelines/` folder retrains too.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { lifecycleInput } from '../../workflows/client/lifecycleRuns';
import {
  changedFields,
  loadPipelineSpec,
  modelHash,
  parsePipelineSpec,
  type PipelineSpec,
  PipelineSpecError,
  specHash,
} from '../../lifecycle/spec';
import { TamperedArtifactError } from '../../lifecycle/manifest';
import type { ObjectStore } from '../../platform/objectStore';
import {
  appendAudit,
  currentSpecHash,
  getAlias,
  getVersion,
  listVersions,
  recordSpecRevision,
} from '../../registry';
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
export async function specOfVersion(
  objectStore: ObjectStore,
  version: VersionRecord,
  currentHash: string,
): Promise<{ spec: PipelineSpec; specHash: string } | { refused: string }> {
  const specs = specsIn(objectStore);
  try {
    return { spec: await specs.load(currentHash), specHash: currentHash };
  } catch (error) {
    // The bucket or the network away: the activity is retried. Anything else is an answer.
    if (!(error instanceof PipelineSpecError || error instanceof TamperedArtifactError)) throw error;
    // A revision is always stored by hash; only a version's own spec may predate that.
    if (currentHash !== version.specHash) {
      return {
        refused: `version ${version.version}'s current spec ${currentHash} (a revision) is not stored by its hash: put the spec in the pipelines folder and run \`kerf run <spec file>\``,
      };
    }
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
  /** `revised`: the spec changed only in fields that do not change the model, recorded as a revision. */
  kind: 'retrain' | 'spec-changed' | 'revised' | 'none';
  reason: string;
  lifecycle?: LifecycleInput;
}

export function createRetrainingActivities({ pool, objectStore, pipelinesDir, temporal }: ActivityDeps) {
  /**
   * The spec file differs from production's current spec only in fields that do not change the
   * model: stored by hash and recorded as a revision of the production version (no retraining).
   * Undefined when production's current spec cannot be read to compare (a lifecycle runs instead).
   */
  async function reviseServedSpec(
    served: VersionRecord,
    servedHash: string,
    fileSpec: PipelineSpec,
    actor: string,
  ): Promise<RetrainingPlan | undefined> {
    const specs = specsIn(objectStore);
    const before = await specs.load(servedHash).catch((error: unknown) => {
      if (error instanceof PipelineSpecError || error instanceof TamperedArtifactError) return undefined;
      throw error;
    });
    if (!before) return undefined;
    const stored = await specs.store(fileSpec);
    const fields = changedFields(before, stored.spec);
    const revision = await recordSpecRevision(pool, {
      model: served.model,
      version: served.version,
      specHash: stored.specHash,
      previousSpecHash: servedHash,
      fields,
      actor,
      description: stored.spec.description,
    });
    const number = revision ? ` ${revision.revision}` : '';
    return {
      kind: 'revised',
      reason: `the spec's ${fields.join(', ')} changed since version ${served.version}: recorded as its revision${number}, which applies without retraining`,
    };
  }

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
            ? await specOfVersion(
                objectStore,
                served,
                await currentSpecHash(pool, served.model, served.version),
              )
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
      const servedHash = await currentSpecHash(pool, served.model, served.version);
      if (servedHash !== current) {
        if (modelHash(fileSpec) === served.modelHash) {
          const revised = await reviseServedSpec(served, servedHash, fileSpec, input.startedBy);
          if (revised) return revised;
        }
        return {
          kind: 'spec-changed',
          reason: `the spec changed since version ${served.version} (${servedHash.slice(0, 12)} -> ${current.slice(0, 12)})`,
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
  };
}
