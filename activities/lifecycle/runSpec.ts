/**
 * The run's spec, read by its content hash: the first activity of a run resolves it (storing a spec
 * that came inline, from a Web UI start), and every stage after reads it by hash the same way, so no
 * worker needs a `pipelines/` folder of its own.
 */
import { ApplicationFailure } from '@temporalio/activity';
import {
  parsePipelineSpec,
  type PipelineSpec,
  type SpecStore,
  shownHash,
  specHash,
  specStore,
} from '../../lifecycle/spec';
import type { ObjectStore } from '../../platform/objectStore';
import { appendAudit } from '../../registry';
import type { SpecRef } from '../../workflows/lifecycleTypes';
import type { ActivityDeps } from '../deps';
import { asStopping, stopRun, stoppingOn } from './errors';
import { runActor, runIdOf } from './register';

const stores = new WeakMap<ObjectStore, SpecStore>();

/** One spec store (and its cache) per bucket client, shared by the activities of a worker. */
export function specsIn(objectStore: ObjectStore): SpecStore {
  let store = stores.get(objectStore);
  if (!store) {
    store = specStore(objectStore);
    stores.set(objectStore, store);
  }
  return store;
}

/**
 * The spec a stage works with: read by hash (checked and validated), or the one an older run carried.
 *
 * @throws a non-retryable `TamperedArtifactError` when the stored bytes do not hash to the run's hash,
 *   or `SourceError` when nothing is stored under it or it is not a valid spec
 */
export function specOf(objectStore: ObjectStore, ref: SpecRef): Promise<PipelineSpec> {
  const inline = ref.spec;
  if (inline) return Promise.resolve(inline);
  return stoppingOn(() => specsIn(objectStore).load(ref.specHash));
}

/** The spec and hash a run's input names; refusals are thrown as non-retryable failures. */
async function resolve(
  objectStore: ObjectStore,
  input: { specHash?: string; spec?: unknown },
): Promise<{ spec: PipelineSpec; specHash: string }> {
  const specs = specsIn(objectStore);
  if (input.spec !== undefined) {
    const inline = input.spec;
    // Checked before anything is stored: a refused run leaves nothing in the bucket.
    let hash: string;
    try {
      hash = specHash(parsePipelineSpec(inline));
    } catch (error) {
      throw asStopping(error);
    }
    if (input.specHash !== undefined && input.specHash !== hash) {
      throw stopRun(
        'TamperedArtifactError',
        `the run's specHash ${shownHash(input.specHash)} is not the hash of the spec it carries (${hash}); start it again without specHash, or with the right one`,
        { reason: 'spec-hash-mismatch' },
      );
    }
    return stoppingOn(() => specs.store(inline));
  }
  if (input.specHash === undefined) {
    throw stopRun(
      'SourceError',
      'the run carries neither a spec nor a specHash: start it with `kerf run <spec file>`, or give the spec JSON as `spec`',
    );
  }
  const hash = input.specHash;
  return { spec: await specOf(objectStore, { specHash: hash }), specHash: hash };
}

export function createRunSpecActivities({ pool, objectStore }: ActivityDeps) {
  return {
    /**
     * The run's spec and its hash. A spec that came inline (a Web UI start) is validated, checked
     * against a hash that came with it, and only then stored; a hash alone is read.
     * Anyone who reaches Temporal can start a run with any input: a refused one is audited
     * (`run-spec-refused`) before the run stops.
     */
    async resolveRunSpec(input: {
      specHash?: string;
      spec?: unknown;
    }): Promise<{ spec: PipelineSpec; specHash: string }> {
      try {
        return await resolve(objectStore, input);
      } catch (error) {
        // Only refusals: a retryable failure (the bucket or the database away) is tried again.
        if (error instanceof ApplicationFailure && error.nonRetryable) {
          await appendAudit(pool, {
            actor: runActor(runIdOf()),
            action: 'run-spec-refused',
            details: { stage: 'resolve-spec', type: error.type, message: error.message },
          });
        }
        throw error;
      }
    },
  };
}
