/**
 * `npm run bench -- forecast [case]`: order forecasting on 500 synthetic weekly series of three years.
 * Times one fit (features, the GBDT, interval calibration) and the 6-cut-off backtest (horizon 8),
 * with the backtest's MASE against seasonal naive; and, in the same run, the ML core's plain GBDT on
 * the same feature matrix (same rows, same parameters), so the forecasting overhead is a ratio.
 * `shop-seeds` backtests the shipped order-forecast spec on the generated order intake (three
 * years, seeds 1-8), each seed's MASE beside seasonal naive's on the same cut-offs.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { backtestForecaster } from '../lifecycle/forecast/backtest';
import { fitForecaster, forecastGbdtParams, forecastTrainingSet } from '../lifecycle/forecast/fit';
import { frameSeries } from '../lifecycle/forecast/frame';
import { forecastSettings } from '../lifecycle/forecast/settings';
import { evaluateForecast } from '../lifecycle/forecast/evaluate';
import { parsePipelineSpec } from '../lifecycle/spec';
import { gbdtTrainer } from '../ml/gbdt/trainer';
import { tableFromRows } from '../ml/rows';
import { generateOrderIntake } from '../shop/orderIntake';
import { syntheticOrders } from '../test/unit/lifecycle/forecast/syntheticSeries';
import { type CaseLine, peakRssMb, round, runCaseWhenStarted } from './caseLine';

const SERIES = 500;
const WEEKS = 156;
const PARAMS = { iterations: 150 };

export const CASES = {
  'weekly-500': weeklyCase,
  'shop-seeds': shopSeedsCase,
} satisfies Record<string, () => CaseLine>;

function seconds(from: number): number {
  return (performance.now() - from) / 1000;
}

function weeklyCase(): CaseLine {
  const settings = forecastSettings({ period: 'week', horizon: 8, origins: 6 });
  const frame = frameSeries(
    syntheticOrders({ series: SERIES, weeks: WEEKS }),
    { timeColumn: 'week_start', target: 'orders', keyColumns: ['material', 'segment'] },
    settings,
  );
  let started = performance.now();
  const fitted = fitForecaster(frame, settings, PARAMS);
  const fitSeconds = seconds(started);
  const set = forecastTrainingSet(frame, settings);
  started = performance.now();
  const plain = gbdtTrainer.train(set.train, forecastGbdtParams(PARAMS), { validation: set.validation });
  const plainSeconds = seconds(started);
  process.stderr.write(
    `fit ${round(fitSeconds, 2)} s, plain gbdt ${round(plainSeconds, 2)} s; backtesting\n`,
  );
  started = performance.now();
  const report = backtestForecaster(frame, settings, PARAMS, {
    onProgress: ({ cutoff, cutoffs, trainer }) => {
      if (trainer.iteration === 1) process.stderr.write(`cut-off ${cutoff}/${cutoffs}\n`);
    },
  });
  const backtestSeconds = seconds(started);
  return {
    bench: 'forecast',
    case: 'weekly-500',
    series: SERIES,
    weeks: WEEKS,
    params: PARAMS,
    fit_rows: fitted.summary.trainRows,
    validation_rows: fitted.summary.validationRows,
    fit_iterations: fitted.summary.trainer.iterations,
    fit_s: round(fitSeconds, 2),
    plain_gbdt_fit_s: round(plainSeconds, 2),
    plain_gbdt_iterations: plain.summary.iterations,
    ratio_forecast_fit_to_plain_fit: round(fitSeconds / plainSeconds, 2),
    backtest_s: round(backtestSeconds, 2),
    backtest_cutoffs: report.cutoffs,
    backtest_rows_per_fit: report.rowsPerFit,
    backtest_mase: round(report.model.overall.mase, 3),
    seasonal_naive_mase: round(report.baselines.seasonalNaive.overall.mase, 3),
    moving_average_mase: round(report.baselines.movingAverage.overall.mase, 3),
    backtest_coverage: round(report.model.overall.coverage ?? Number.NaN, 3),
    mase_by_step: report.maseByStep.map((mase) => round(mase, 3)),
    peak_rss_mb: peakRssMb(),
  };
}

const MS_PER_DAY = 86_400_000;
const SHOP_SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];

/** The order intake of a seed as the order-forecast spec's query returns it: lines per week and series. */
function weeklyOrderLines(seed: number) {
  const firstDay = Date.UTC(2024, 0, 1) / MS_PER_DAY; // a Monday, as date_trunc('week') starts them
  const counts = new Map<string, number>();
  for (const line of generateOrderIntake({ seed, firstDay, days: WEEKS * 7, firstOrderLineId: 1 })) {
    const week = line.orderedOn - ((line.orderedOn - firstDay) % 7);
    const key = `${week}|${line.materialFamily}|${line.sizeSegment}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const rows = [...counts].map(([key, orderLines]) => {
    const [week, family, segment] = key.split('|');
    return {
      week_start: Number(week) * MS_PER_DAY,
      material_family: family,
      customer_segment: segment,
      order_lines: orderLines,
    };
  });
  return tableFromRows(rows, {
    week_start: 'numeric',
    material_family: 'categorical',
    customer_segment: 'categorical',
    order_lines: 'numeric',
  });
}

function shopSeedsCase(): CaseLine {
  const spec = parsePipelineSpec(JSON.parse(readFileSync('pipelines/order-forecast.json', 'utf8')));
  const seeds = SHOP_SEEDS.map((seed) => {
    const started = performance.now();
    const { metrics } = evaluateForecast(weeklyOrderLines(seed), spec);
    process.stderr.write(`seed ${seed}: MASE ${round(metrics.mase ?? Number.NaN, 3)}\n`);
    return {
      seed,
      mase: round(metrics.mase ?? Number.NaN, 3),
      seasonal_naive_mase: round(metrics.seasonalNaiveMase ?? Number.NaN, 3),
      moving_average_mase: round(metrics.movingAverageMase ?? Number.NaN, 3),
      coverage: round(metrics.coverage ?? Number.NaN, 3),
      bias: round(metrics.bias ?? Number.NaN, 3),
      backtest_s: round(seconds(started), 2),
    };
  });
  const maseValues = seeds.map((seed) => seed.mase);
  return {
    bench: 'forecast',
    case: 'shop-seeds',
    spec: 'pipelines/order-forecast.json',
    weeks: WEEKS,
    seeds,
    mase_max: Math.max(...maseValues),
    ratio_mase_to_seasonal_naive_max: Math.max(
      ...seeds.map((seed) => round(seed.mase / seed.seasonal_naive_mase, 3)),
    ),
    coverage_range: [
      Math.min(...seeds.map((seed) => seed.coverage)),
      Math.max(...seeds.map((seed) => seed.coverage)),
    ],
    peak_rss_mb: peakRssMb(),
  };
}

runCaseWhenStarted('forecast.ts', (name) => {
  const run = CASES[name as keyof typeof CASES] as (() => CaseLine) | undefined;
  if (!run) throw new Error(`no forecast case ${name}: ${Object.keys(CASES).join(', ')}`);
  return Promise.resolve(run());
});
