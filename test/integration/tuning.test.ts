/**
 * The tune stage on the real stack: a cut-time spec with a search runs successive halving as heavy
 * activities (each trial once, the best of a rung promoted), trains with the chosen parameters, and
 * the manifest, the card and the run's status show them; a budget that runs out stops the trials and
 * the run goes on.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelManifest } from '../../lifecycle/manifest';
import type { TrialResult } from '../../lifecycle/tuning/halving';
import type { TuningRecord } from '../../lifecycle/tuning/plan';
import { artifactKeys } from '../../registry/artifactKeys';
import { waitForStage } from '../../workflows/client/lifecycleRuns';
import { activityRuns, historyEvents } from '../activityHistory';
import { createLifecycleTestbed, type LifecycleTestbed } from '../lifecycleTestbed';

let bed: LifecycleTestbed;

beforeAll(async () => {
  bed = await createLifecycleTestbed('tuning', { jobs: 3000, seed: 9 });
});
afterAll(async () => {
  await bed.close();
});

const SPACE = {
  learningRate: { min: 0.03, max: 0.3, scale: 'log' },
  maxLeaves: { min: 8, max: 64, scale: 'log', integer: true },
  minSamplesLeaf: { min: 5, max: 40, integer: true },
};

describe('the tune stage', () => {
  it('halves the trials rung by rung on the heavy queue and trains, signs and shows the chosen parameters', async () => {
    const spec = await bed.spec('cut-time.json', {
      tuning: { space: SPACE, trials: 9, reduction: 3, rungs: 2, folds: 3, budget: '10m', seed: 5 },
    });
    const handle = await bed.start(spec, { startedBy: 'shop-manager', approvalDeadlineMs: 600_000 });
    const waiting = await waitForStage(handle, 'awaiting-approval', { timeoutMs: 300_000 });
    expect(waiting.history.map((entry) => entry.stage)).toEqual([
      'ingest',
      'validate',
      'register',
      'features',
      'tune',
      'train',
      'evaluate',
      'fairness',
      'security',
      'awaiting-approval',
    ]);
    const chosen = waiting.tuning?.chosen;
    expect(chosen).toBeDefined();

    const keys = artifactKeys(spec.name, 1);
    const recordBytes = await bed.store.get(keys.tuning);
    const record = JSON.parse(new TextDecoder().decode(recordBytes)) as TuningRecord;
    expect(chosen?.sha256).toBe(createHash('sha256').update(recordBytes).digest('hex'));
    // 9 trials on a third of the rounds, the best 3 of them on all: the spec's own parameters are trial 0.
    const onRung = (rung: number) => record.results.filter((result) => result.rung === rung);
    expect(onRung(0).map((result) => result.trial)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(onRung(0).every((result) => result.rounds === Math.round(400 / 3))).toBe(true);
    expect(onRung(0)[0]?.params).toMatchObject({ learningRate: 0.1, maxLeaves: 63, minSamplesLeaf: 20 });
    const byMape = (results: TrialResult[]) =>
      [...results].sort((a, b) => (a.score as number) - (b.score as number) || a.trial - b.trial);
    expect(onRung(1).map((result) => result.trial)).toEqual(
      byMape(onRung(0))
        .slice(0, 3)
        .map((result) => result.trial),
    );
    expect(onRung(1).every((result) => result.rounds === 400 && result.foldScores.length === 3)).toBe(true);
    const best = byMape(onRung(1))[0] as TrialResult;
    expect(record.chosen?.trial).toBe(best.trial);
    expect(chosen).toMatchObject({
      chosenTrial: best.trial,
      score: best.score,
      metric: 'mape',
      trialsRun: 12,
    });
    expect(record.params).toMatchObject(best.params);

    // Each trial ran once, as a heavy activity.
    const activities = activityRuns(await historyEvents(handle), ['tuneTrial']);
    expect(activities).toHaveLength(12);
    expect(activities.every((activity) => activity.taskQueue === `${bed.taskQueue}-heavy`)).toBe(true);
    expect(activities.every((activity) => activity.attempt === 1)).toBe(true);

    // The model trained with the chosen parameters; the signed manifest and the card say so.
    const manifest = await bed.store.getJson<ModelManifest>(keys.manifest);
    expect(manifest.parameters).toMatchObject({ trainer: 'gbdt', ...best.params });
    expect(manifest.tuning).toMatchObject({
      key: keys.tuning,
      sha256: chosen?.sha256,
      chosenTrial: best.trial,
    });
    const model = await bed.store.getJson<{ trees: unknown[]; learningRate?: number }>(keys.model);
    expect(model.trees.length).toBeLessThanOrEqual(400);
    const card = new TextDecoder().decode(await bed.store.get(keys.card));
    expect(card).toContain('<h2>Tuning</h2>');
    expect(card).toMatch(/<figure[^>]*tuning-trials[\s\S]*?<svg/);
    expect(card).toContain(`Chosen: trial ${best.trial}`);
    expect(card).toContain('Every trial run (12)');

    await bed.signalDecision(handle, 'production-planner', 'approve', 'tuned');
    expect(await handle.result()).toMatchObject({ outcome: 'deployed', version: 1 });
    await bed.keepHistory(handle, 'deployed-with-tuning');
  });

  it('stops the trials when the budget runs out and trains with what it has', async () => {
    const spec = await bed.spec('cut-time.json', {
      tuning: { space: SPACE, trials: 20, reduction: 2, rungs: 2, folds: 2, budget: '1s' },
    });
    const handle = await bed.start(spec, { startedBy: 'shop-manager', approvalDeadlineMs: 600_000 });
    const waiting = await waitForStage(handle, 'awaiting-approval', { timeoutMs: 300_000 });
    const record = await bed.store.getJson<TuningRecord>(artifactKeys(spec.name, 1).tuning);
    // A second is less than one trial takes: the first rung's trials stop between two rounds, and no
    // rung starts after the budget.
    expect(record.results.some((result) => result.stopped === 'budget')).toBe(true);
    expect(record.results.every((result) => result.score !== undefined || result.stopped === 'budget')).toBe(
      true,
    );
    expect(new Set(record.results.map((result) => result.rung)).size).toBeLessThanOrEqual(2);
    const manifest = await bed.store.getJson<ModelManifest>(artifactKeys(spec.name, 1).manifest);
    const expected = record.chosen
      ? record.chosen.params
      : { learningRate: 0.1, maxLeaves: 63, minSamplesLeaf: 20 };
    expect(manifest.parameters).toMatchObject(expected);
    expect(waiting.tuning?.chosen?.stoppedByBudget).toBeGreaterThan(0);
    await handle.terminate('test finished');
  });
});
