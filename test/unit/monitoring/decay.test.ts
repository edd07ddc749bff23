import { describe, expect, it } from 'vitest';
import { Random } from '../../../ml/random';
import { categoricalFromLabels } from '../../../ml/table';
import { fairnessWatch, performanceDecay } from '../../../monitoring';
import { fairnessGateSchema } from '../../../lifecycle/spec/parts';

/** Bend times and predictions whose errors are exactly +-error, alternating: RMSE = error. */
function outcomes(rows: number, error: number) {
  const y = Float64Array.from({ length: rows }, (_, i) => 40 + (i % 17));
  const prediction = y.map((value, i) => value + (i % 2 === 0 ? error : -error));
  return { y, prediction };
}

const regression = {
  task: 'regression' as const,
  primaryMetric: 'rmse' as const,
  decayTolerance: 0.2,
  minSamples: 200,
};

describe('performanceDecay', () => {
  it('marks the model stale when RMSE is 30 % worse than at training', () => {
    const decay = performanceDecay({ ...regression, referenceValue: 10, ...outcomes(300, 13) });
    expect(decay.currentValue).toBeCloseTo(13, 10);
    expect(decay.relativeChange).toBeCloseTo(0.3, 10);
    expect(decay).toMatchObject({ metric: 'rmse', rows: 300, judged: true, stale: true, tolerance: 0.2 });
  });

  it('does not for 5 % worse, nor for exactly the tolerance, nor for better', () => {
    expect(performanceDecay({ ...regression, referenceValue: 10, ...outcomes(300, 10.5) }).stale).toBe(false);
    expect(performanceDecay({ ...regression, referenceValue: 10, ...outcomes(300, 12) }).stale).toBe(false);
    const better = performanceDecay({ ...regression, referenceValue: 10, ...outcomes(300, 8) });
    expect(better.relativeChange).toBeCloseTo(-0.2, 10);
    expect(better).toMatchObject({ judged: true, stale: false });
  });

  it('judges nothing with fewer labelled rows than the minimum, however bad', () => {
    const decay = performanceDecay({ ...regression, referenceValue: 10, ...outcomes(50, 30) });
    expect(decay.relativeChange).toBeCloseTo(2, 10);
    expect(decay).toMatchObject({ judged: false, stale: false, rows: 50 });
    expect(decay.reason).toBe('only 50 labelled rows, fewer than the 200 needed to judge');
  });

  it('leaves out rows whose outcome is not known yet', () => {
    const { y, prediction } = outcomes(300, 13);
    y.fill(Number.NaN, 0, 150);
    const decay = performanceDecay({ ...regression, referenceValue: 10, y, prediction });
    expect(decay.rows).toBe(150);
    expect(decay.judged).toBe(false);
    expect(decay.currentValue).toBeCloseTo(13, 10);
  });

  it('higher-is-better: AUC decays downwards', () => {
    // Failed inspections (1) scored above passes by `separation`, blurred by uniform noise.
    const random = new Random(5);
    const scored = (separation: number) => {
      const y = Float64Array.from({ length: 400 }, (_, i) => i % 2);
      const p = y.map((label) =>
        Math.min(1, Math.max(0, 0.5 + (label - 0.5) * separation + (random.next() - 0.5))),
      );
      return { y, prediction: p };
    };
    const binary = {
      task: 'binary' as const,
      primaryMetric: 'auc' as const,
      decayTolerance: 0.2,
      minSamples: 200,
    };
    const worse = performanceDecay({ ...binary, referenceValue: 0.95, ...scored(0.05) });
    expect(worse.currentValue).toBeLessThan(0.76);
    expect(worse.relativeChange).toBeGreaterThan(0.2);
    expect(worse.stale).toBe(true);
    const asGood = performanceDecay({ ...binary, referenceValue: 0.9, ...scored(1.5) });
    expect(asGood.currentValue).toBeGreaterThan(0.9);
    expect(asGood.relativeChange).toBeLessThan(0);
    expect(asGood.stale).toBe(false);
  });

  it('says why it cannot judge a metric that is undefined on the rows', () => {
    const decay = performanceDecay({
      task: 'binary',
      primaryMetric: 'auc',
      referenceValue: 0.9,
      decayTolerance: 0.2,
      minSamples: 2,
      y: [1, 1, 1],
      prediction: [0.9, 0.2, 0.6],
    });
    expect(decay).toMatchObject({ currentValue: null, relativeChange: null, judged: false, stale: false });
    expect(decay.reason).toMatch(/auc cannot be computed/);
  });
});

describe('fairnessWatch', () => {
  const gate = fairnessGateSchema.parse({ maxAbsBias: 2 });

  /** 300 steel and 100 aluminium jobs; aluminium predictions off by `aluminiumBias` seconds, always over. */
  function byFamily(aluminiumBias: number) {
    const labels = [...new Array<string>(300).fill('steel'), ...new Array<string>(100).fill('aluminium')];
    const y = Float64Array.from(labels, (_, i) => 40 + (i % 11));
    const prediction = y.map((value, i) =>
      i < 300 ? value + (i % 2 === 0 ? 1 : -1) : value + aluminiumBias,
    );
    return { segments: { material_family: categoricalFromLabels('material_family', labels) }, y, prediction };
  }

  it('flags a slice whose bias has drifted past the gate bound, naming it', () => {
    const watch = fairnessWatch({
      task: 'regression',
      gate,
      minSamples: 200,
      targetUnit: 's',
      ...byFamily(3),
    });
    expect(watch).toMatchObject({ rows: 400, judged: true, passed: false });
    expect(watch.failed.map((check) => check.name)).toContain('bias:material_family=aluminium');
    expect(watch.failed.every((check) => check.name.endsWith('=aluminium'))).toBe(true);
    expect(watch.failed.find((check) => check.name.startsWith('bias'))?.message).toMatch(
      /material_family = aluminium \(100 rows\): predictions 3 s too high on average/,
    );
  });

  it('passes when every slice is served within the bounds', () => {
    const watch = fairnessWatch({ task: 'regression', gate, minSamples: 200, ...byFamily(1) });
    expect(watch).toMatchObject({ judged: true, passed: true, failed: [] });
    expect(watch.slices.map((slice) => slice.slice)).toEqual(['steel', 'aluminium']);
  });

  it('judges nothing with fewer labelled rows than the minimum', () => {
    const watch = fairnessWatch({ task: 'regression', gate, minSamples: 1000, ...byFamily(3) });
    expect(watch).toMatchObject({ judged: false, passed: true, failed: [] });
    expect(watch.verdict.passed).toBe(false); // shown on the page, but not an alarm
  });

  it('refuses a segment column of another length', () => {
    const { y, prediction } = byFamily(0);
    expect(() =>
      fairnessWatch({
        task: 'regression',
        gate,
        minSamples: 1,
        y,
        prediction,
        segments: { material_family: ['steel'] },
      }),
    ).toThrow(/1 values for 400 outcomes/);
  });
});
