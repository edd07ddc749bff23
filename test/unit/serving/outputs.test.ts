import { describe, expect, it } from 'vitest';
import { predictionOf } from '../../../serving/outputs';

describe('predictionOf', () => {
  it('answers a regression with its number', () => {
    const scores = { prediction: Float64Array.of(1.5, 2.25) };
    expect(predictionOf(scores, 1, { width: 1 })).toEqual({ output: { value: 2.25 }, value: 2.25 });
  });

  it('answers a classifier with the most probable label and every probability by label', () => {
    const scores = { probabilities: Float64Array.of(0.2, 0.8, 0.6, 0.4) };
    const shape = { width: 2, classLabels: ['ok', 'scrap'] };
    expect(predictionOf(scores, 0, shape).value).toEqual({
      label: 'scrap',
      probabilities: { ok: 0.2, scrap: 0.8 },
    });
    expect(predictionOf(scores, 1, shape).output).toEqual({
      label: 'ok',
      probabilities: { ok: 0.6, scrap: 0.4 },
    });
  });

  it('names classes by index when the model has no labels, and breaks ties by the first class', () => {
    const scores = { probabilities: Float64Array.of(0.25, 0.5, 0.25, 0.4, 0.4, 0.2) };
    expect(predictionOf(scores, 0, { width: 3 }).value).toEqual({
      label: '1',
      probabilities: { '0': 0.25, '1': 0.5, '2': 0.25 },
    });
    expect(predictionOf(scores, 1, { width: 3 }).value).toMatchObject({ label: '0' });
  });
});
