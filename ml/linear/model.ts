/** The model the linear trainer produces. */
import type { Feature, TaskKind } from '../model';

export interface LinearModel {
  type: 'linear';
  task: TaskKind;
  features: Feature[];
  /**
   * Preprocessing, in the order of `features`: numeric columns are imputed with `imputeValue`
   * then standardised as (x - mean) / scale; categorical columns are one-hot over `categories`.
   */
  numericPreprocessing: Record<string, { imputeValue: number; mean: number; scale: number }>;
  /**
   * Weights over the expanded design row: for each feature in order, one weight for a numeric
   * feature or one per category for a categorical one. One row of weights per output (1 for
   * regression and binary, one per class for multiclass).
   */
  weights: number[][];
  intercepts: number[];
  classLabels?: string[];
}
