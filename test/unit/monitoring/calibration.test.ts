import { describe, expect, it } from 'vitest';
import { Random } from '../../../ml/random';
import { calibrationDrift, expectedCalibrationError } from '../../../monitoring';

/** Inspections a model gives `p` of failing, failing with probability `p + offset`: calibrated at offset 0. */
function inspections(rows: number, seed: number, offset = 0) {
  const random = new Random(seed);
  const prediction = Float64Array.from({ length: rows }, () => random.next());
  const y = prediction.map((p) => (random.next() < Math.min(1, Math.max(0, p + offset)) ? 1 : 0));
  return { y, prediction };
}

/** Parts sorted into 3 tolerance classes by a model whose top probability is right `hit` of the time. */
function toleranceClasses(rows: number, seed: number, confidence: number, hit: number) {
  const random = new Random(seed);
  const y = new Float64Array(rows);
  const prediction = new Float64Array(rows * 3);
  for (let i = 0; i < rows; i++) {
    const top = random.below(3);
    for (let c = 0; c < 3; c++) prediction[i * 3 + c] = c === top ? confidence : (1 - confidence) / 2;
    y[i] = random.next() < hit ? top : (top + 1 + random.below(2)) % 3;
  }
  return { y, prediction };
}

describe('expectedCalibrationError', () => {
  it('binary: weighs each bin by its rows, |share of class 1 - mean probability|', () => {
    const ece = expectedCalibrationError({
      task: 'binary',
      y: [0, 1, 1, 0],
      prediction: [0.1, 0.9, 0.8, 0.3],
    });
    expect(ece.value).toBeCloseTo((0.1 + 0.1 + 0.2 + 0.3) / 4, 12);
    expect(ece.rows).toBe(4);
    expect(ece.bins).toHaveLength(10);
    expect(ece.bins[8]).toEqual({ from: 0.8, to: 0.9, rows: 1, confidence: 0.8, observed: 1 });
    expect(ece.bins[0]).toEqual({ from: 0, to: 0.1, rows: 0, confidence: null, observed: null });
  });

  it('puts a probability of exactly 1 in the last bin and leaves out rows without an outcome', () => {
    const ece = expectedCalibrationError({
      task: 'binary',
      y: [1, Number.NaN, 0],
      prediction: [1, 0.5, 0],
    });
    expect(ece).toMatchObject({ value: 0, rows: 2 });
    expect(ece.bins[9]?.rows).toBe(1);
  });

  it('multiclass: the top probability against how often the top class was right', () => {
    const ece = expectedCalibrationError({
      task: 'multiclass',
      y: [0, 2, 1],
      prediction: [0.7, 0.2, 0.1, 0.6, 0.3, 0.1, 0.1, 0.65, 0.25],
      k: 3,
    });
    // 0.7 right (bin 7), 0.6 wrong and 0.65 right (bin 6: mean 0.625, half right).
    expect(ece.value).toBeCloseTo((1 / 3) * 0.3 + (2 / 3) * 0.125, 12);
  });

  it('is near its chance level for a calibrated model, far above it for one off by 20 points', () => {
    const calibrated = expectedCalibrationError({ task: 'binary', ...inspections(2000, 1) });
    expect(calibrated.value).toBeLessThan(3 * (calibrated.chance ?? 0));
    const off = expectedCalibrationError({ task: 'binary', ...inspections(2000, 2, 0.2) });
    expect(off.value).toBeGreaterThan(0.15);
  });

  it('refuses predictions that are not one per row', () => {
    expect(() => expectedCalibrationError({ task: 'binary', y: [0, 1], prediction: [0.5] })).toThrow(
      /2 outcomes but 1 predictions/,
    );
  });
});

describe('calibrationDrift', () => {
  const reference = { statistic: 'ece' as const, value: 0.02, rows: 1000, bins: 10 };

  it('raises the alarm when failures come 20 points more often than predicted', () => {
    const drift = calibrationDrift({
      task: 'binary',
      ...inspections(500, 3, 0.2),
      reference,
      minSamples: 200,
    });
    expect(drift).toMatchObject({
      judged: true,
      alarm: true,
      referenceValue: 0.02,
      rows: 500,
      tolerance: 0.05,
    });
    expect((drift.currentValue ?? 0) - 0.02).toBeGreaterThan(0.05 + (drift.chance ?? 0));
  });

  it('raises no false alarm on small calibrated windows of a multiclass model (0 in 200 nights)', () => {
    let alarms = 0;
    for (let seed = 0; seed < 200; seed++) {
      const drift = calibrationDrift({
        task: 'multiclass',
        k: 3,
        ...toleranceClasses(200, seed, 0.6, 0.6),
        reference: { ...reference, value: 0.01 },
        minSamples: 200,
      });
      expect(drift.judged).toBe(true);
      if (drift.alarm) alarms++;
    }
    expect(alarms).toBe(0);
    const overconfident = calibrationDrift({
      task: 'multiclass',
      k: 3,
      ...toleranceClasses(200, 7, 0.9, 0.5),
      reference: { ...reference, value: 0.01 },
      minSamples: 200,
    });
    expect(overconfident.alarm).toBe(true);
  });

  it('judges nothing with too few rows, or without the value at training', () => {
    const few = calibrationDrift({ task: 'binary', ...inspections(50, 4, 0.3), reference, minSamples: 200 });
    expect(few).toMatchObject({ judged: false, alarm: false });
    expect(few.reason).toBe('only 50 labelled rows, fewer than the 200 needed to judge');
    const older = calibrationDrift({
      task: 'binary',
      ...inspections(500, 5, 0.3),
      reference: undefined,
      minSamples: 200,
    });
    expect(older).toMatchObject({ judged: false, alarm: false, referenceValue: null });
    expect(older.reason).toMatch(/predates calibration/);
  });
});
