/**
 * The train stage of a forecast: the snapshot's rows become one regular series per key (periods
 * without a row count 0), one GBDT is fitted over all of them (`fit.ts`), and the model is exported
 * as ONNX with the state serving forecasts from (each series' recent values and interval widths).
 *
 * The spec's ordered split places the backtest's cut-offs (evaluate stage): they lie in the last
 * `testFraction` of the periods, `forecast.origins` of them, the last one `horizon` periods before
 * the end. The model served is fitted on every period.
 */
import { exportOnnx } from '../../ml/onnx';
import { Table } from '../../ml/table';
import type { LoadedSnapshot } from '../ingest';
import type { PipelineSpec } from '../spec/schema';
import { seasonLengthOf } from '../spec/forecast';
import { type TrainCandidateInput, type TrainedCandidate, TrainingError } from '../train';
import { type ForecastSettings, forecastSettings } from './settings';
import { ForecastError } from './errors';
import { frameSeries, type SeriesFrame } from './frame';
import { fitForecaster, type ForecastParams } from './fit';
import type { ForecastState } from './state';

/** The spec's parts a forecast reads. */
export type ForecastSpec = Pick<
  PipelineSpec,
  'task' | 'target' | 'features' | 'timeColumn' | 'forecast' | 'split' | 'trainer'
>;

/**
 * The snapshot's table with its time column: a forecast reads each row's period from it (the
 * tabular stages keep the time column apart, as it is no feature of theirs).
 */
export function forecastTableOf(loaded: Pick<LoadedSnapshot, 'table' | 'time'>): Table {
  const { table, time } = loaded;
  if (!time || table.has(time.name)) return table;
  return new Table([...table.columns, { kind: 'numeric', name: time.name, values: time.values }]);
}

/** The snapshot's table as one series per key, or a TrainingError naming what to fix. */
export function seriesOf(table: TrainCandidateInput['table'], spec: ForecastSpec): SeriesFrame {
  const { forecast, timeColumn } = spec;
  if (!forecast || timeColumn === undefined) {
    throw new TrainingError(
      'task "forecast" needs its forecast part and a timeColumn: the spec check requires both',
    );
  }
  try {
    // Cut-offs one period apart ask the least of the frame's length; settingsOf spreads them after.
    return frameSeries(
      table,
      { timeColumn, target: spec.target, keyColumns: spec.features.map((feature) => feature.name) },
      settingsFor(spec, 1),
    );
  } catch (error) {
    if (error instanceof ForecastError) throw new TrainingError(error.message, { cause: error });
    throw error;
  }
}

/**
 * The forecaster's settings from the spec: period, horizon, season, interval level, and the
 * backtest's cut-offs spread over the split's test fraction of `periods`.
 */
export function settingsOf(spec: ForecastSpec, periods: number): ForecastSettings {
  const origins = spec.forecast?.origins ?? 1;
  const window = Math.max(1, Math.round(spec.split.testFraction * periods) - (spec.forecast?.horizon ?? 0));
  return settingsFor(spec, origins > 1 ? Math.max(1, Math.floor(window / (origins - 1))) : 1);
}

/** The forecaster's settings from the spec with the given spacing of the backtest's cut-offs. */
function settingsFor(spec: ForecastSpec, originStep: number): ForecastSettings {
  const forecast = spec.forecast;
  if (!forecast) throw new TrainingError('task "forecast" needs its forecast part');
  return forecastSettings({
    period: forecast.period,
    horizon: forecast.horizon,
    seasonLength: seasonLengthOf(forecast),
    origins: forecast.origins,
    originStep,
    intervalLevel: forecast.intervalLevel,
  });
}

/** The spec's gbdt parameters (a forecast is always a gbdt: the spec check requires it). */
export function gbdtParamsOf(spec: Pick<ForecastSpec, 'trainer'>): ForecastParams {
  if (spec.trainer.kind !== 'gbdt') {
    throw new TrainingError(`trainer.kind: a forecast trains a gbdt, not ${spec.trainer.kind}`);
  }
  return spec.trainer.params;
}

/** Trains the forecast model on every period of the snapshot, and exports it. */
export function trainForecastCandidate(
  input: TrainCandidateInput & { spec: ForecastSpec },
): TrainedCandidate & { forecastState: ForecastState } {
  const started = performance.now();
  const frame = seriesOf(input.table, input.spec);
  const settings = settingsOf(input.spec, frame.periods);
  let fitted: ReturnType<typeof fitForecaster>;
  try {
    fitted = fitForecaster(frame, settings, gbdtParamsOf(input.spec), {
      ...(input.onProgress ? { onProgress: input.onProgress } : {}),
    });
  } catch (error) {
    if (error instanceof ForecastError) throw new TrainingError(error.message, { cause: error });
    throw error;
  }
  const onnx = exportOnnx(fitted.model, {
    ...(input.modelName === undefined ? {} : { docString: input.modelName }),
    ...(input.modelVersion === undefined ? {} : { producerVersion: String(input.modelVersion) }),
  });
  const seconds = Math.round(performance.now() - started) / 1000;
  return {
    model: fitted.model,
    onnx,
    forecastState: fitted.state,
    summary: {
      trainer: 'gbdt',
      rows: { train: fitted.summary.trainRows, validation: fitted.summary.validationRows, test: 0 },
      rowsWithoutTarget: 0,
      ...fitted.summary.trainer,
      seconds,
    },
  };
}
