/**
 * What the shipped cut-time spec's derived features are worth: the spec trained and tested on the
 * same generated shop with and without them (the same snapshot rows, split and trainer), the test
 * metrics of both printed as JSON. `npx vitest run --project integration test/integration/derivedFeaturesHelp.test.ts`
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFeatureTable } from '../../lifecycle/features/table';
import { loadSnapshot, type LoadedSnapshot, takeSnapshot } from '../../lifecycle/ingest';
import { evaluateOnTestSet } from '../../lifecycle/evaluate';
import { parsePipelineSpec, type PipelineSpec } from '../../lifecycle/spec';
import { trainCandidate } from '../../lifecycle/train';
import { applyMigrations } from '../../platform/migrations';
import { migrationsDir } from '../../platform/paths';
import { generateShop } from '../../shop/load';
import { createOwnDatabase, type OwnDatabase } from '../helpers';
import { shippedSpecInput } from '../specBuilder';

let db: OwnDatabase;

beforeAll(async () => {
  db = await createOwnDatabase('derived_help');
  await applyMigrations(db.pool, migrationsDir);
  await generateShop(db.ownerPool, { jobs: 6000, seed: 3 });
});
afterAll(async () => {
  await db.drop();
});

/** An object store in memory: the snapshot never needs the bucket here. */
function memoryStore() {
  const objects = new Map<string, Uint8Array>();
  return {
    putOnce: (key: string, bytes: Uint8Array | string) => {
      objects.set(key, typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes);
      return Promise.resolve(true);
    },
    get: (key: string) => {
      const bytes = objects.get(key);
      return bytes ? Promise.resolve(bytes) : Promise.reject(new Error(`no ${key}`));
    },
    // A snapshot smaller than one part goes up in one PUT: no multipart upload, no copy.
    startUpload: () => Promise.reject(new Error('memoryStore holds small snapshots only')),
    copyOnce: () => Promise.reject(new Error('memoryStore holds small snapshots only')),
    delete: (key: string) => Promise.resolve(void objects.delete(key)),
  };
}

async function testMetrics(
  spec: PipelineSpec,
  loaded: LoadedSnapshot,
): Promise<{ mape: number; rmse: number; r2: number }> {
  const table = spec.derived ? buildFeatureTable(loaded, { derived: spec.derived }).table : loaded.table;
  const trained = trainCandidate({ table, spec });
  const tested = await evaluateOnTestSet({ onnx: trained.onnx, table, spec });
  const metrics = tested.metrics as unknown as Record<string, number>;
  return { mape: metrics.mape ?? NaN, rmse: metrics.rmse ?? NaN, r2: metrics.r2 ?? NaN };
}

describe('the cut-time spec’s derived features', () => {
  it('predict the test rows better than the spec without them', async () => {
    const shipped = shippedSpecInput('cut-time.json');
    const after = parsePipelineSpec(shipped);
    const derived = new Set((after.derived ?? []).map((feature) => feature.name));
    expect(derived.size).toBeGreaterThan(0);
    const before = parsePipelineSpec({
      ...shipped,
      derived: undefined,
      features: after.features.filter((feature) => !derived.has(feature.name)),
    });
    const store = memoryStore();
    // One snapshot with every column either spec reads, so both see the same rows in the same order.
    const record = await takeSnapshot({ pool: db.ownerPool, store, pipeline: 'cut-time', spec: after });
    const loaded = await loadSnapshot(store, record.key);
    const withDerived = await testMetrics(after, loaded);
    const without = await testMetrics(before, loaded);
    console.log(JSON.stringify({ spec: 'cut-time', rows: record.rows, without, withDerived }));
    expect(withDerived.rmse).toBeLessThan(without.rmse);
    expect(withDerived.mape).toBeLessThan(without.mape);
  });
});
