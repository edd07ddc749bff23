import { describe, expect, it } from 'vitest';
import {
  championBound,
  evaluateQualityGate,
  primaryMetricOf,
  type QualityGateInput,
  qualityMetricValue,
  type QualityGateSpec,
} from '../../../../lifecycle/gates';
import { binaryMetrics, multiclassMetrics, regressionMetrics, rmse } from '../../../../ml/metrics';
import type { TaskMetrics } from '../../../../ml/slices';
import { qualityGateSchema } from '../../../../lifecycle/spec/parts';

/** A parsed `gates.quality` from what a spec would say. */
function qualityGate(spec: unknown): QualityGateSpec {
  return qualityGateSchema.parse(spec);
}

function checkNamed(input: QualityGateInput, name: string) {
  const check = evaluateQualityGate(input).checks.find((candidate) => candidate.name === name);
  if (!check) throw new Error(`no check ${name}`);
  return check;
}

// Route times in seconds: errors of +-3 s, so RMSE and MAE are 3 s.
const cutTimeSeconds = [10, 20, 30, 40];
const predictedSeconds = [13, 17, 33, 37];
const challenger = regressionMetrics(cutTimeSeconds, predictedSeconds);
/** Predictions that err by `error` seconds on every row (alternating sign): RMSE = error. */
const erringBy = (error: number) =>
  regressionMetrics(
    cutTimeSeconds,
    cutTimeSeconds.map((value, i) => value + (i % 2 === 0 ? error : -error)),
  );

