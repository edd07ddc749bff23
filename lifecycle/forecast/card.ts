/**
 * The model card's section of a forecast: its rolling-origin backtest, the model beside seasonal
 * naive and the moving average on the same cut-offs, MASE by step ahead, and each series.
 */
import { escapeHtml, htmlTable } from '../../reports/html';
import { cardNumber } from '../gates/gate';
import type { BacktestReport, PointAccuracy } from './backtest';
import type { Accuracy } from './metrics';

export type { BacktestReport };

const percent = (value: number | null | undefined) =>
  typeof value === 'number' && Number.isFinite(value) ? `${cardNumber(value * 100)} %` : '–';

function accuracyRow(name: string, accuracy: PointAccuracy | Accuracy): string[] {
  return [
    name,
    cardNumber(accuracy.mase),
    percent(accuracy.smape),
    percent(accuracy.bias),
    'coverage' in accuracy ? percent(accuracy.coverage) : '–',
  ];
}

/** The backtest as HTML: cut-offs, the three forecasters, MASE by step, and the series. */
export function backtestSection(report: BacktestReport): string {
  const naiveBySeries = new Map(
    report.baselines.seasonalNaive.perSeries.map((series) => [series.id, series]),
  );
  const seriesRows = report.model.perSeries.map((series) => [
    escapeHtml(series.id),
    cardNumber(series.mase),
    cardNumber(naiveBySeries.get(series.id)?.mase),
    percent(series.smape),
    percent(series.bias),
    percent(series.coverage),
    cardNumber(series.points),
  ]);
  return `<h2>Backtest</h2>
<p>Rolling origin: fitted ${report.cutoffs.length} times, each on the periods before its cut-off only
(${report.cutoffs.map((cutoff) => `<code>${escapeHtml(cutoff)}</code>`).join(', ')}), forecasting every step ahead of every series;
the baselines forecast the same cut-offs. MASE below 1 beats the series' own seasonal-naive error in training.</p>
${htmlTable(
  ['forecaster', 'MASE', 'sMAPE', 'bias', 'interval coverage'],
  [
    accuracyRow('this model', report.model.overall),
    accuracyRow('seasonal naive', report.baselines.seasonalNaive.overall),
    accuracyRow('moving average', report.baselines.movingAverage.overall),
  ],
)}
${htmlTable(
  ['step ahead', ...report.maseByStep.map((_, index) => String(index + 1))],
  [['MASE', ...report.maseByStep.map((mase) => cardNumber(mase))]],
)}
${htmlTable(['series', 'MASE', 'seasonal naive MASE', 'sMAPE', 'bias', 'coverage', 'points'], seriesRows)}`;
}
