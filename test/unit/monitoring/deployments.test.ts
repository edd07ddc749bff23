/** The versions beside production: a canary judged on labelled outcomes, a shadow compared on the same rows. */
import { describe, expect, it } from 'vitest';
import {
  canarySentence,
  compareShadow,
  comparisonMetricOf,
  judgeCanary,
  type CanaryInput,
  type LabelledOutput,
  monitorWindow,
  renderMonitoringPage,
  shadowSentence,
  versionError,
  withDeploymentComparisons,
} from '../../../monitoring';
import { Random } from '../../../ml/random';
import { jobs, spec, trainedProfile } from './fixtures';

/** Regression rows: the actual value, and a prediction off by noise of the given size. */
function regressionRows(count: number, noise: number, seed: number): LabelledOutput[] {
  const random = new Random(seed);
  return Array.from({ length: count }, () => {
    const actual = 20 + random.next() * 40;
    return {
      output: { value: actual + (random.next() - 0.5) * 2 * noise },
      actualValue: actual,
      actualLabel: null,
    };
  });
}

const canaryInput = (overrides: Partial<CanaryInput> = {}): CanaryInput => ({
  model: 'cut-time',
  task: 'regression',
  metric: 'rmse',
  since: '2025-03-01T00:00:00.000Z',
  to: '2025-03-04T02:00:00.000Z',
  maxErrorRatio: 1.2,
  minOutcomes: 50,
  canary: { version: 2, rows: regressionRows(80, 1, 1) },
  production: { version: 1, rows: regressionRows(400, 1, 2) },
  ...overrides,
});

describe('versionError', () => {
  it('measures RMSE, MAE, log loss and the error rate, leaving out what it cannot read', () => {
    const rows: LabelledOutput[] = [
      { output: { value: 12 }, actualValue: 10, actualLabel: null },
      { output: { value: 7 }, actualValue: 10, actualLabel: null },
      { output: { value: 'eleven' }, actualValue: 10, actualLabel: null },
      { output: null, actualValue: 10, actualLabel: null },
      { output: { value: 10 }, actualValue: null, actualLabel: 'x' },
    ];
    expect(versionError('mae', rows)).toEqual({ value: 2.5, outcomes: 2, leftOut: 3 });
    expect(versionError('rmse', rows).value).toBeCloseTo(Math.sqrt((4 + 9) / 2), 12);

    const classified: LabelledOutput[] = [
      {
        output: { label: 'slow', probabilities: { slow: 0.8, fast: 0.2 } },
        actualValue: null,
        actualLabel: 'slow',
      },
      {
        output: { label: 'slow', probabilities: { slow: 0.6, fast: 0.4 } },
        actualValue: null,
        actualLabel: 'fast',
      },
      // A label none of the classes is, a probability that is no probability, a number booked for a label.
      {
        output: { label: 'slow', probabilities: { slow: 0.6, fast: 0.4 } },
        actualValue: null,
        actualLabel: 'medium',
      },
      {
        output: { label: 'fast', probabilities: { slow: 7, fast: 0.9 } },
        actualValue: null,
        actualLabel: 'slow',
      },
      { output: { label: '1', probabilities: { '0': 0.1, '1': 0.9 } }, actualValue: 1, actualLabel: null },
    ];
    expect(versionError('errorRate', classified.slice(0, 3))).toEqual({
      value: 0.5,
      outcomes: 2,
      leftOut: 1,
    });
    expect(versionError('logLoss', classified.slice(0, 2)).value).toBeCloseTo(
      -(Math.log(0.8) + Math.log(0.4)) / 2,
      12,
    );
    // The out-of-range probability is dropped: the row has no probability for its booked class.
    expect(versionError('logLoss', classified.slice(3, 4))).toEqual({ value: null, outcomes: 0, leftOut: 1 });
    expect(versionError('logLoss', classified.slice(4)).value).toBeCloseTo(-Math.log(0.9), 12);
  });

  it('follows the spec primary metric', () => {
    expect(comparisonMetricOf('regression', 'rmse')).toBe('rmse');
    expect(comparisonMetricOf('regression', 'mape')).toBe('mae');
    expect(comparisonMetricOf('binary', 'auc')).toBe('logLoss');
    expect(comparisonMetricOf('multiclass', 'f1')).toBe('errorRate');
  });
});

