import { describe, expect, it } from 'vitest';
import type { BinaryMetrics, MulticlassMetrics, RegressionMetrics } from '../../../ml/metrics';
import { metricsBySlice, MISSING_SLICE } from '../../../ml/slices';
import { categoricalFromLabels } from '../../../ml/table';

describe('metricsBySlice', () => {
  it('regression: counts, error ratio and bias per slice, missing included', () => {
    // Errors (yhat - y): a: 1, 0; b: 0, -2; missing: 0, 1. Overall RMSE = sqrt(6 / 6) = 1.
    const report = metricsBySlice({
      segment: ['a', 'a', 'b', 'b', null, ''],
      y: [1, 2, 3, 4, 5, 6],
      prediction: [2, 2, 3, 2, 5, 7],
      task: 'regression',
      minSupport: 2,
    });
    expect((report.overall as RegressionMetrics).rmse).toBe(1);
    expect(report.minSupport).toBe(2);
    expect(report.slices.map((s) => [s.segment, s.missing, s.count, s.share, s.belowMinSupport])).toEqual([
      [MISSING_SLICE, true, 2, 2 / 6, false],
      ['a', false, 2, 2 / 6, false],
      ['b', false, 2, 2 / 6, false],
    ]);
    const [missing, a, b] = report.slices;
    expect(a?.errorRatio).toBeCloseTo(Math.sqrt(0.5), 15);
    expect(a?.bias).toBe(0.5);
    expect(b?.errorRatio).toBeCloseTo(Math.sqrt(2), 15);
    expect(b?.bias).toBe(-1);
    expect(missing?.bias).toBe(0.5);
    expect((b?.metrics as RegressionMetrics).mae).toBe(1);
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });

  it('flags slices below the minimum support (default 30)', () => {
    const segment = [...new Array<string>(30).fill('big'), ...new Array<string>(29).fill('small')];
    const y = segment.map((_, i) => i);
    const report = metricsBySlice({ segment, y, prediction: y, task: 'regression' });
    expect(report.slices.map((s) => [s.segment, s.count, s.belowMinSupport])).toEqual([
      ['big', 30, false],
      ['small', 29, true],
    ]);
    // Perfect predictions: the ratio to a zero overall RMSE is undefined.
    expect(report.slices[0]?.errorRatio).toBeNull();
  });

  it('binary: positive prediction rate and true positive rate per slice, from a categorical column', () => {
    const segment = categoricalFromLabels('machine', ['m1', 'm1', 'm1', 'm1', 'm2', 'm2', 'm2', null]);
    const report = metricsBySlice({
      segment,
      y: [1, 1, 0, 0, 1, 0, 0, 1],
      prediction: [0.9, 0.2, 0.7, 0.1, 0.6, 0.6, 0.3, 0.8],
      task: 'binary',
    });
    const bySegment = Object.fromEntries(report.slices.map((s) => [s.segment, s]));
    expect(bySegment.m1).toMatchObject({ count: 4, positivePredictionRate: 0.5, truePositiveRate: 0.5 });
    expect((bySegment.m1?.metrics as BinaryMetrics).auc).toBe(0.75);
    expect(bySegment.m2).toMatchObject({ count: 3, positivePredictionRate: 2 / 3, truePositiveRate: 1 });
    expect(bySegment[MISSING_SLICE]).toMatchObject({
      count: 1,
      positivePredictionRate: 1,
      truePositiveRate: 1,
    });
    expect((report.overall as BinaryMetrics).predictedPositiveRate).toBe(5 / 8);
    // A slice without positives has no true positive rate.
    const noPositives = metricsBySlice({
      segment: ['x', 'x'],
      y: [0, 0],
      prediction: [0.9, 0.1],
      task: 'binary',
    });
    expect(noPositives.slices[0]?.truePositiveRate).toBeNull();
    expect((noPositives.slices[0]?.metrics as BinaryMetrics).auc).toBeNull();
  });

  it('multiclass: slices of row-major probabilities, k inferred', () => {
    const report = metricsBySlice({
      segment: ['a', 'b', 'a'],
      y: [0, 1, 2],
      prediction: [0.8, 0.1, 0.1, 0.2, 0.7, 0.1, 0.5, 0.3, 0.2],
      task: 'multiclass',
    });
    const a = report.slices.find((s) => s.segment === 'a');
    expect((a?.metrics as MulticlassMetrics).confusionMatrix).toEqual([
      [1, 0, 0],
      [0, 0, 0],
      [1, 0, 0],
    ]);
    expect((a?.metrics as MulticlassMetrics).accuracy).toBe(0.5);
    expect(a?.errorRatio).toBeUndefined();
  });

  it('refuses mismatched lengths', () => {
    expect(() =>
      metricsBySlice({ segment: ['a'], y: [1, 2], prediction: [1, 2], task: 'regression' }),
    ).toThrow(/1 segment values for 2 rows/);
    expect(() =>
      metricsBySlice({ segment: ['a', 'b'], y: [1, 2], prediction: [1], task: 'regression' }),
    ).toThrow(/expected 2/);
  });
});
