/**
 * Order forecasting through the whole lifecycle: three years of generated order intake, the shipped
 * order-forecast spec trained, backtested (MASE against seasonal naive, 80 % intervals' coverage),
 * approved and deployed; the API forecasts the next eight weeks of a series; weeks as usual raise
 * nothing at night, and when the biggest customer leaves the nightly check reports the decay and
 * starts retraining.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LifecycleHandle, waitForStage } from '../../workflows/client/lifecycleRuns';
import { nightlyScheduleId } from '../../workflows/client/schedules';
import type { PipelineSpec } from '../../lifecycle/spec';
import { buildServingApp, type ServingApp } from '../../serving';
import { loadOrderIntake } from '../../shop/loadOrders';
import type { LifecycleStatus } from '../../workflows/lifecycleTypes';
import type { NightlyResult } from '../../workflows/monitoringTypes';
import { createLifecycleTestbed, type LifecycleTestbed } from '../lifecycleTestbed';

const TOKEN = 'forecast-test-token-0123456789';
let bed: LifecycleTestbed;
let serving: ServingApp;
let spec: PipelineSpec;
let evaluated: LifecycleStatus;

beforeAll(async () => {
  bed = await createLifecycleTestbed('forecast', { jobs: 200, seed: 5 });
  await loadOrderIntake(bed.db.ownerPool, { weeks: 156, seed: 11 });
  spec = await bed.spec('order-forecast.json');
  const run = await bed.start(spec, { approvalDeadlineMs: 600_000 });
  evaluated = await waitForStage(run, 'awaiting-approval', { timeoutMs: 300_000 });
  await bed.signalDecision(run, 'production-planner');
  await run.result();
  serving = buildServingApp({ pool: bed.db.pool, objectStore: bed.store, token: TOKEN });
  await serving.models.ready();
}, 400_000);

afterAll(async () => {
  await serving.close();
  await bed.close();
});

function nightly(): Promise<NightlyResult> {
  return bed.client.workflow.execute('nightlyEvaluation', {
    taskQueue: bed.taskQueue,
    workflowId: `${nightlyScheduleId(spec.name)}-${Date.now()}`,
    args: [{ model: spec.name, approvalDeadlineMs: 600_000 }],
  });
}

describe('order forecasting', () => {
  it('beats seasonal naive on the backtest at an 8-week horizon, with 80 % intervals that cover 75-85 %', () => {
    const metrics = evaluated.metrics ?? {};
    expect(metrics.mase).toBeLessThan(0.8);
    expect(metrics.mase).toBeLessThan(metrics.seasonalNaiveMase ?? 0);
    expect(metrics.coverage).toBeGreaterThanOrEqual(0.75);
    expect(metrics.coverage).toBeLessThanOrEqual(0.85);
    expect(evaluated.verdicts.map((verdict) => [verdict.gate, verdict.passed])).toEqual([
      ['quality', true],
      ['fairness', true],
      ['security', true],
    ]);
  });

  it('forecasts the next eight weeks of a series through the API, with intervals and the version', async () => {
    const described = await serving.app.inject({
      method: 'GET',
      url: `/v1/models/${spec.name}`,
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    const series = described.json<{ forecastSeries: Record<string, string>[] }>().forecastSeries;
    expect(series.length).toBeGreaterThan(5);
    const [first] = series;
    const response = await serving.app.inject({
      method: 'POST',
      url: `/v1/models/${spec.name}/forecast`,
      headers: { authorization: `Bearer ${TOKEN}` },
      payload: { series: first, horizon: 8 },
    });
    expect(response.statusCode).toBe(200);
    const body = response.json<{
      version: number;
      period: string;
      forecasts: { points: { period: string; value: number; lower: number; upper: number }[] }[];
    }>();
    expect(body).toMatchObject({ version: 1, period: 'week' });
    const points = body.forecasts[0]?.points ?? [];
    expect(points).toHaveLength(8);
    for (const point of points) {
      expect(point.lower).toBeLessThanOrEqual(point.value);
      expect(point.value).toBeLessThanOrEqual(point.upper);
      // A week the shop is closed (Christmas to New Year) is forecast as nothing, surely.
      if (point.value === 0) expect(point.upper).toBe(0);
    }
    expect(points.filter((point) => point.value > 0).length).toBeGreaterThanOrEqual(6);
    // Weekly periods, one after another, each a Monday.
    expect(new Date(`${points[0]?.period ?? ''}T00:00:00Z`).getUTCDay()).toBe(1);

    const unknown = await serving.app.inject({
      method: 'POST',
      url: `/v1/models/${spec.name}/forecast`,
      headers: { authorization: `Bearer ${TOKEN}` },
      payload: { series: { ...first, material_family: 'unobtainium' }, horizon: 99 },
    });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json<{ message: string }>().message).toMatch(
      /series: the version knows no series ".*unobtainium.*".*horizon: must be a whole number of periods from 1 to 8/,
    );
    const predict = await serving.app.inject({
      method: 'POST',
      url: `/v1/models/${spec.name}/predict`,
      headers: { authorization: `Bearer ${TOKEN}` },
      payload: { row: first },
    });
    expect(predict.statusCode).toBe(400);
    expect(predict.json<{ message: string }>().message).toMatch(
      /forecasts periods.*POST \/v1\/models\/.*\/forecast/,
    );
  });

  it('raises nothing after weeks as usual, and reports the decay and retrains when the biggest customer leaves', async () => {
    await loadOrderIntake(bed.db.ownerPool, { weeks: 3, seed: 12, append: true });
    const usual = await nightly();
    expect(usual.version).toBe(1);
    expect(usual.stale).toBe(false);
    expect(usual.started).toEqual([]);

    await loadOrderIntake(bed.db.ownerPool, {
      weeks: 4,
      seed: 13,
      append: true,
      scenario: 'customer-leaves',
    });
    const after = await nightly();
    expect(after.stale).toBe(true);
    // The key account bought a third of each large-customer series: those series fall far below
    // their intervals, while MASE averaged over all twelve series moves less.
    const biased = after.staleReasons.filter((reason) => reason.startsWith('Forecast bias: '));
    expect(biased.length).toBeGreaterThanOrEqual(1);
    for (const reason of biased) expect(reason).toMatch(/large.* standard deviations below/);
    expect(after.started).toHaveLength(1);
    expect(after.started[0]?.reason).toMatch(/^stale: /);
    const retraining: LifecycleHandle = bed.client.workflow.getHandle(after.started[0]?.workflowId ?? '');
    const status = await waitForStage(retraining, 'awaiting-approval', { timeoutMs: 300_000 });
    expect(status.version).toBe(2);
    await retraining.terminate('test over');
  });
});