describe('judgeCanary', () => {
  it('finds a canary with three times the error worse beyond the bound', () => {
    const judgement = judgeCanary(canaryInput({ canary: { version: 2, rows: regressionRows(80, 3, 1) } }));
    expect(judgement).toMatchObject({
      verdict: 'worse',
      aborted: false,
      canary: { version: 2, outcomes: 80, leftOut: 0 },
      production: { version: 1, outcomes: 400, leftOut: 0 },
    });
    expect(judgement.ratio).toBeGreaterThan(2.5);
    expect(canarySentence({ ...judgement, aborted: true })).toMatch(
      /^Canary v2 aborted by the nightly check: its RMSE [\d.]+ on 80 labelled outcomes is [\d.]+ times production v1's RMSE [\d.]+ on 400 labelled outcomes since 2025-03-01T00:00:00.000Z, beyond the bound of 1.2 \(deploy.canaryMaxErrorRatio\)/,
    );
    expect(canarySentence({ ...judgement, notAborted: 'it was promoted meanwhile' })).toMatch(
      /but was not aborted: it was promoted meanwhile$/,
    );
  });

  it('keeps a canary as good as production, and one a little worse within the bound', () => {
    expect(judgeCanary(canaryInput()).verdict).toBe('within-bound');
    const slightly = judgeCanary(canaryInput({ canary: { version: 2, rows: regressionRows(80, 1.1, 1) } }));
    expect(slightly.verdict).toBe('within-bound');
    expect(canarySentence(slightly)).toMatch(
      /^Canary v2 within the bound of 1.2 .*keeps answering its share$/,
    );
  });

  it('decides nothing with too few outcomes on either side', () => {
    const few = judgeCanary(canaryInput({ canary: { version: 2, rows: regressionRows(49, 10, 1) } }));
    expect(few.verdict).toBe('too-few-outcomes');
    expect(canarySentence(few)).toBe(
      "Canary v2 not judged: 49 labelled outcomes of its rows and 400 labelled outcomes of production v1's since " +
        '2025-03-01T00:00:00.000Z, fewer than the 50 per side deploy.canaryMinOutcomes asks; no decision tonight',
    );
    const none = judgeCanary(canaryInput({ production: { version: 1, rows: [] } }));
    expect(none).toMatchObject({ verdict: 'too-few-outcomes', ratio: null, production: { value: null } });
  });

  it('judges a classifier by its error rate beside a flawless production', () => {
    const row = (label: string, actual: string): LabelledOutput => ({
      output: {
        label,
        probabilities: { slow: label === 'slow' ? 0.9 : 0.1, fast: label === 'fast' ? 0.9 : 0.1 },
      },
      actualValue: null,
      actualLabel: actual,
    });
    const production = Array.from({ length: 60 }, () => row('fast', 'fast'));
    const canary = [...Array.from({ length: 59 }, () => row('fast', 'fast')), row('slow', 'fast')];
    const judgement = judgeCanary(
      canaryInput({
        task: 'binary',
        metric: 'errorRate',
        canary: { version: 2, rows: canary },
        production: { version: 1, rows: production },
      }),
    );
    // Any error beside none is beyond any ratio; the ratio itself is not a number JSON can hold.
    expect(judgement).toMatchObject({ verdict: 'worse', ratio: null });
    expect(judgement.canary.value).toBeCloseTo(1 / 60, 12);
    expect(JSON.parse(JSON.stringify(judgement))).toEqual(judgement);
    expect(canarySentence(judgement)).toMatch(
      /its error rate 0.01667 on 60 labelled outcomes is infinitely many times/,
    );
  });
});

