import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson, PipelineSpecError, specHash, specStore } from '../../../../lifecycle/spec';
import { TamperedArtifactError } from '../../../../lifecycle/manifest';
import { ObjectNotFoundError, type ObjectStore } from '../../../../platform/objectStore';
import { specKey } from '../../../../registry/artifactKeys';
import { buildSpec } from '../../../specBuilder';

/** A bucket in memory: only the calls the spec store makes. */
function memoryBucket(): { store: ObjectStore; objects: Map<string, string> } {
  const objects = new Map<string, string>();
  const store = {
    put: (key: string, body: string) => {
      objects.set(key, body);
      return Promise.resolve();
    },
    putOnce: (key: string, body: string) => {
      if (objects.has(key)) return Promise.resolve(false);
      objects.set(key, body);
      return Promise.resolve(true);
    },
    get: (key: string) => {
      const body = objects.get(key);
      return body === undefined
        ? Promise.reject(new ObjectNotFoundError('kerf', key))
        : Promise.resolve(new TextEncoder().encode(body));
    },
  } as unknown as ObjectStore;
  return { store, objects };
}

describe('specStore', () => {
  it('stores the canonical JSON under its hash and reads the same spec back', async () => {
    const { store, objects } = memoryBucket();
    const spec = buildSpec();
    const stored = await specStore(store).store(spec);
    expect(stored.specHash).toBe(specHash(spec));
    expect(objects.get(specKey(stored.specHash))).toBe(canonicalJson(spec));
    // A fresh store (another worker) reads it from the bucket, not from a cache.
    expect(await specStore(store).load(stored.specHash)).toEqual(spec);
  });

  it('writes a spec already stored no second time, and replaces bytes under its hash that are not it', async () => {
    const { store, objects } = memoryBucket();
    const spec = buildSpec();
    const key = specKey(specHash(spec));
    objects.set(key, canonicalJson(buildSpec({ description: 'planted under the wrong hash' })));
    await specStore(store).store(spec);
    expect(objects.get(key)).toBe(canonicalJson(spec));
    const puts: string[] = [];
    const counting = {
      putOnce: (k: string, body: string) => store.putOnce(k, body),
      get: (k: string) => store.get(k),
      put: (k: string) => Promise.resolve(void puts.push(k)),
    } as unknown as ObjectStore;
    await specStore(counting).store(spec);
    expect(puts).toEqual([]);
  });

  it('refuses bytes that do not hash to the run’s hash', async () => {
    const { store, objects } = memoryBucket();
    const spec = buildSpec();
    const hash = specHash(spec);
    objects.set(specKey(hash), canonicalJson(buildSpec({ trainer: { params: { iterations: 7 } } })));
    const error = await specStore(store)
      .load(hash)
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TamperedArtifactError);
    expect((error as TamperedArtifactError).reason).toBe('spec-hash-mismatch');
  });

  it('validates what it reads again: hostile content hashed honestly is still refused', async () => {
    const { store, objects } = memoryBucket();
    const hostile = canonicalJson({ name: 'x', source: { kind: 'sql', query: 'DROP TABLE shop.jobs' } });
    const hash = createHash('sha256').update(hostile).digest('hex');
    objects.set(specKey(hash), hostile);
    await expect(specStore(store).load(hash)).rejects.toBeInstanceOf(PipelineSpecError);
  });

  it('names a malformed hash and a missing spec', async () => {
    const { store } = memoryBucket();
    await expect(specStore(store).load('../../etc/passwd')).rejects.toThrow(/is not a SHA-256 in hex/);
    await expect(specStore(store).load('a'.repeat(64))).rejects.toThrow(/no spec a{64} in the bucket/);
  });

  it('refuses an invalid spec before storing it', async () => {
    const { store, objects } = memoryBucket();
    await expect(specStore(store).store({ name: 'no-target' })).rejects.toBeInstanceOf(PipelineSpecError);
    expect(objects.size).toBe(0);
  });
});
