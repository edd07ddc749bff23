import { describe, expect, it } from 'vitest';
import { rungsOf, type TrialResult } from '../../../../lifecycle/tuning/halving';
import { bestTrial, ranked } from '../../../../workflows/tuningRanking';

const result = (
  trial: number,
  rung: number,
  score?: number,
  stopped?: TrialResult['stopped'],
): TrialResult => ({
  trial,
  rung,
  fraction: 1,
  params: {},
  foldScores: score === undefined ? [] : [score],
  rows: 100,
  seconds: 0.1,
  ...(score === undefined ? {} : { score }),
  ...(stopped ? { stopped } : {}),
});

describe('rungsOf', () => {
  it('gives each rung 1/reduction of the trials and reduction times more of the budget, the last all of it', () => {
    expect(rungsOf({ trials: 81, strategy: 'successive-halving', reduction: 3, rungs: 3 })).toEqual([
      { rung: 0, trials: 81, fraction: 1 / 9 },
      { rung: 1, trials: 27, fraction: 1 / 3 },
      { rung: 2, trials: 9, fraction: 1 },
    ]);
  });

  it('stops adding rungs when one trial is left or a rung would not shrink', () => {
    expect(rungsOf({ trials: 4, strategy: 'successive-halving', reduction: 2, rungs: 6 })).toEqual([
      { rung: 0, trials: 4, fraction: 1 / 4 },
      { rung: 1, trials: 2, fraction: 1 / 2 },
      { rung: 2, trials: 1, fraction: 1 },
    ]);
    expect(rungsOf({ trials: 1, strategy: 'successive-halving', reduction: 3, rungs: 3 })).toEqual([
      { rung: 0, trials: 1, fraction: 1 },
    ]);
    // ceil keeps a rung from being empty: 10, 4, 2.
    expect(
      rungsOf({ trials: 10, strategy: 'successive-halving', reduction: 3, rungs: 3 }).map(
        (rung) => rung.trials,
      ),
    ).toEqual([10, 4, 2]);
  });

  it('runs random search as one rung with the whole budget', () => {
    expect(rungsOf({ trials: 20, strategy: 'random', reduction: 3, rungs: 3 })).toEqual([
      { rung: 0, trials: 20, fraction: 1 },
    ]);
  });
});

describe('ranking', () => {
  it('puts the best first in the metric direction, ties by trial number, unscored left out', () => {
    const results = [result(3, 0, 2), result(1, 0, 1), result(2, 0, 2), result(4, 0, undefined, 'budget')];
    expect(ranked(results, true).map((r) => r.trial)).toEqual([1, 2, 3]);
    expect(ranked(results, false).map((r) => r.trial)).toEqual([2, 3, 1]);
  });

  it('chooses from the highest rung that scored, even when a lower rung scored better', () => {
    const results = [
      result(1, 0, 0.5),
      result(2, 0, 0.9),
      result(2, 1, 0.8),
      result(3, 1, 0.7),
      result(3, 2, undefined, 'budget'),
    ];
    expect(bestTrial(results, true)?.trial).toBe(3);
    expect(bestTrial([result(1, 0, undefined, 'failed')], true)).toBeUndefined();
  });
});
