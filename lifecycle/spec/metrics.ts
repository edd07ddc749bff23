/**
 * The quality metrics of each task, in their own module so the quality gate (which owns its spec part)
 * and the spec's cross-checks share them without the spec and the gates importing each other.
 */
import type { TaskKind } from '../../ml/model';

export const METRICS = ['rmse', 'mae', 'mape', 'r2', 'auc', 'logLoss', 'accuracy', 'f1'] as const;
export type QualityMetric = (typeof METRICS)[number];

/** The quality metrics each task reports. For multiclass, `f1` is the macro-averaged F1. */
export const METRICS_BY_TASK: Record<TaskKind, readonly QualityMetric[]> = {
  regression: ['rmse', 'mae', 'mape', 'r2'],
  binary: ['auc', 'logLoss', 'accuracy', 'f1'],
  multiclass: ['logLoss', 'accuracy', 'f1'],
};

/** Metrics where lower is better; the others are higher-is-better. */
export const LOWER_IS_BETTER: readonly QualityMetric[] = ['rmse', 'mae', 'mape', 'logLoss'];

export const DEFAULT_PRIMARY_METRIC: Record<TaskKind, QualityMetric> = {
  regression: 'rmse',
  binary: 'auc',
  multiclass: 'logLoss',
};
