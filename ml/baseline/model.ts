/** The model the baseline trainer produces: one constant prediction, whatever the inputs. */
import type { Feature, TaskKind } from '../model';

/** What the baseline predicts: the training mean or median (regression), the class frequencies otherwise. */
export type BaselineStatistic = 'mean' | 'median' | 'prior';

export interface BaselineModel {
  type: 'baseline';
  task: TaskKind;
  /**
   * The inputs the exported graph takes, as the candidate it is the floor of takes them, so both are
   * scored from the same rows; the prediction does not depend on them.
   */
  features: Feature[];
  statistic: BaselineStatistic;
  /** Regression: [the value]. Classification: the training share of each class, index = class id. */
  values: number[];
  classLabels?: string[];
}
