/**
 * Pipeline specs kept by content hash in the bucket (`specs/<specHash>.json`): a run is started with
 * its spec stored here and carries only the hash, so any worker, with or without a `pipelines/`
 * folder, reads the very spec the run was started with.
 */
import { ObjectNotFoundError, type ObjectStore } from '../../platform/objectStore';
import { specKey } from '../../registry/artifactKeys';
import { sha256Hex, TamperedArtifactError } from '../manifest';
import { canonicalJson, parsePipelineSpec, PipelineSpecError, specHash } from './load';
import type { PipelineSpec } from './schema';

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Content-addressed, so a spec read once never changes: a worker keeps the last few it read. */
const CACHED_SPECS = 64;

/**
 * A specHash from a run's input as a message shows it: anyone who reaches Temporal may send any JSON
 * there, so any value, quoted and cut to 80 characters.
 */
export function shownHash(hash: unknown): string {
  return JSON.stringify(String(hash).slice(0, 80));
}

export interface SpecStore {
  /** Validates a spec (hostile input: a Web UI start carries it inline), stores it, and returns its hash. */
  store(spec: unknown): Promise<{ spec: PipelineSpec; specHash: string }>;
  /**
   * The spec with this hash, its bytes checked against the hash and its content validated again.
   *
   * @throws TamperedArtifactError when the stored bytes do not hash to `hash`
   * @throws PipelineSpecError when the hash is malformed, nothing is stored under it, or the content
   *   is not a valid spec
   */
  load(hash: string): Promise<PipelineSpec>;
}

export function specStore(objectStore: ObjectStore): SpecStore {
  const cache = new Map<string, PipelineSpec>();
  const remember = (hash: string, spec: PipelineSpec) => {
    cache.set(hash, spec);
    if (cache.size > CACHED_SPECS) cache.delete(cache.keys().next().value as string);
  };
  return {
    async store(draft) {
      const spec = parsePipelineSpec(draft);
      const hash = specHash(spec);
      // The bytes are the canonical JSON the hash is taken of: a reader checks them by hashing alone.
      const key = specKey(hash);
      const bytes = canonicalJson(spec);
      if (!(await objectStore.putOnce(key, bytes, 'application/json'))) {
        // Already there, written once. Bytes under the key that do not hash to it (a tampered or torn
        // object) would refuse every run of this spec: the real ones replace them.
        const existing = await objectStore.get(key);
        if (sha256Hex(existing) !== hash) await objectStore.put(key, bytes, 'application/json');
      }
      remember(hash, spec);
      return { spec, specHash: hash };
    },
    async load(hash) {
      if (!SHA256_HEX.test(hash)) {
        throw new PipelineSpecError([
          `specHash: ${shownHash(hash)} is not a SHA-256 in hex (64 characters 0-9a-f); start the run with \`kerf run\`, which stores the spec and passes its hash, or give the spec JSON as \`spec\``,
        ]);
      }
      const cached = cache.get(hash);
      if (cached) return cached;
      const bytes = await objectStore.get(specKey(hash)).catch((error: unknown) => {
        if (error instanceof ObjectNotFoundError) {
          throw new PipelineSpecError([
            `specHash: no spec ${hash} in the bucket (${specKey(hash)}); start the run with \`kerf run\`, which stores it, and check that the worker uses the same S3_BUCKET`,
          ]);
        }
        throw error;
      });
      const found = sha256Hex(bytes);
      if (found !== hash) {
        throw new TamperedArtifactError(
          'spec-hash-mismatch',
          `the spec stored as ${specKey(hash)} hashes to ${found}, not ${hash}: it was changed after the run started, so the run does not use it`,
        );
      }
      let json: unknown;
      try {
        json = JSON.parse(Buffer.from(bytes).toString('utf8'));
      } catch (error) {
        throw new PipelineSpecError([`not valid JSON: ${String(error)}`], specKey(hash));
      }
      const spec = parsePipelineSpec(json, specKey(hash));
      remember(hash, spec);
      return spec;
    },
  };
}