describe('compareShadow', () => {
  const pair = (production: number, shadow: number) => ({
    production: { value: production },
    shadow: { value: shadow },
  });

  it('gives the agreement of regression predictions on the same rows, and each error on the labelled ones', () => {
    const comparison = compareShadow({
      model: 'cut-time',
      task: 'regression',
      metric: 'mae',
      shadowVersion: 3,
      productionVersion: 1,
      since: '2025-03-01T00:00:00.000Z',
      to: '2025-03-04T02:00:00.000Z',
      tolerance: 0.1,
      pairs: [
        pair(10, 10.5),
        pair(20, 25),
        pair(40, 40),
        pair(10, 12),
        { production: { value: 1 }, shadow: {} },
      ],
      labelled: [
        { ...pair(10, 10.5), actualValue: 11, actualLabel: null },
        { ...pair(20, 25), actualValue: 24, actualLabel: null },
        // The shadow's output is unreadable: left out of both sides, so both are judged on the same rows.
        { production: { value: 5 }, shadow: { value: Number.NaN }, actualValue: 6, actualLabel: null },
      ],
    });
    expect(comparison).toEqual({
      model: 'cut-time',
      task: 'regression',
      shadowVersion: 3,
      productionVersion: 1,
      since: '2025-03-01T00:00:00.000Z',
      to: '2025-03-04T02:00:00.000Z',
      rows: 4,
      agreement: { kind: 'regression', meanAbsoluteDifference: 7.5 / 4, tolerance: 0.1, differingShare: 0.5 },
      outcomes: {
        metric: 'mae',
        rows: 2,
        production: { value: 2.5, outcomes: 2, leftOut: 0 },
        shadow: { value: 0.75, outcomes: 2, leftOut: 0 },
      },
    });
    expect(shadowSentence(comparison)).toBe(
      'Shadow v3 beside production v1 on 4 same requests since 2025-03-01T00:00:00.000Z: mean absolute difference ' +
        "1.875, 50 % of rows differ by more than 10 % of production's prediction; on 2 labelled outcomes of them MAE " +
        '0.75 (shadow) against 2.5 (production)',
    );
  });

  it('gives the share of the same class for a classifier, and says when no outcome is booked', () => {
    const label = (value: string) => ({ label: value, probabilities: { slow: 0.5, fast: 0.5 } });
    const comparison = compareShadow({
      model: 'slow-parts',
      task: 'binary',
      metric: 'logLoss',
      shadowVersion: 2,
      productionVersion: 1,
      since: '2025-03-01T00:00:00.000Z',
      to: '2025-03-04T02:00:00.000Z',
      tolerance: 0.1,
      pairs: [
        { production: label('slow'), shadow: label('slow') },
        { production: label('slow'), shadow: label('fast') },
        { production: label('fast'), shadow: label('fast') },
        { production: label('fast'), shadow: label('fast') },
      ],
      labelled: [],
    });
    expect(comparison.agreement).toEqual({ kind: 'classification', sameClassShare: 0.75 });
    expect(comparison.outcomes).toBeNull();
    expect(shadowSentence(comparison)).toMatch(
      /the same class on 75 % of rows; none of them has a labelled outcome yet$/,
    );
  });
});

describe('the report beside production', () => {
  const profile = trainedProfile();
  const served = jobs({ rows: 300, seed: 5 });
  const night = monitorWindow({
    model: 'bend-time',
    version: 1,
    profile,
    spec,
    from: '2025-03-03T02:00:00.000Z',
    to: '2025-03-04T02:00:00.000Z',
    inputs: served.table,
    predictions: served.predicted,
  });

  it('carries an aborted canary as an alarm, without making production stale, in its JSON and page', async () => {
    const judgement = {
      ...judgeCanary(canaryInput({ canary: { version: 2, rows: regressionRows(80, 3, 1) } })),
      aborted: true,
    };
    const report = withDeploymentComparisons(night, { canary: judgement, shadow: null });
    expect(report.alarms).toEqual([...night.alarms, canarySentence(judgement)]);
    expect(report.stale).toBe(night.stale);
    expect((JSON.parse(JSON.stringify(report)) as typeof report).canary).toEqual(judgement);
    const page = await renderMonitoringPage(report);
    expect(page).toContain(
      'Canary against production: <span class="fail">worse beyond the bound: aborted</span>',
    );
    expect(page).not.toContain('Shadow v');
  });

  it('notes a canary not judged and a shadow comparison, shown on the page', async () => {
    const few = judgeCanary(canaryInput({ canary: { version: 2, rows: regressionRows(3, 1, 1) } }));
    const shadow = compareShadow({
      model: 'bend-time',
      task: 'regression',
      metric: 'rmse',
      shadowVersion: 3,
      productionVersion: 1,
      since: '2025-03-01T00:00:00.000Z',
      to: '2025-03-04T02:00:00.000Z',
      tolerance: 0.1,
      pairs: [{ production: { value: 10 }, shadow: { value: 10.2 } }],
      labelled: [],
    });
    const report = withDeploymentComparisons(night, { canary: few, shadow });
    expect(report.alarms).toEqual(night.alarms);
    expect(report.notes.slice(-2)).toEqual([canarySentence(few), shadowSentence(shadow)]);
    const page = await renderMonitoringPage(report);
    expect(page).toContain('too few labelled outcomes: no decision');
    expect(page).toContain('Shadow v3 against production v1 on the same requests');
    expect(page).toContain('None of these requests has a labelled outcome yet.');
  });

  it('escapes what the page shows', async () => {
    const judgement = judgeCanary(canaryInput({ model: 'x', since: '<script>alert(1)</script>' }));
    const page = await renderMonitoringPage(withDeploymentComparisons(night, { canary: judgement }));
    expect(page).not.toContain('<script>alert(1)</script>');
  });
});
