/**
 * Fits the forecaster: ONE global GBDT over all series, DIRECT multi-horizon with the step h as a
 * feature (rows = (series, origin t, step h), target y[t+h]). Direct rather than recursive because a
 * recursive forecast feeds its own errors back as lags; one model over all steps is one artifact to
 * serve, and it stays a plain GBDT ONNX graph (no loop in the graph). The last `validationPeriods`
 * periods before `until` are held out: their rows early-stop the trees and calibrate the intervals.
 */
import { performance } from 'node:perf_hooks';
import type { z } from 'zod';
import { encodeFeatures, describeFeatures, type TrainingData } from '../../ml/dataset';
import type { GbdtModel } from '../../ml/gbdt/model';
import { gbdtParamsSchema, gbdtTrainer, type GbdtParams } from '../../ml/gbdt/trainer';
import type { TrainerProgress, TrainerSummary } from '../../ml/trainer';
import { ForecastError } from './errors';
import type { SeriesFrame } from './frame';
import {
  buildFeatureRows,
  featureDefinition,
  featureNames,
  firstOrigin,
  historyLength,
  levelAt,
  workingShare,
} from './features';
import { maseScale } from './metrics';
import { type ForecastSettings, periodMs } from './settings';
import { type ForecastState, intervalUnit, type StepInterval } from './state';

/** The gbdt parameters as a spec gives them (defaults not yet filled in). */
export type ForecastParams = z.input<typeof gbdtParamsSchema>;

/** Early-stopping patience when the parameters name none: the validation rows are always there. */
export const DEFAULT_EARLY_STOPPING_ROUNDS = 20;

/** Fewest calibration residuals per step; fewer pool the neighbouring steps' residuals. */
export const MIN_CALIBRATION_ROWS = 30;

/** Options of {@link fitForecaster}. */
export interface FitOptions {
  /**
   * Periods of the frame the fit may see (the origin is `until - 1`); a backtest passes its cut-off.
   * @default frame.periods
   */
  until?: number;
  onProgress?: (progress: TrainerProgress) => void;
}

/** What a fit did. */
export interface ForecastFitSummary {
  trainRows: number;
  validationRows: number;
  trainer: TrainerSummary;
  seconds: number;
}

/** A fitted forecaster: the model, its serving state and what the fit did. */
export interface FittedForecaster {
  model: GbdtModel;
  state: ForecastState;
  summary: ForecastFitSummary;
}

/** The training and validation rows of a fit, encoded for the trainer, with what calibration needs. */
export interface ForecastTrainingSet {
  train: TrainingData;
  validation: TrainingData;
  /** Step of each validation row. */
  validationStep: Int32Array;
  /** Scale of each validation row (what its target was divided by). */
  validationScale: Float64Array;
}

/** Training requests (t + h before the validation periods) and validation ones (origin at or after). */
function requestsOf(frame: SeriesFrame, settings: ForecastSettings, until: number) {
  const { horizon, validationPeriods } = settings;
  const split = until - validationPeriods;
  const first = firstOrigin(settings);
  if (split - 1 - first < 1) {
    throw new ForecastError(
      `Fitting on ${until} periods leaves no training origins: it needs more than ${first + validationPeriods + 1} ` +
        '(a season of history and the validation periods); load more history or lower settings.validationPeriods',
    );
  }
  const collect = (fromOrigin: number, targetsBefore: number) => {
    const series: number[] = [];
    const origin: number[] = [];
    const step: number[] = [];
    for (let s = 0; s < frame.values.length; s++) {
      for (let t = fromOrigin; t < targetsBefore - 1; t++) {
        for (let h = 1; h <= horizon && t + h < targetsBefore; h++) {
          series.push(s);
          origin.push(t);
          step.push(h);
        }
      }
    }
    return { series: Int32Array.from(series), origin: Int32Array.from(origin), step: Int32Array.from(step) };
  };
  return { train: collect(first, split), validation: collect(split - 1, until) };
}

/**
 * The encoded training and validation rows of a fit on `frame.values[..][0..until)`: the target is
 * y[t+h] over the row's scale (its level times the target period's working-day share; rows of
 * closed periods are left out). Exported so the bench can time the plain GBDT on the same matrix.
 */
export function forecastTrainingSet(
  frame: SeriesFrame,
  settings: ForecastSettings,
  until: number = frame.periods,
): ForecastTrainingSet {
  const requests = requestsOf(frame, settings, until);
  const history = {
    seriesIds: frame.series.map((series) => series.id),
    values: frame.values,
    firstPeriod: frame.firstPeriod,
    settings,
  };
  const encode = (part: typeof requests.train, features?: TrainingData['features']) => {
    const built = buildFeatureRows(history, part);
    // A period the shop is closed is forecast as 0 without the model: its rows teach nothing.
    const open: number[] = [];
    built.scale.forEach((scale, row) => {
      if (scale > 0) open.push(row);
    });
    const rows = Uint32Array.from(open);
    const table = built.table.take(rows);
    const target = Float64Array.from(rows, (row) => {
      const values = frame.values[part.series[row] as number] as Float64Array;
      const period = (part.origin[row] as number) + (part.step[row] as number);
      return (values[period] as number) / (built.scale[row] as number);
    });
    const encoded = encodeFeatures(table, features ?? describeFeatures(table, featureNames(settings)));
    const data: TrainingData = { ...encoded, task: 'regression', target };
    return {
      data,
      scale: Float64Array.from(rows, (row) => built.scale[row] as number),
      step: Int32Array.from(rows, (row) => part.step[row] as number),
    };
  };
  const train = encode(requests.train).data;
  const validation = encode(requests.validation, train.features);
  return {
    train,
    validation: validation.data,
    validationStep: validation.step,
    validationScale: validation.scale,
  };
}

