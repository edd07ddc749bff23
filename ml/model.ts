/**
 * The trained-model contract shared by the trainers, the ONNX exporter and scoring.
 * A model is plain JSON-serialisable data: it names the raw input columns it takes and carries the
 * preprocessing it learned, so the exporter can put that preprocessing inside the ONNX graph.
 */

/** A raw numeric input column. Missing values (NaN) are allowed. */
export interface NumericFeature {
  kind: 'numeric';
  name: string;
}

/**
 * A raw categorical input column. `categories[k]` is encoded as code k. A category not in the list
 * (unseen at training) and a missing value are both encoded as the "unseen" code: NaN for trees
 * (it follows the missing-value branch), all-zero one-hot for linear models.
 */
export interface CategoricalFeature {
  kind: 'categorical';
  name: string;
  categories: string[];
}

export type Feature = NumericFeature | CategoricalFeature;

export type TaskKind = 'regression' | 'binary' | 'multiclass';

export type GbdtLoss = 'squared_error' | 'absolute_error' | 'binary_logistic' | 'multiclass_softmax';

/**
 * One regression tree in flat arrays (node i). A split node sends a row left when
 * `x[feature] < threshold` (both as float32) and sends a missing value (NaN) left when
 * `missingGoesLeft[i]` is 1. A leaf has `feature[i] = -1` and its output in `value[i]`.
 * Categorical features enter trees as their code (a float); unseen/missing categories are NaN.
 */
export interface Tree {
  feature: number[];
  threshold: number[];
  missingGoesLeft: number[];
  left: number[];
  right: number[];
  value: number[];
  /** For multiclass models: which class this tree adds to; 0 otherwise. */
  classIndex: number;
}

export interface GbdtModel {
  type: 'gbdt';
  task: TaskKind;
  loss: GbdtLoss;
  /** Inputs in the order of the trees' feature indices. */
  features: Feature[];
  /** Per class (length 1 unless multiclass): the raw score before any tree. */
  baseScore: number[];
  trees: Tree[];
  /** Class labels for classification, index = class id. */
  classLabels?: string[];
  /** Total split gain per feature name. */
  featureImportance: Record<string, number>;
  /** Iterations actually kept (after early stopping). */
  iterations: number;
}

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

export type Model = GbdtModel | LinearModel;

/** Progress of a training run, reported once per iteration (for activity heartbeats). */
export interface TrainingProgress {
  iteration: number;
  totalIterations: number;
  trainLoss: number;
  validationLoss?: number;
}

export type ProgressCallback = (progress: TrainingProgress) => void;