describe('evaluateQualityGate: thresholds', () => {
  it('passes a lower-is-better threshold the candidate meets and fails one it misses', () => {
    const base = { task: 'regression', challenger, champion: undefined, targetUnit: 's' } as const;
    const meets = checkNamed(
      { ...base, gate: qualityGate({ thresholds: [{ metric: 'rmse', max: 3.5 }] }) },
      'rmse-max',
    );
    expect(meets).toEqual({
      name: 'rmse-max',
      passed: true,
      judged: true,
      value: rmse(cutTimeSeconds, predictedSeconds),
      bound: 3.5,
      message: 'RMSE 3 s is at most 3.5 s',
    });
    const misses = evaluateQualityGate({
      ...base,
      gate: qualityGate({ thresholds: [{ metric: 'rmse', max: 2.5 }] }),
    });
    expect(misses.passed).toBe(false);
    expect(misses.checks.find((check) => check.name === 'rmse-max')).toMatchObject({
      passed: false,
      judged: true,
      message: 'RMSE 3 s is above the 2.5 s maximum',
    });
    // Exactly at the bound is still within it.
    expect(
      checkNamed({ ...base, gate: qualityGate({ thresholds: [{ metric: 'mae', max: 3 }] }) }, 'mae-max')
        .passed,
    ).toBe(true);
  });

  it('passes a higher-is-better threshold the candidate meets and fails one it misses', () => {
    const r2 = challenger.r2 as number;
    const base = { task: 'regression', challenger, champion: undefined } as const;
    const meets = checkNamed(
      { ...base, gate: qualityGate({ thresholds: [{ metric: 'r2', min: r2 - 0.05 }] }) },
      'r2-min',
    );
    expect(meets).toMatchObject({ passed: true, judged: true, value: r2, bound: r2 - 0.05 });
    expect(meets.message).toMatch(/^R² [\d.]+ is at least [\d.]+$/);
    const misses = checkNamed(
      { ...base, gate: qualityGate({ thresholds: [{ metric: 'r2', min: r2 + 0.01 }] }) },
      'r2-min',
    );
    expect(misses).toMatchObject({ passed: false, judged: true, value: r2 });
    expect(misses.message).toMatch(/is below the [\d.]+ minimum$/);
  });

  it('judges every threshold and fails the gate when any one misses', () => {
    const y = [1, 0, 1, 0, 1, 0, 1, 0];
    const p = [0.9, 0.2, 0.8, 0.3, 0.4, 0.1, 0.7, 0.6];
    const metrics = binaryMetrics(y, p);
    const verdict = evaluateQualityGate({
      task: 'binary',
      challenger: metrics,
      champion: undefined,
      gate: qualityGate({
        thresholds: [
          { metric: 'auc', min: (metrics.auc as number) - 0.1 },
          { metric: 'accuracy', min: (metrics.accuracy as number) + 0.1 },
          { metric: 'logLoss', max: (metrics.logLoss as number) * 1.1 },
        ],
      }),
    });
    expect(verdict.gate).toBe('quality');
    expect(verdict.checks.map((check) => [check.name, check.passed, check.judged])).toEqual([
      ['test-rows', true, true],
      ['auc-min', true, true],
      ['accuracy-min', false, true],
      ['logLoss-max', true, true],
      ['beats-champion:auc', true, false],
    ]);
    expect(verdict.passed).toBe(false);
  });

  it('shows MAPE as a percentage and disambiguates values that round to the bound', () => {
    const base = { task: 'regression', challenger, champion: undefined } as const;
    const mape = challenger.mape as number;
    const check = checkNamed(
      { ...base, gate: qualityGate({ thresholds: [{ metric: 'mape', max: 0.5 }] }) },
      'mape-max',
    );
    expect(check.message).toBe(`MAPE ${Number((mape * 100).toPrecision(4))} % is at most 50 %`);
    // 15.00004 and 15 look the same at 4 digits; the message must not read "15 is above the 15 maximum".
    const close = regressionMetrics([0, 0], [15.00004, -15.00004]);
    const tight = checkNamed(
      {
        task: 'regression',
        challenger: close,
        champion: undefined,
        gate: qualityGate({ thresholds: [{ metric: 'rmse', max: 15 }] }),
      },
      'rmse-max',
    );
    expect(tight.passed).toBe(false);
    expect(tight.message).toBe('RMSE 15.00004 is above the 15 maximum');
  });

  it('fails a metric the task does not report, and one that is undefined on the test set', () => {
    const unsupported = checkNamed(
      {
        task: 'regression',
        challenger,
        champion: undefined,
        gate: qualityGate({ thresholds: [{ metric: 'f1', min: 0.5 }] }),
      },
      'f1-min',
    );
    expect(unsupported).toMatchObject({ passed: false, judged: true, bound: 0.5 });
    expect(unsupported.value).toBeUndefined();
    expect(unsupported.message).toContain('F1 is not a regression metric');
    expect(unsupported.message).toContain('rmse, mae, mape, r2');

    // A constant target has no R²; a test set of one class has no AUC.
    const constant = regressionMetrics([5, 5, 5], [4, 5, 6]);
    const noR2 = checkNamed(
      {
        task: 'regression',
        challenger: constant,
        champion: undefined,
        gate: qualityGate({ thresholds: [{ metric: 'r2', min: 0.5 }] }),
      },
      'r2-min',
    );
    expect(noR2).toMatchObject({ passed: false, judged: true });
    expect(noR2.message).toBe(
      'R² could not be computed on the test set, so it cannot be shown to be at least 0.5',
    );
    const oneClass = binaryMetrics([1, 1, 1], [0.9, 0.8, 0.4]);
    const noAuc = evaluateQualityGate({
      task: 'binary',
      challenger: oneClass,
      champion: undefined,
      gate: qualityGate({ thresholds: [{ metric: 'auc', min: 0.7 }] }),
    });
    expect(noAuc.passed).toBe(false);
    // The verdict goes to the audit log as JSON: no NaN may turn into null on the way.
    expect(JSON.parse(JSON.stringify(noAuc))).toEqual(noAuc);
  });

  it('fails an empty test set even without thresholds', () => {
    const empty = regressionMetrics([], []);
    const verdict = evaluateQualityGate({
      task: 'regression',
      challenger: empty,
      champion: undefined,
      gate: qualityGate({}),
    });
    expect(verdict.passed).toBe(false);
    expect(verdict.checks[0]).toMatchObject({ name: 'test-rows', passed: false, value: 0 });
    const filled = evaluateQualityGate({
      task: 'regression',
      challenger,
      champion: undefined,
      gate: qualityGate({}),
    });
    expect(filled.passed).toBe(true);
    expect(filled.checks[0]).toMatchObject({ name: 'test-rows', passed: true, value: cutTimeSeconds.length });
  });

  it('reads multiclass F1 from the macro average', () => {
    const y = [0, 1, 2, 2];
    const probs = [0.7, 0.2, 0.1, 0.1, 0.8, 0.1, 0.2, 0.2, 0.6, 0.5, 0.3, 0.2];
    const metrics = multiclassMetrics(y, probs, 3);
    expect(qualityMetricValue('multiclass', metrics, 'f1')).toBe(metrics.macroF1);
    expect(qualityMetricValue('multiclass', metrics, 'auc')).toBeNaN();
    const check = checkNamed(
      {
        task: 'multiclass',
        challenger: metrics,
        champion: undefined,
        gate: qualityGate({ thresholds: [{ metric: 'f1', min: 0.99 }] }),
      },
      'f1-min',
    );
    expect(check).toMatchObject({ passed: false, value: metrics.macroF1 });
    expect(check.message).toMatch(/^macro F1 /);
  });
});

