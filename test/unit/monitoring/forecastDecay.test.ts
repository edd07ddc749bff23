import { describe, expect, it } from 'vitest';
import { forecastDecay, forecastMonitoringReport } from '../../../monitoring/forecastDecay';
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
});
