import { describe, expect, it } from 'vitest';
import { classIdsOf, classProbabilities, type ServedClassOutput, unknownOutcomes } from '../../../monitoring';

describe('classProbabilities', () => {
  it('binary: the probability of the second class label, whatever order the output keeps', () => {
    const outputs: ServedClassOutput[] = [
      { label: 'ok', probabilities: { scrap: 0.3, ok: 0.7 } },
      { label: 'scrap', probabilities: { ok: 0.2, scrap: 0.8 } },
      { label: 'scrap', probabilities: { ok: 0.4 } },
      {},
    ];
    expect(Array.from(classProbabilities(outputs, ['ok', 'scrap'], 'binary'))).toEqual([
      0.3,
      0.8,
      0.6,
      Number.NaN,
    ]);
  });

  it('binary: classes named by numbers follow the model, not text order', () => {
    const outputs = [{ probabilities: { '10': 0.9, '9': 0.1 } }];
    // Training orders numeric labels by value: 9 is class 0, 10 is class 1.
    expect(Array.from(classProbabilities(outputs, ['9', '10'], 'binary'))).toEqual([0.9]);
  });

  it('multiclass: rows x classes, row-major, in the order of the class labels', () => {
    const outputs = [
      { probabilities: { fine: 0.1, coarse: 0.7, medium: 0.2 } },
      { probabilities: { medium: 0.5, coarse: 0.25, fine: 0.25 } },
    ];
    expect(Array.from(classProbabilities(outputs, ['coarse', 'medium', 'fine'], 'multiclass'))).toEqual([
      0.7, 0.2, 0.1, 0.25, 0.5, 0.25,
    ]);
  });
});

describe('classIdsOf', () => {
  it('maps labels to class ids, numbers by value, and counts the labels the model does not know', () => {
    const { y, unknown } = classIdsOf(
      ['1', '0', '1.0', ' 0 ', null, 'overheat', 'true', 'overheat', ''],
      ['0', '1'],
    );
    expect(Array.from(y)).toEqual([1, 0, 1, 0, Number.NaN, Number.NaN, Number.NaN, Number.NaN, Number.NaN]);
    expect(unknown).toEqual([
      { label: 'overheat', rows: 2 },
      { label: '', rows: 1 },
      { label: 'true', rows: 1 },
    ]);
  });

  it('text labels match exactly', () => {
    const { y, unknown } = classIdsOf(['fine', 'Fine', 'coarse'], ['coarse', 'medium', 'fine']);
    expect(Array.from(y)).toEqual([2, Number.NaN, 0]);
    expect(unknown).toEqual([{ label: 'Fine', rows: 1 }]);
  });
});

describe('unknownOutcomes', () => {
  const thresholds = { unseenCategoryRateAlarm: 0.05, minSamples: 200 };

  it('is an alarm at the unseen-category rate, with enough labelled rows', () => {
    expect(unknownOutcomes([{ label: 'overheat', rows: 30 }], 270, thresholds)).toEqual({
      rows: 300,
      unknownRows: 30,
      rate: 0.1,
      values: [{ label: 'overheat', rows: 30 }],
      threshold: 0.05,
      judged: true,
      alarm: true,
    });
    expect(unknownOutcomes([{ label: 'overheat', rows: 3 }], 297, thresholds)).toMatchObject({
      judged: true,
      alarm: false,
    });
    expect(unknownOutcomes([{ label: 'overheat', rows: 30 }], 20, thresholds)).toMatchObject({
      judged: false,
      alarm: false,
      reason: 'only 50 labelled rows, fewer than the 200 needed to judge',
    });
    expect(unknownOutcomes([], 300, thresholds)).toBeUndefined();
  });
});