describe('evaluateQualityGate: the champion', () => {
  it('uses the primary metric: the spec, else the first threshold, else the task default', () => {
    expect(primaryMetricOf('regression', qualityGate({ primaryMetric: 'mae' }))).toBe('mae');
    expect(primaryMetricOf('regression', qualityGate({ thresholds: [{ metric: 'r2', min: 0.5 }] }))).toBe(
      'r2',
    );
    expect(primaryMetricOf('regression', qualityGate({}))).toBe('rmse');
    expect(primaryMetricOf('binary', qualityGate({}))).toBe('auc');
    expect(primaryMetricOf('multiclass', qualityGate({}))).toBe('logLoss');
  });

  it('reports but does not judge the comparison when there is no champion', () => {
    const verdict = evaluateQualityGate({
      task: 'regression',
      challenger,
      champion: undefined,
      gate: qualityGate({}),
    });
    expect(verdict.checks.at(-1)).toMatchObject({ name: 'beats-champion:rmse', passed: true, judged: false });
    expect(verdict.checks.at(-1)?.message).toMatch(/^No champion: first version/);
    expect(verdict.passed).toBe(true);
  });

  it('lower-is-better: passes when the challenger beats the champion by the margin, fails when not', () => {
    const gate = qualityGate({ minImprovementOverChampion: 0.1 });
    const base = { task: 'regression', challenger, gate, targetUnit: 's' } as const;
    // Champion RMSE 4 s: needs at most 3.6 s; the challenger has 3 s.
    const beaten = checkNamed({ ...base, champion: erringBy(4) }, 'beats-champion:rmse');
    expect(beaten).toMatchObject({ passed: true, judged: true, value: 3 });
    expect(beaten.bound).toBeCloseTo(3.6, 12);
    expect(beaten.message).toBe(
      "RMSE 3 s is at least 10 % better than the champion's 4 s (needs at most 3.6 s)",
    );
    // Champion RMSE 3.2 s: needs at most 2.88 s.
    const notBeaten = evaluateQualityGate({ ...base, champion: erringBy(3.2) });
    expect(notBeaten.passed).toBe(false);
    expect(notBeaten.checks.at(-1)).toMatchObject({
      name: 'beats-champion:rmse',
      passed: false,
      judged: true,
    });
    expect(notBeaten.checks.at(-1)?.bound).toBeCloseTo(2.88, 12);
    expect(notBeaten.checks.at(-1)?.message).toBe(
      "RMSE 3 s is not 10 % better than the champion's 3.2 s (needs at most 2.88 s)",
    );
  });

  it('margin 0 means not worse than the champion', () => {
    const gate = qualityGate({});
    const equal = checkNamed(
      { task: 'regression', challenger, champion: erringBy(3), gate },
      'beats-champion:rmse',
    );
    expect(equal).toMatchObject({
      passed: true,
      bound: 3,
      message: "RMSE 3 is no worse than the champion's 3",
    });
    const worse = checkNamed(
      { task: 'regression', challenger, champion: erringBy(2), gate },
      'beats-champion:rmse',
    );
    expect(worse).toMatchObject({ passed: false, message: "RMSE 3 is worse than the champion's 2" });
  });

  it('a perfect champion (error 0) can only be matched', () => {
    const gate = qualityGate({ minImprovementOverChampion: 0.05 });
    const perfect = erringBy(0);
    expect(championBound('rmse', 0, 0.05)).toBe(0);
    expect(
      checkNamed({ task: 'regression', challenger, champion: perfect, gate }, 'beats-champion:rmse').passed,
    ).toBe(false);
    expect(
      checkNamed({ task: 'regression', challenger: perfect, champion: perfect, gate }, 'beats-champion:rmse')
        .passed,
    ).toBe(true);
  });

  it('higher-is-better metrics in [0, 1]: the margin shrinks the gap to 1, so a strong champion can be beaten', () => {
    // AUC 0.9 with a 10 % margin: the gap 0.1 must shrink to 0.09, so at least 0.91 (not 0.99).
    expect(championBound('auc', 0.9, 0.1)).toBeCloseTo(0.91, 12);
    // AUC 0.99 with a 2 % margin: at least 0.9902, still below 1 (0.99 x 1.02 would not be).
    expect(championBound('auc', 0.99, 0.02)).toBeCloseTo(0.9902, 12);
    expect(championBound('auc', 0.99, 0.02)).toBeLessThan(1);
    expect(championBound('accuracy', 1, 0.5)).toBe(1);
    // A negative R² is a worse-than-the-mean champion: the bound still rises above it.
    expect(championBound('r2', -0.5, 0.2)).toBeCloseTo(-0.2, 12);
    expect(championBound('r2', -0.5, 0.2)).toBeGreaterThan(-0.5);

    // Scores of the same 8 test rows: a weaker champion and a better challenger.
    const y = [0, 0, 0, 0, 1, 1, 1, 1];
    const championScores = [0.1, 0.6, 0.3, 0.7, 0.5, 0.8, 0.2, 0.9];
    const challengerScores = [0.1, 0.2, 0.3, 0.6, 0.5, 0.8, 0.4, 0.9];
    const champion = binaryMetrics(y, championScores);
    const better = binaryMetrics(y, challengerScores);
    const championAuc = champion.auc as number;
    const betterAuc = better.auc as number;
    expect(betterAuc).toBeGreaterThan(championAuc);
    const achievedMargin = (betterAuc - championAuc) / (1 - championAuc);
    const gateWith = (margin: number) => qualityGate({ minImprovementOverChampion: margin });
    const beaten = checkNamed(
      { task: 'binary', challenger: better, champion, gate: gateWith(achievedMargin / 2) },
      'beats-champion:auc',
    );
    expect(beaten).toMatchObject({ passed: true, judged: true, value: betterAuc });
    expect(beaten.message).toMatch(
      /^AUC [\d.]+ is at least [\d.]+ % better than the champion's [\d.]+ \(needs at least [\d.]+: the champion's gap to 1 closed by [\d.]+ %\)$/,
    );
    const notBeaten = checkNamed(
      { task: 'binary', challenger: better, champion, gate: gateWith(Math.min(1, achievedMargin * 1.5)) },
      'beats-champion:auc',
    );
    expect(notBeaten).toMatchObject({ passed: false, judged: true });
    // Swapped, the champion is better: a challenger that is worse fails even with margin 0.
    expect(
      checkNamed(
        { task: 'binary', challenger: champion, champion: better, gate: gateWith(0) },
        'beats-champion:auc',
      ).passed,
    ).toBe(false);
  });

  it('fails the comparison when the primary metric is not the task’s or cannot be computed', () => {
    const notReported = checkNamed(
      { task: 'regression', challenger, champion: erringBy(4), gate: qualityGate({ primaryMetric: 'auc' }) },
      'beats-champion:auc',
    );
    expect(notReported).toMatchObject({ passed: false, judged: true });
    expect(notReported.message).toContain('AUC is not a regression metric');

    const oneClass = binaryMetrics([1, 1, 1], [0.9, 0.8, 0.4]);
    const undefinedAuc = checkNamed(
      { task: 'binary', challenger: oneClass, champion: oneClass, gate: qualityGate({}) },
      'beats-champion:auc',
    );
    expect(undefinedAuc).toMatchObject({ passed: false, judged: true });
    expect(undefinedAuc.message).toMatch(/^The candidate's AUC could not be computed/);
  });
});

