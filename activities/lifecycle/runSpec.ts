/**
 * The run's spec, read by its content hash: the first activity of a run resolves it (storing a spec
 * that came inline, from a Web UI start), and every stage after reads it by hash the same way, so no
 * worker needs a `pipelines/` folder of its own.
 */
import { type PipelineSpec, type SpecStore, specStore } from '../../lifecycle/spec';
import type { ObjectStore } from '../../platform/objectStore';
import type { SpecRef } from '../../workflows/lifecycleTypes';
import type { ActivityDeps } from '../deps';
import { stopRun, stoppingOn } from './errors';

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

export function createRunSpecActivities({ objectStore }: ActivityDeps) {
  return {
    /**
     * The run's spec and its hash. A spec that came inline (a Web UI start) is validated and stored
     * first, and refused when it does not match a hash that came with it; a hash alone is read.
     */
    async resolveRunSpec(input: {
      specHash?: string;
      spec?: unknown;
    }): Promise<{ spec: PipelineSpec; specHash: string }> {
      const specs = specsIn(objectStore);
      if (input.spec !== undefined) {
        const stored = await stoppingOn(() => specs.store(input.spec));
        if (input.specHash !== undefined && input.specHash !== stored.specHash) {
          throw stopRun(
            'TamperedArtifactError',
            `the run's specHash ${input.specHash} is not the hash of the spec it carries (${stored.specHash}); start it again without specHash, or with the right one`,
            { reason: 'spec-hash-mismatch' },
          );
        }
        return stored;
      }
      if (input.specHash === undefined) {
        throw stopRun('SourceError', 'the run carries neither a spec nor a specHash: give it one of them');
      }
      const hash = input.specHash;
      return { spec: await specOf(objectStore, { specHash: hash }), specHash: hash };
    },
  };
}
