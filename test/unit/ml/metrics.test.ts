import { describe, expect, it } from 'vitest';
import {
  accuracy,
  auc,
  binaryMetrics,
  confusionMatrix,
  f1,
  logLoss,
  mae,
  mape,
  multiclassMetrics,
  r2,
  regressionMetrics,
  rmse,
} from '../../../ml/metrics';

describe('regression metrics', () => {
  const y = Float64Array.from([1, 2, 3, 4]);
  const yhat = [1, 3, 2, 6]; // errors 0, 1, -1, 2

  it('match hand computations', () => {
    expect(rmse(y, yhat)).toBeCloseTo(Math.sqrt(6 / 4), 15);
    expect(mae(y, yhat)).toBe(1);
    expect(r2(y, yhat)).toBeCloseTo(1 - 6 / 5, 15);
    expect(regressionMetrics(y, yhat)).toEqual({
      count: 4,
      rmse: Math.sqrt(1.5),
      mae: 1,
      mape: (0 + 1 / 2 + 1 / 3 + 2 / 4) / 4,
      mapeIgnored: 0,
      r2: expect.closeTo(-0.2, 15) as number,
      bias: 0.5,
    });
  });

  it('MAPE ignores near-zero targets and counts them', () => {
    expect(mape([0, 2, 4, 1e-12], [1, 3, 3, 5])).toEqual({ value: (1 / 2 + 1 / 4) / 2, used: 2, ignored: 2 });
    expect(mape([0.5, 2], [1, 2], 1)).toEqual({ value: 0, used: 1, ignored: 1 });
    expect(mape([0], [1]).value).toBeNaN();
  });

  it('reports undefined metrics as null so JSON keeps them', () => {
    const metrics = regressionMetrics([3, 3, 3], [3, 3, 4]);
    expect(metrics.r2).toBeNull();
    expect(JSON.parse(JSON.stringify(metrics))).toEqual(metrics);
    expect(() => rmse([1, 2], [1])).toThrow(/2 targets but 1/);
  });
});

describe('classification metrics', () => {
  it('AUC gives tied scores half credit (Mann-Whitney U)', () => {
    expect(auc([0, 0, 1, 1], [0.1, 0.4, 0.4, 0.4])).toBe(0.75);
    expect(auc([0, 0, 1, 1], [0.1, 0.5, 0.5, 0.9])).toBe(0.875);
    expect(auc([1, 0, 1, 0], [0.9, 0.1, 0.8, 0.3])).toBe(1);
    expect(auc([1, 0, 1, 0], [0.1, 0.9, 0.2, 0.8])).toBe(0);
    expect(auc([1, 1], [0.1, 0.9])).toBeNaN();
  });

  it('log loss for binary and multiclass, clipped', () => {
    expect(logLoss([1, 0], [0.8, 0.4])).toBeCloseTo(-(Math.log(0.8) + Math.log(0.6)) / 2, 15);
    expect(logLoss([0, 2], [0.7, 0.2, 0.1, 0.1, 0.3, 0.6], 3)).toBeCloseTo(
      -(Math.log(0.7) + Math.log(0.6)) / 2,
      15,
    );
    expect(logLoss([1, 0], [0, 1])).toBe(-Math.log(1e-15));
    expect(() => logLoss([1, 0], [0.5, 0.5, 0.5], 3)).toThrow(/expected 2 or 2 x 3/);
  });

  it('confusion matrix, accuracy and F1', () => {
    const yTrue = [0, 1, 2, 2, 1, 0];
    const yPred = [0, 2, 2, 2, 1, 1];
    expect(confusionMatrix(yTrue, yPred, 3)).toEqual([
      [1, 1, 0],
      [0, 1, 1],
      [0, 0, 2],
    ]);
    expect(accuracy(yTrue, yPred)).toBe(4 / 6);
    // Per class F1: 2/3 (P 1, R 1/2), 1/2 (P 1/2, R 1/2), 4/5 (P 2/3, R 1).
    expect(f1(yTrue, yPred, 3)).toBeCloseTo((2 / 3 + 1 / 2 + 4 / 5) / 3, 15);
    // A class absent from both truth and predictions does not drag the macro mean down.
    expect(f1(yTrue, yPred, 4)).toBeCloseTo((2 / 3 + 1 / 2 + 4 / 5) / 3, 15);
    expect(f1([1, 1, 0, 0, 1], [1, 0, 1, 0, 1])).toBeCloseTo(2 / 3, 15);
    expect(f1([0, 0], [0, 0])).toBe(0);
    expect(() => confusionMatrix([0, 3], [0, 0], 3)).toThrow(/outside 0..2/);
  });

  it('binaryMetrics thresholds at >= threshold', () => {
    const y = [1, 0, 1, 0, 1];
    const p = [0.9, 0.5, 0.4, 0.1, 0.5];
    expect(binaryMetrics(y, p)).toEqual({
      count: 5,
      positives: 3,
      threshold: 0.5,
      logLoss: expect.closeTo(
        -(Math.log(0.9) + Math.log(0.5) + Math.log(0.4) + Math.log(0.9) + Math.log(0.5)) / 5,
        15,
      ) as number,
      auc: 4.5 / 6, // positive 0.9 beats both negatives, 0.4 beats 0.1, 0.5 beats 0.1 and ties 0.5
      accuracy: 0.6,
      precision: 2 / 3,
      recall: 2 / 3,
      f1: expect.closeTo(2 / 3, 15) as number,
      predictedPositiveRate: 0.6,
      confusionMatrix: [
        [1, 1],
        [1, 2],
      ],
    });
    expect(binaryMetrics(y, p, 0.95).predictedPositiveRate).toBe(0);
  });

  it('multiclassMetrics takes the arg max of each row', () => {
    const y = [0, 1, 2, 1];
    const probs = [0.6, 0.3, 0.1, 0.2, 0.5, 0.3, 0.4, 0.4, 0.2, 0.1, 0.2, 0.7];
    const metrics = multiclassMetrics(y, probs, 3);
    expect(metrics.confusionMatrix).toEqual([
      [1, 0, 0],
      [0, 1, 1],
      [1, 0, 0],
    ]);
    expect(metrics.accuracy).toBe(0.5);
    expect(metrics.logLoss).toBeCloseTo(
      -(Math.log(0.6) + Math.log(0.5) + Math.log(0.2) + Math.log(0.2)) / 4,
      15,
    );
    // F1: class 0 P 1/2 R 1 -> 2/3; class 1 P 1 R 1/2 -> 2/3; class 2 P 0 -> 0.
    expect(metrics.macroF1).toBeCloseTo(4 / 9, 15);
  });
});