describe('evaluateQualityGate: the baseline floor', () => {
  const gate = qualityGate({});
  const floorOf = (metrics: TaskMetrics, candidateKind = 'gbdt') => ({
    kind: 'baseline',
    metrics,
    candidateKind,
  });

  it('passes a candidate whose primary metric is strictly better than the floor', () => {
    const check = checkNamed(
      {
        task: 'regression',
        challenger,
        champion: undefined,
        gate,
        targetUnit: 's',
        floor: floorOf(erringBy(11)),
      },
      'beats-baseline-floor:rmse',
    );
    expect(check).toEqual({
      name: 'beats-baseline-floor:rmse',
      passed: true,
      judged: true,
      value: 3,
      bound: 11,
      message: "RMSE 3 s is better than the baseline floor's 11 s",
    });
  });

  it('fails a candidate no better than the floor, and with it the gate', () => {
    const verdict = evaluateQualityGate({
      task: 'regression',
      challenger,
      champion: undefined,
      gate,
      floor: floorOf(erringBy(3)),
    });
    expect(verdict.passed).toBe(false);
    expect(verdict.checks.find((check) => check.name === 'beats-baseline-floor:rmse')).toMatchObject({
      passed: false,
      judged: true,
      message: "RMSE 3 is no better than the baseline floor's 3",
    });
  });

  it('compares higher-is-better primary metrics upwards (binary AUC)', () => {
    const y = [0, 0, 1, 1];
    const check = checkNamed(
      {
        task: 'binary',
        challenger: binaryMetrics(y, [0.1, 0.2, 0.8, 0.9]),
        champion: undefined,
        gate,
        floor: floorOf(binaryMetrics(y, [0.5, 0.5, 0.5, 0.5])),
      },
      'beats-baseline-floor:auc',
    );
    expect(check).toMatchObject({ passed: true, judged: true, value: 1, bound: 0.5 });
  });

  it('does not judge the baseline against itself, and adds no check without a floor', () => {
    const input = { task: 'regression', challenger, champion: undefined, gate } as const;
    const itself = checkNamed(
      { ...input, floor: floorOf(challenger, 'baseline') },
      'beats-baseline-floor:rmse',
    );
    expect(itself).toMatchObject({ passed: true, judged: false });
    expect(evaluateQualityGate(input).checks.map((check) => check.name)).toEqual([
      'test-rows',
      'beats-champion:rmse',
    ]);
  });
});
