import { describe, expect, it } from 'vitest';
import { drawTrials } from '../../../../lifecycle/tuning/draw';
import { FoldError, rowsFor, tuningFolds } from '../../../../lifecycle/tuning/folds';
import type { ParamSpace } from '../../../../lifecycle/spec/tuning';

const space: Record<string, ParamSpace> = {
  learningRate: { min: 0.01, max: 0.3, scale: 'log', integer: false },
  maxLeaves: { min: 8, max: 256, scale: 'log', integer: true },
  columnSubsample: { min: 0.5, max: 1, scale: 'linear', integer: false },
  loss: { values: ['squared_error', 'absolute_error'] },
};
const base = { learningRate: 0.1, maxLeaves: 31, columnSubsample: 1, loss: 'squared_error', iterations: 200 };

describe('drawTrials', () => {
  it("starts with the spec's own parameters and draws the rest within the space, the same for the same seed", () => {
    const trials = drawTrials(space, base, 200, 7);
    expect(trials[0]).toEqual({ trial: 0, params: base });
    expect(drawTrials(space, base, 200, 7)).toEqual(trials);
    expect(drawTrials(space, base, 200, 8)).not.toEqual(trials);
    for (const { params } of trials.slice(1)) {
      expect(params.iterations).toBe(200);
      expect(params.learningRate).toBeGreaterThanOrEqual(0.01);
      expect(params.learningRate).toBeLessThanOrEqual(0.3);
      expect(Number.isInteger(params.maxLeaves)).toBe(true);
      expect(params.maxLeaves).toBeGreaterThanOrEqual(8);
      expect(params.maxLeaves).toBeLessThanOrEqual(256);
      expect(['squared_error', 'absolute_error']).toContain(params.loss);
    }
    // A log scale draws every factor alike: about as many learning rates below the geometric middle as above.
    const middle = Math.sqrt(0.01 * 0.3);
    const below = trials.slice(1).filter(({ params }) => (params.learningRate as number) < middle).length;
    expect(below).toBeGreaterThan(70);
    expect(below).toBeLessThan(130);
  });

  it('draws a parameter the same way when another joins the space', () => {
    const withMore = drawTrials(
      { ...space, l2: { min: 0.1, max: 10, scale: 'log', integer: false } },
      base,
      20,
      7,
    );
    const without = drawTrials(space, base, 20, 7);
    for (const name of Object.keys(space)) {
      expect(withMore.map((t) => t.params[name])).toEqual(without.map((t) => t.params[name]));
    }
  });
});

describe('tuningFolds', () => {
  const rows = Uint32Array.from({ length: 120 }, (_, i) => i);

  it('over time, trains each fold on every row before its scoring block, blocks covering the newer half', () => {
    const folds = tuningFolds(rows, 3, true, 1);
    expect(folds.map((fold) => [fold.train.length, fold.score[0], fold.score.length])).toEqual([
      [60, 60, 20],
      [80, 80, 20],
      [100, 100, 20],
    ]);
    for (const fold of folds) expect(Math.max(...fold.train)).toBeLessThan(Math.min(...fold.score));
  });

  it('without time, scores every row once over the folds and never trains on a scored row', () => {
    const folds = tuningFolds(rows, 4, false, 1);
    const scored = folds.flatMap((fold) => [...fold.score]).sort((a, b) => a - b);
    expect(scored).toEqual([...rows]);
    for (const fold of folds) {
      const scoredHere = new Set(fold.score);
      expect(fold.train.length + fold.score.length).toBe(120);
      expect([...fold.train].some((row) => scoredHere.has(row))).toBe(false);
    }
    expect(tuningFolds(rows, 4, false, 1)).toEqual(folds);
  });

  it('refuses folds too small to score, naming the field', () => {
    expect(() => tuningFolds(rows.slice(0, 50), 3, true, 1)).toThrow(FoldError);
    expect(() => tuningFolds(rows.slice(0, 50), 3, true, 1)).toThrow(/tuning\.folds/);
  });

  it("gives a trainer without rounds the newest share of a fold's rows", () => {
    expect([...rowsFor(rows, 0.25, true)]).toEqual([...rows.slice(90)]);
    expect([...rowsFor(rows, 0.25, false)]).toEqual([...rows.slice(0, 30)]);
    expect(rowsFor(rows, 1, true)).toBe(rows);
  });
});
