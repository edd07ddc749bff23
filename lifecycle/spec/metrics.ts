/**
 * The quality metrics of each task, in their own module so the quality gate (which owns its spec part)
 * and the spec's cross-checks share them without the spec and the gates importing each other.
 */
import type { TaskKind } from '../../ml/model';

export const METRICS = [
  'rmse',
  'mae',
  'mape',
  'r2',
  'auc',
  'logLoss',
  'accuracy',
  'f1',
  'mase',
  'smape',
] as const;
export type QualityMetric = (typeof METRICS)[number];

/**
 * What a spec may ask for: the ML core's tasks, and `forecast` (a target per period and series,
 * forecast by a regression model over all series; `lifecycle/spec/forecast.ts`).
 */
export type SpecTask = TaskKind | 'forecast';

/**
 * The quality metrics each task reports. For multiclass, `f1` is the macro-averaged F1. A forecast's
 * are measured on its rolling-origin backtest: `mase` (mean absolute scaled error, against the
 * in-sample seasonal-naive error; below 1 beats seasonal naive) and `smape`.
 */
export const METRICS_BY_TASK: Record<SpecTask, readonly QualityMetric[]> = {
  regression: ['rmse', 'mae', 'mape', 'r2'],
  binary: ['auc', 'logLoss', 'accuracy', 'f1'],
  multiclass: ['logLoss', 'accuracy', 'f1'],
  forecast: ['mase', 'smape', 'mae', 'rmse'],
};

/** Metrics where lower is better; the others are higher-is-better. */
export const LOWER_IS_BETTER: readonly QualityMetric[] = ['rmse', 'mae', 'mape', 'logLoss', 'mase', 'smape'];

export const DEFAULT_PRIMARY_METRIC: Record<SpecTask, QualityMetric> = {
  regression: 'rmse',
  binary: 'auc',
  multiclass: 'logLoss',
  forecast: 'mase',
};

/**
 * The ML core's task behind a spec's task: a forecast's model is a regression (over each series'
 * scaled values), so its trainer, loss and ONNX output are a regression's.
 */
export function modelTaskOf(task: SpecTask): TaskKind {
  return task === 'forecast' ? 'regression' : task;
}
