import { describe, expect, it } from 'vitest';
import { forecastAccuracy, maseScale } from '../../../../lifecycle/forecast/metrics';
import { movingAverage, seasonalNaive } from '../../../../lifecycle/forecast/backtest';

describe('maseScale', () => {
  it('is the mean absolute seasonal difference over the training part', () => {
    const values = [1, 2, 3, 4, 2, 4, 6, 8, 99];
    // Lag 4 over t = 4..7 (t = 8 is after `until`): |2-1|, |4-2|, |6-3|, |8-4|.
    expect(maseScale(values, 8, 4)).toBe((1 + 2 + 3 + 4) / 4);
  });

  it('falls back to lag-1 differences when too short, and to 1 for a constant series', () => {
    expect(maseScale([1, 3, 2, 5], 4, 52)).toBe((2 + 1 + 3) / 3);
    expect(maseScale([4, 4, 4, 4, 4, 4], 6, 2)).toBe(1);
  });
});

describe('forecastAccuracy', () => {
  it('scores each series and takes the overall MASE as the mean of theirs', () => {
    const report = forecastAccuracy(
      {
        series: [0, 0, 1, 1],
        actual: [10, 0, 100, 100],
        forecast: [12, 0, 90, 100],
        scale: [2, 2, 10, 10],
        lower: [9, 0, 95, 101],
        upper: [13, 1, 105, 105],
      },
      ['a', 'b', 'unused'],
    );
    expect(report.perSeries.map((entry) => entry.id)).toEqual(['a', 'b']);
    const [a, b] = report.perSeries;
    expect(a?.mase).toBe((2 / 2 + 0) / 2);
    expect(a?.smape).toBeCloseTo((4 / 22 + 0) / 2, 12);
    expect(a?.bias).toBeCloseTo(2 / 10, 12);
    expect(b?.mase).toBe(0.5);
    expect(b?.coverage).toBe(0.5);
    expect(report.overall.mase).toBe(0.5);
    expect(report.overall.coverage).toBe(0.75);
    expect(report.overall.bias).toBeCloseTo(-8 / 210, 12);
  });

  it('has no bias figure when nothing was ordered but something forecast, and 0 when neither', () => {
    const score = (forecast: number) =>
      forecastAccuracy({ series: [0], actual: [0], forecast: [forecast], scale: [1] }, ['a']).overall;
    expect(score(0)).toMatchObject({ bias: 0, smape: 0 });
    expect(score(2)).toMatchObject({ bias: null, smape: 2 });
  });
});

describe('the baselines', () => {
  it('repeat last season and average the last four periods', () => {
    const values = Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    // Origin 7, season 4: steps 1..4 read 5, 6, 7, 8, step 5 repeats 5.
    expect([1, 2, 3, 4, 5].map((step) => seasonalNaive(values, 7, step, 4))).toEqual([5, 6, 7, 8, 5]);
    expect(movingAverage(values, 7)).toBe(6.5);
  });
});
