/**
 * The evaluate stage of a forecast: the rolling-origin backtest (`backtest.ts`) over the cut-offs the
 * spec's split places, read as the quality gate reads any test metrics. The floor the model must
 * beat is seasonal naive on the same cut-offs; the fairness gate judges the backtest's points per
 * series, each on its series' MASE scale so a big series' larger errors do not count against it.
 */
import type { PipelineSpec } from '../spec/schema';
import { TrainingError } from '../train';
import { type BacktestProgress, type BacktestReport, backtestForecaster } from './backtest';
import { ForecastError } from './errors';
import { gbdtParamsOf, seriesOf, settingsOf } from './train';
import type { Table } from '../../ml/table';

/** What the evaluate stage keeps of a forecast's backtest. */
export interface ForecastEvaluation {
  /**
   * The model's backtest metrics (`mase`, `smape`, `bias`, `coverage`) with the baselines' MASE
   * and sMAPE beside them (`seasonalNaiveMase`, `movingAverageMase`, ...).
   */
  metrics: Record<string, number>;
  /** Seasonal naive on the same cut-offs: the floor the quality gate holds the model to. */
  floor: { kind: 'seasonal-naive'; metrics: Record<string, number> };
  backtest: BacktestReport;
  /** The backtest's points on their series' MASE scale, with each point's series key values. */
  points: { y: number[]; prediction: number[]; segments: Record<string, string[]> };
}

const finite = (value: number | null | undefined): value is number =>
  typeof value === 'number' && Number.isFinite(value);

/** Only the finite numbers, named. */
function numbers(entries: Record<string, number | null | undefined>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(entries).filter((entry): entry is [string, number] => finite(entry[1])),
  );
}

/**
 * Backtests the spec's forecaster on the snapshot's table.
 *
 * @throws TrainingError naming what to fix when the data cannot make the series or the cut-offs
 */
export function evaluateForecast(
  table: Table,
  spec: Pick<PipelineSpec, 'task' | 'target' | 'features' | 'timeColumn' | 'forecast' | 'split' | 'trainer'>,
  onProgress?: (progress: BacktestProgress) => void,
): ForecastEvaluation {
  const frame = seriesOf(table, spec);
  const settings = settingsOf(spec, frame.periods);
  let backtest: BacktestReport;
  try {
    backtest = backtestForecaster(frame, settings, gbdtParamsOf(spec), onProgress ? { onProgress } : {});
  } catch (error) {
    if (error instanceof ForecastError) throw new TrainingError(error.message, { cause: error });
    throw error;
  }
  const model = backtest.model.overall;
  const naive = backtest.baselines.seasonalNaive.overall;
  const average = backtest.baselines.movingAverage.overall;
  const metrics = numbers({
    // The quality gate's "measured on N test rows": the backtest's points.
    count: model.points,
    mase: model.mase,
    smape: model.smape,
    bias: model.bias,
    coverage: model.coverage,
    seasonalNaiveMase: naive.mase,
    seasonalNaiveSmape: naive.smape,
    movingAverageMase: average.mase,
    movingAverageSmape: average.smape,
  });
  const { points } = backtest;
  const segments = Object.fromEntries(
    frame.keyColumns.map((column, index) => [
      column,
      points.series.map((series) => frame.series[series]?.key[index] ?? ''),
    ]),
  );
  return {
    metrics,
    floor: { kind: 'seasonal-naive', metrics: numbers({ mase: naive.mase, smape: naive.smape }) },
    backtest,
    points: {
      y: points.actual.map((value, index) => value / (points.scale[index] as number)),
      prediction: points.forecast.map((value, index) => value / (points.scale[index] as number)),
      segments,
    },
  };
}
