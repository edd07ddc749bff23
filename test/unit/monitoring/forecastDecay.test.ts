import { describe, expect, it } from 'vitest';
import type { SeriesBias } from '../../../lifecycle/forecast';
import { biasedSeries, forecastDecay, forecastMonitoringReport } from '../../../monitoring/forecastDecay';
import { buildSpec } from '../../specBuilder';

const arrived = (mase: number, points = 60) => ({
  points,
  periods: 4,
  mase,
  smape: 0.2,
  bias: 0.1,
  coverage: 0.8,
});
const spec = buildSpec({ monitoring: { decayTolerance: 0.3, minSamples: 20 } });

describe('the nightly check of a forecast', () => {
  it('is stale when MASE on the arrived periods is worse than the backtest by more than the tolerance', () => {
    const decay = forecastDecay({
      arrived: arrived(1.1),
      referenceMase: 0.6,
      decayTolerance: 0.3,
      minSamples: 20,
    });
    expect(decay).toMatchObject({ judged: true, stale: true, metric: 'mase', rows: 60 });
    expect(decay.relativeChange).toBeCloseTo(0.5 / 0.6, 10);
    const report = forecastMonitoringReport({
      model: 'order-forecast',
      version: 2,
      spec,
      from: '2026-11-01T00:00:00Z',
      to: '2026-12-01T00:00:00Z',
      period: 'week',
      decay,
    });
    expect(report.stale).toBe(true);
    expect(report.staleReasons).toEqual([expect.stringMatching(/^Performance decay: MASE 1\.1 on 60 /)]);
  });

  it('is not stale within the tolerance, and does not judge too few points', () => {
    expect(
      forecastDecay({ arrived: arrived(0.7), referenceMase: 0.6, decayTolerance: 0.3, minSamples: 20 }),
    ).toMatchObject({ judged: true, stale: false });
    const few = forecastDecay({
      arrived: arrived(3, 12),
      referenceMase: 0.6,
      decayTolerance: 0.3,
      minSamples: 20,
    });
    expect(few).toMatchObject({ judged: false, stale: false });
    expect(few.reason).toMatch(/12 forecast points have arrived/);
  });

  it("is stale when one series' arrived total is biased beyond the alarm, though MASE is within tolerance", () => {
    const series = (key: string[], periods: number, z: number | null): SeriesBias => ({
      id: key.join('|'),
      key,
      periods,
      actual: 520,
      forecast: 800,
      z,
    });
    const biased = biasedSeries([
      series(['large', 'mild_steel'], 4, -5.6),
      series(['small', 'aluminium'], 4, 3.9),
      series(['large', 'aluminium'], 4, -7.2),
      series(['medium', 'aluminium'], 2, -9),
      series(['medium', 'mild_steel'], 4, null),
    ]);
    // Worst first; within the alarm, too few periods, or no interval width: not judged biased.
    expect(biased.map((entry) => entry.id)).toEqual(['large|aluminium', 'large|mild_steel']);
    const decay = forecastDecay({
      arrived: arrived(0.7),
      referenceMase: 0.6,
      decayTolerance: 0.3,
      minSamples: 20,
    });
    const report = forecastMonitoringReport({
      model: 'order-forecast',
      version: 2,
      spec,
      from: '2026-11-01T00:00:00Z',
      to: '2026-12-01T00:00:00Z',
      period: 'week',
      decay,
      biased,
    });
    expect(report.stale).toBe(true);
    expect(report.staleReasons).toEqual([
      'Forecast bias: large / aluminium: the latest 4 weeks brought 520 against 800 forecast (-35 %), 7.2 standard deviations below (the alarm is at 4); retrain to forecast from what the series brings now',
      expect.stringMatching(/^Forecast bias: large \/ mild_steel: .* 5\.6 standard deviations below/),
    ]);
    // Too few points to judge the decay: bias is not judged either.
    const few = forecastDecay({
      arrived: arrived(0.7, 12),
      referenceMase: 0.6,
      decayTolerance: 0.3,
      minSamples: 20,
    });
    expect(
      forecastMonitoringReport({
        model: 'order-forecast',
        version: 2,
        spec,
        from: '2026-11-01T00:00:00Z',
        to: '2026-12-01T00:00:00Z',
        period: 'week',
        decay: few,
        biased,
      }).stale,
    ).toBe(false);
  });
});
