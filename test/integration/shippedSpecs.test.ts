/**
 * Every shipped spec goes through the lifecycle to a deployed model, with the gates it ships with:
 * the shop's specs on a generated shop, steel-energy and ai4i-failure on their public data sets
 * (imported as `kerf import-csv` would), each with its own trainer, split, features and gates. cut-time and order-forecast have tests of
 * their own (lifecycle.test.ts, orderForecast.test.ts).
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifactKeys } from '../../registry/artifactKeys';
import { getAlias } from '../../registry';
import { importCsv } from '../../shop/csvImport';
import { waitForStage } from '../../workflows/client/lifecycleRuns';
import { createLifecycleTestbed, type LifecycleTestbed } from '../lifecycleTestbed';
import { shippedSpecInput } from '../specBuilder';
import { ai4iCsv, steelEnergyCsv } from '../sharedData';

const TESTED_ELSEWHERE = new Set(['cut-time.json', 'order-forecast.json']);
const SPECS = [
  'ai4i-failure.json',
  'bend-time.json',
  'job-energy.json',
  'quote-price.json',
  'scrap-rate.json',
  'steel-energy.json',
];

let bed: LifecycleTestbed;

beforeAll(async () => {
  bed = await createLifecycleTestbed('shipped_specs', { jobs: 4000, seed: 5 });
  await importCsv(bed.db.ownerPool, steelEnergyCsv, { table: 'steel_energy' });
  await importCsv(bed.db.ownerPool, ai4iCsv, { table: 'ai4i2020' });
});
afterAll(async () => {
  await bed.close();
});

describe('the shipped specs', () => {
  it('are each tested through the lifecycle, here or in a test of their own', async () => {
    const shipped = (await readdir(path.join(import.meta.dirname, '../../pipelines'))).filter((file) =>
      file.endsWith('.json'),
    );
    expect(shipped.filter((file) => !TESTED_ELSEWHERE.has(file)).sort()).toEqual(SPECS);
  });

  it.each(SPECS)(
    '%s reaches a deployed model with its own gates',
    async (file) => {
      // The spec's own trainer, data, split, features and gates; only the approvers are this test's
      // people, and a shipped search is cut to a few trials (its full figure is the tune bench's).
      const spec = await bed.spec(file, {
        approval: { approvers: ['shop-manager', 'production-planner'] },
        ...('tuning' in shippedSpecInput(file) ? { tuning: { trials: 4, rungs: 2, budget: '20s' } } : {}),
      });
      const handle = await bed.start(spec, { startedBy: 'shop-manager', approvalDeadlineMs: 600_000 });
      const waiting = await waitForStage(handle, 'awaiting-approval', { timeoutMs: 300_000 });
      // Every gate the candidate went through passed.
      expect(waiting.verdicts.map((verdict) => verdict.gate)).toEqual(['quality', 'fairness', 'security']);
      expect(waiting.verdicts.flatMap((verdict) => verdict.failed)).toEqual([]);
      await bed.signalDecision(handle, 'production-planner', 'approve', `${file} passes its gates`);
      expect(await handle.result()).toMatchObject({ outcome: 'deployed', pipeline: spec.name, version: 1 });
      expect((await getAlias(bed.db.pool, spec.name, 'production'))?.version).toBe(1);
      const card = new TextDecoder().decode(await bed.store.get(artifactKeys(spec.name, 1).card));
      expect(card).toContain(spec.name);
      if (spec.tuning) expect(card).toContain('<h2>Tuning</h2>');
    },
    240_000,
  );
});
