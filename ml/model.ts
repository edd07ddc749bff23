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
  /**
   * Category splits (ml/gbdt/categorical.ts), when the tree has any: for such a node the codes that go
   * left, ascending (its threshold is unused); null for every other node. Every other code, unseen
   * and missing categories go right (`missingGoesLeft` is 0).
   */
  leftCategories?: (number[] | null)[];
  /** For multiclass models: which class this tree adds to; 0 otherwise. */
  classIndex: number;
}

// Each trainer's model lives with its trainer; the union is every kind the registry (ml/trainers.ts) knows.
import type { BaselineModel } from './baseline/model';
import type { GbdtModel } from './gbdt/model';
import type { LinearModel } from './linear/model';

export type { BaselineModel, GbdtModel, LinearModel };

export type Model = GbdtModel | LinearModel | BaselineModel;

/** Progress of a training run, reported once per iteration (for activity heartbeats). */
export interface TrainingProgress {
  iteration: number;
  totalIterations: number;
  trainLoss: number;
  validationLoss?: number;
}

export type ProgressCallback = (progress: TrainingProgress) => void;
