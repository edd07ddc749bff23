/** The spec's `tuning` part: a search over the trainer's parameters, checked against the trainer, part of the model. */
import { describe, expect, it } from 'vitest';
import { modelHash, parsePipelineSpec } from '../../../../lifecycle/spec';
import { tuningPlanOf } from '../../../../lifecycle/tuning/plan';
import { shippedSpecInput, specInput, specProblems } from '../../../specBuilder';

const space = { learningRate: { min: 0.02, max: 0.3, scale: 'log' }, maxLeaves: { values: [15, 31, 63] } };

describe('the tuning part of a spec', () => {
  it('is optional, and fills its defaults', () => {
    expect(parsePipelineSpec(specInput()).tuning).toBeUndefined();
    expect(parsePipelineSpec(specInput({ tuning: { space } })).tuning).toEqual({
      space: {
        learningRate: { min: 0.02, max: 0.3, scale: 'log', integer: false },
        maxLeaves: { values: [15, 31, 63] },
      },
      trials: 27,
      budget: '5m',
      strategy: 'successive-halving',
      reduction: 3,
      rungs: 3,
      folds: 3,
      seed: 42,
    });
  });

  it('refuses what the trainer would not take, naming the field', () => {
    const problems = (tuning: Record<string, unknown>) =>
      specProblems(specInput({ tuning: { space, ...tuning } }));
    expect(problems({ space: { learningRat: { min: 0.1, max: 0.2 } } })).toEqual([
      'tuning.space.learningRat: not a parameter of the gbdt trainer; unknown key; did you mean "learningRate"?',
    ]);
    expect(problems({ space: { seed: { values: [1, 2] } } })).toEqual([
      'tuning.space.seed: the seed is not tuned: a search over seeds finds luck, not a better model',
    ]);
    expect(problems({ space: { maxLeaves: { min: 1, max: 40 } } })).toEqual([
      'tuning.space.maxLeaves.min: maxLeaves must be an integer in [2, 65536]',
      'tuning.space.maxLeaves.integer: maxLeaves takes whole numbers: set "integer": true',
    ]);
    expect(problems({ space: { learningRate: { min: 0, max: 0.2, scale: 'log' } } })).toEqual([
      'tuning.space.learningRate.min: must be > 0 on a log scale',
    ]);
    expect(problems({ space: { l2: { min: 3, max: 2 } } })).toEqual(['tuning.space.l2.max: must be >= min']);
    expect(problems({ space: { l2: [1, 2] } })).toEqual([
      'tuning.space.l2: must be a range { "min": ..., "max": ..., "scale": "log" } or a list { "values": [...] }',
    ]);
    expect(problems({ space: { l2: { min: 1, max: 2, values: [1] } } })).toEqual([
      'tuning.space.l2: give a range (min, max) or a list (values), not both',
    ]);
    expect(problems({ space: {} })).toEqual(['tuning.space: must name at least one trainer parameter']);
    expect(problems({ budget: '2d' })).toEqual([
      'tuning.budget: must be a duration such as 5m, 30m or 1h (units s, m, h), at most 24h',
    ]);
    expect(problems({ folds: 1, strategy: 'grid' })).toEqual([
      'tuning.strategy: must be one of: successive-halving, random',
      'tuning.folds: must be an integer in [2, 10]',
    ]);
    expect(problems({ trials: 0.5 })).toEqual(['tuning.trials: must be an integer in [1, 1000]']);
  });

  it('is part of the model: editing it makes a new version', () => {
    const tuned = parsePipelineSpec(specInput({ tuning: { space } }));
    const more = parsePipelineSpec(specInput({ tuning: { space, trials: 81 } }));
    expect(modelHash(tuned)).not.toBe(modelHash(parsePipelineSpec(specInput())));
    expect(modelHash(more)).not.toBe(modelHash(tuned));
  });

  it('plans the shipped steel-energy search: 81 trials in three rungs, ranked by RMSE over time-ordered folds', () => {
    const plan = tuningPlanOf(parsePipelineSpec(shippedSpecInput('steel-energy')));
    expect(plan?.rungs.map((rung) => rung.trials)).toEqual([81, 27, 9]);
    expect(plan).toMatchObject({
      metric: 'rmse',
      lowerIsBetter: true,
      ordered: true,
      folds: 3,
      budgetMs: 300_000,
    });
    expect(plan?.trials[0]?.params).toMatchObject({ iterations: 200, learningRate: 0.1, maxLeaves: 31 });
  });
});
