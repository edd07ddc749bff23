/** The model gradient-boosted trees produce. */
import type { Feature, GbdtLoss, TaskKind, Tree } from '../model';

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