/** The gbdt parameters of a forecaster: the spec's, squared error and early stopping by default. */
export function forecastGbdtParams(params: ForecastParams): GbdtParams {
  const parsed = gbdtParamsSchema.safeParse(params);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ForecastError(`trainer.params.${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  if (parsed.data.loss !== undefined && !['squared_error', 'absolute_error'].includes(parsed.data.loss)) {
    throw new ForecastError(
      `trainer.params.loss "${parsed.data.loss}" cannot forecast: use squared_error or absolute_error`,
    );
  }
  return {
    ...parsed.data,
    loss: parsed.data.loss ?? 'squared_error',
    earlyStoppingRounds: parsed.data.earlyStoppingRounds ?? DEFAULT_EARLY_STOPPING_ROUNDS,
  };
}

/**
 * Fits one global GBDT on every series' rows up to `until`, calibrates its intervals on the held-out
 * rows, and returns the model with the state serving needs to forecast from the origin `until - 1`.
 *
 * @throws ForecastError when the parameters are invalid or there are too few periods to train on
 */
export function fitForecaster(
  frame: SeriesFrame,
  settings: ForecastSettings,
  params: ForecastParams,
  options: FitOptions = {},
): FittedForecaster {
  const started = performance.now();
  const until = options.until ?? frame.periods;
  if (!Number.isInteger(until) || until > frame.periods) {
    throw new ForecastError(
      `until is ${until}: use a whole number of periods <= the frame's ${frame.periods}`,
    );
  }
  const set = forecastTrainingSet(frame, settings, until);
  const { model, summary } = gbdtTrainer.train(set.train, forecastGbdtParams(params), {
    validation: set.validation,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  const predicted = gbdtTrainer.predict(model, set.validation);
  // Residuals in interval units (see StepInterval): unscaled, over the square root of the level.
  const residuals = set.validation.target.map((actual, row) => {
    const level = set.validationScale[row] as number;
    return ((actual - (predicted[row] as number)) * level) / intervalUnit(level);
  });
  const intervals = calibrateIntervals(residuals, set.validationStep, settings);
  return {
    model,
    state: stateAt(frame, settings, until, intervals),
    summary: {
      trainRows: set.train.rowCount,
      validationRows: set.validation.rowCount,
      trainer: summary,
      seconds: (performance.now() - started) / 1000,
    },
  };
}

/**
 * Residual quantiles per step at (1 - level) / 2 and (1 + level) / 2, with the conformal rank
 * (n + 1) so a few rows give a wider interval; a step with fewer than {@link MIN_CALIBRATION_ROWS}
 * residuals pools its neighbouring steps until it has them.
 */
export function calibrateIntervals(
  residuals: Float64Array,
  steps: Int32Array,
  settings: ForecastSettings,
): StepInterval[] {
  const byStep = Array.from({ length: settings.horizon + 1 }, (): number[] => []);
  for (let row = 0; row < residuals.length; row++)
    byStep[steps[row] as number]?.push(residuals[row] as number);
  const alpha = (1 - settings.intervalLevel) / 2;
  const intervals: StepInterval[] = [];
  for (let step = 1; step <= settings.horizon; step++) {
    const pooled = [...(byStep[step] as number[])];
    for (let reach = 1; pooled.length < MIN_CALIBRATION_ROWS && reach < settings.horizon; reach++) {
      pooled.push(...(byStep[step - reach] ?? []), ...(byStep[step + reach] ?? []));
    }
    pooled.sort((a, b) => a - b);
    const n = pooled.length;
    if (n === 0) {
      intervals.push({ step, lower: 0, upper: 0, rows: 0 });
      continue;
    }
    const lowRank = Math.max(1, Math.floor((n + 1) * alpha));
    const highRank = Math.min(n, Math.ceil((n + 1) * (1 - alpha)));
    intervals.push({
      step,
      lower: Math.min(0, pooled[lowRank - 1] as number),
      upper: Math.max(0, pooled[highRank - 1] as number),
      rows: n,
    });
  }
  return intervals;
}

function stateAt(
  frame: SeriesFrame,
  settings: ForecastSettings,
  until: number,
  intervals: StepInterval[],
): ForecastState {
  const length = historyLength(settings);
  const tailStart = until - length;
  const step = periodMs(settings.period);
  return {
    featureDefinition: featureDefinition(settings),
    settings: { ...settings },
    keyColumns: [...frame.keyColumns],
    series: frame.series.map((series, index) => {
      const values = frame.values[index] as Float64Array;
      return {
        id: series.id,
        key: [...series.key],
        level: levelAt(values, until - 1, (index) =>
          workingShare(frame.firstPeriod + index * step, settings),
        ),
        maseScale: maseScale(values, until, settings.seasonLength),
      };
    }),
    featureNames: featureNames(settings),
    tailFirstPeriod: frame.firstPeriod + tailStart * step,
    tails: frame.values.map((values) => Array.from(values.subarray(tailStart, until))),
    originPeriod: frame.firstPeriod + (until - 1) * step,
    intervals,
  };
}
