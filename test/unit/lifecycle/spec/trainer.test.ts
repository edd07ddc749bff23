import { describe, expect, it } from 'vitest';
import { specInput, specProblems } from '../../../specBuilder';
import { friedmanSpec, specOf } from '../fixtures';

/** What the loader says of a Friedman spec with this trainer, for a regression or the `band` classes. */
const problemsOf = (trainer: unknown, task = 'regression'): string[] =>
  specProblems(
    specInput({ trainer, task, ...(task === 'regression' ? {} : { target: 'band' }) }, friedmanSpec),
  );

describe('the spec trainer from the registry', () => {
  it('refuses an unknown kind, naming trainer.kind and the known kinds', () => {
    expect(problemsOf({ kind: 'forest' })).toEqual([
      'trainer.kind: must be one of: "gbdt", "linear", "baseline"',
    ]);
  });

  it('accepts the baseline with its default statistic, or the median', () => {
    expect(specOf({ trainer: { kind: 'baseline' } }).trainer).toEqual({
      kind: 'baseline',
      params: { statistic: 'mean' },
    });
    expect(specOf({ trainer: { kind: 'baseline', params: { statistic: 'median' } } }).trainer).toEqual({
      kind: 'baseline',
      params: { statistic: 'median' },
    });
  });

  it('refuses a statistic the baseline does not know, and the median for classification', () => {
    expect(problemsOf({ kind: 'baseline', params: { statistic: 'mode' } })).toEqual([
      'trainer.params.statistic: must be "mean" or "median"',
    ]);
    expect(problemsOf({ kind: 'baseline', params: { statistic: 'median' } }, 'multiclass')).toEqual([
      'trainer.params.statistic: a multiclass baseline predicts the class frequencies; median is for regression',
    ]);
  });

  it("keeps the gbdt entry's checks against the task and split", () => {
    expect(problemsOf({ kind: 'gbdt', params: { loss: 'binary_logistic', earlyStoppingRounds: 5 } })).toEqual(
      [
        'trainer.params.loss: "binary_logistic" does not fit a regression task; use squared_error or absolute_error',
        'trainer.params.earlyStoppingRounds: early stopping needs a validation set: set split.validationFraction',
      ],
    );
  });
});
