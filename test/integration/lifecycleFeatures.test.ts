import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForStage } from '../../workflows/client/lifecycleRuns';
import type { PipelineSpec } from '../../lifecycle/spec';
import { loadSnapshot } from '../../lifecycle/ingest';
import { signManifest, type UnsignedManifest } from '../../lifecycle/manifest';
import { loadOrCreateSigningKey } from '../../lifecycle/signing';
import { MISSING_CODE } from '../../ml/table';
import { artifactKeys } from '../../registry/artifactKeys';
import { ModelLoadRefusedError, type PredictResponse, startServing } from '../../serving';
import { loadVersion } from '../../serving/loadVersion';
import type { StoredPredictions } from '../../activities/lifecycle/evaluate';
import { createLifecycleTestbed, type LifecycleTestbed } from '../lifecycleTestbed';

const TOKEN = 'test-serving-token-lifecycle-features-0123456789';

/** Cut time's physics in the expression language: contour time over the laser's speed, piercing. */
const DERIVED = [
  {
    name: 'contour_seconds',
    expression:
      'cut_length_mm * thickness_mm * sqrt(sqrt(thickness_mm)) / max(sqrt(laser_power_kw) * sqrt(sqrt(laser_power_kw)), 0.1)',
  },
  { name: 'pierce_load', expression: 'pierce_count * (1 + 0.1 * thickness_mm * sqrt(thickness_mm))' },
  { name: 'is_aluminium', expression: 'if(material_family == "aluminium", 1, 0)' },
];

let bed: LifecycleTestbed;
let spec: PipelineSpec;

beforeAll(async () => {
  bed = await createLifecycleTestbed('lifecycle_features');
  spec = await bed.spec('cut-time.json', {
    trainer: { params: { iterations: 150 } },
    derived: DERIVED,
    features: [
      { name: 'thickness_mm', kind: 'numeric' },
      { name: 'quantity', kind: 'numeric' },
      { name: 'material_family', kind: 'categorical' },
      { name: 'machine_id', kind: 'categorical' },
      { name: 'shift', kind: 'categorical' },
      { name: 'contour_seconds', kind: 'numeric' },
      { name: 'pierce_load', kind: 'numeric' },
      { name: 'is_aluminium', kind: 'numeric' },
    ],
  });
});
afterAll(async () => {
  await bed.close();
});

describe('a spec with derived features', () => {
  it('is built, trained, pinned and served from the request’s source columns, predicting as it did offline', async () => {
    const handle = await bed.start(spec, { startedBy: 'shop-manager', approvalDeadlineMs: 600_000 });
    const waiting = await waitForStage(handle, 'awaiting-approval', { timeoutMs: 240_000 });
    expect(waiting.history.map((entry) => entry.stage).slice(0, 5)).toEqual([
      'ingest',
      'validate',
      'register',
      'features',
      'train',
    ]);
    const built = waiting.features;
    expect(built?.key).toBe(`features/${spec.name}/${built?.sha256}.arrow`);
    await bed.signalDecision(handle, 'production-planner', 'approve', 'derived features look right');
    expect(await handle.result()).toEqual({ outcome: 'deployed', pipeline: spec.name, version: 1 });
    await bed.keepHistory(handle, 'deployed-with-features');

    // The manifest pins the definition and the built table; the card lists each derived feature.
    const keys = artifactKeys(spec.name, 1);
    const manifest = JSON.parse(
      new TextDecoder().decode(await bed.store.get(keys.manifest)),
    ) as UnsignedManifest;
    expect(manifest.featureBuild).toMatchObject({
      version: 'feature-build/1',
      sha256: built?.definitionSha256,
      derived: DERIVED,
      table: { key: built?.key, hash: built?.sha256 },
    });
    expect(manifest.featureBuild?.inputs.map((input) => input.name)).toEqual([
      'cut_length_mm',
      'thickness_mm',
      'laser_power_kw',
      'pierce_count',
      'material_family',
    ]);
    const card = new TextDecoder().decode(await bed.store.get(keys.card));
    expect(card).toContain('<h2>Built features</h2>');
    expect(card).toContain('<code>contour_seconds</code>');
    expect(card).toContain(built?.sha256 ?? 'no hash');

    // The offline predictions of the test rows, and those rows as a client would send them.
    const offline = await bed.store.getJson<StoredPredictions>(keys.predictions);
    const table = (await loadSnapshot(bed.store, built?.key ?? '')).table;
    const serving = await startServing({ pool: bed.db.pool, objectStore: bed.store, token: TOKEN, port: 0 });
    try {
      const described = (await (
        await fetch(`${serving.url}/v1/models/${spec.name}`, {
          headers: { authorization: `Bearer ${TOKEN}` },
        })
      ).json()) as { inputs?: { name: string }[] };
      const requestColumns = (described.inputs ?? []).map((input) => input.name);
      expect(new Set(requestColumns)).toEqual(
        new Set([
          'thickness_mm',
          'quantity',
          'material_family',
          'machine_id',
          'shift',
          'cut_length_mm',
          'laser_power_kw',
          'pierce_count',
        ]),
      );
      const rows = offline.testRows.slice(0, 200).map((row): Record<string, number | string | null> =>
        Object.fromEntries(
          requestColumns.map((name): [string, number | string | null] => {
            const column = table.column(name);
            if (column.kind === 'numeric') {
              const value = column.values[row] as number;
              return [name, Number.isNaN(value) ? null : value];
            }
            const code = column.codes[row] as number;
            return [name, code === MISSING_CODE ? null : (column.dictionary[code] ?? null)];
          }),
        ),
      );
      const response = await fetch(`${serving.url}/v1/models/${spec.name}/predict`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ rows }),
      });
      expect(response.status).toBe(200);
      const answer = (await response.json()) as PredictResponse;
      const online = answer.predictions.map((prediction) => prediction.value as number);
      expect(online).toEqual(offline.prediction.slice(0, 200));
      // A derived feature is computed, never taken from the request.
      const sneaky = await fetch(`${serving.url}/v1/models/${spec.name}/predict`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ rows: [{ ...rows[0], contour_seconds: 1 }] }),
      });
      expect(sneaky.status).toBe(400);
    } finally {
      await serving.close();
    }
  });

  it('is refused by serving when its pinned feature definition was altered, even re-signed', async () => {
    const keys = artifactKeys(spec.name, 1);
    const manifest = JSON.parse(
      new TextDecoder().decode(await bed.store.get(keys.manifest)),
    ) as UnsignedManifest & {
      keyId?: string;
      publicKeyPem?: string;
    };
    delete manifest.keyId;
    delete manifest.publicKeyPem;
    const build = manifest.featureBuild;
    if (!build) throw new Error('the version pins no feature build');
    // A forger with the signing key halves the contour time the model is fed: the hash no longer fits.
    build.derived = build.derived.map((feature, index) =>
      index === 0 ? { ...feature, expression: `(${feature.expression}) / 2` } : feature,
    );
    const signed = signManifest(manifest, await loadOrCreateSigningKey(bed.config.signing));
    await bed.store.put(keys.manifest, signed.manifestJson, 'application/json');
    await bed.store.put(keys.signature, signed.signature, 'text/plain');
    const refused = await loadVersion({ pool: bed.db.pool, objectStore: bed.store }, spec.name, 1).catch(
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(ModelLoadRefusedError);
    expect((refused as ModelLoadRefusedError).reason).toBe('feature-build-mismatch');
    expect((refused as ModelLoadRefusedError).message).toMatch(/not to the .* the manifest pins/);
  });
});
