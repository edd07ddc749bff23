/**
 * `npm run bench -- forecast [case]`: order forecasting on 500 synthetic weekly series of three years.
 * Times one fit (features, the GBDT, interval calibration) and the 6-cut-off backtest (horizon 8),
 * with the backtest's MASE against seasonal naive; and, in the same run, the ML core's plain GBDT on
 * the same feature matrix (same rows, same parameters), so the forecasting overhead is a ratio.
 */
import { performance } from 'node:perf_hooks';
import { backtestForecaster } from '../lifecycle/forecast/backtest';
import { fitForecaster, forecastGbdtParams, forecastTrainingSet } from '../lifecycle/forecast/fit';
import { frameSeries } from '../lifecycle/forecast/frame';
import { forecastSettings } from '../lifecycle/forecast/settings';
import { gbdtTrainer } from '../ml/gbdt/trainer';
import { syntheticOrders } from '../test/unit/lifecycle/forecast/syntheticSeries';
import { type CaseLine, peakRssMb, round, runCaseWhenStarted } from './caseLine';

const SERIES = 500;
const WEEKS = 156;
const PARAMS = { iterations: 150 };

export const CASES = {
  'weekly-500': weeklyCase,
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

runCaseWhenStarted('forecast.ts', (name) => {
  const run = CASES[name as keyof typeof CASES] as (() => CaseLine) | undefined;
  if (!run) throw new Error(`no forecast case ${name}: ${Object.keys(CASES).join(', ')}`);
  return Promise.resolve(run());
});
