/**
 * The order of a categorical feature's categories, which is its codes' order: a tree splits a code
 * at a threshold, so it can only separate the categories below from those above. Ordered by how
 * far their rows' target lies from the mean (shrunk towards it for rare categories), a threshold
 * separates low-target categories from high-target ones: the split LightGBM finds by sorting
 * categories by their gradient statistics (sum of gradients / (sum of hessians + cat_smooth)),
 * here once, on the training rows, so the codes stay one number a tree and an ONNX graph compare.
 *
 * Linear models one-hot the codes: the order does not change what they predict.
 */
import type { EncodedFeatures } from './dataset';
import type { CategoricalFeature, Feature, TaskKind } from './model';

/**
 * Rows a category's mean is shrunk with towards the overall mean (LightGBM's cat_smooth): a
 * category seen on a handful of rows sorts near the middle, not at an end.
 */
export const CATEGORY_SMOOTHING = 10;

/**
 * The features with each categorical one's categories in order of their smoothed target mean,
 * lowest first; ties (and categories no row holds) keep their given order. Multiclass targets (class
 * ids, with no order between them) and numeric features keep theirs.
 *
 * @param encoded the training rows, encoded with `features`
 * @param target per row of `encoded`: the value (regression) or the class id 0/1 (binary)
 */
export function orderCategoriesByTarget(
  features: readonly Feature[],
  encoded: EncodedFeatures,
  target: Float64Array,
  task: TaskKind,
): Feature[] {
  if (task === 'multiclass') return [...features];
  let total = 0;
  let labelled = 0;
  for (const value of target) {
    if (Number.isNaN(value)) continue;
    total += value;
    labelled += 1;
  }
  const mean = labelled > 0 ? total / labelled : 0;
  return features.map((feature, index) =>
    feature.kind === 'categorical'
      ? ordered(feature, encoded.columns[index] as Float64Array, target, mean)
      : feature,
  );
}

function ordered(
  feature: CategoricalFeature,
  codes: Float64Array,
  target: Float64Array,
  mean: number,
): CategoricalFeature {
  const count = feature.categories.length;
  const deviation = new Float64Array(count);
  const rows = new Float64Array(count);
  for (let row = 0; row < codes.length; row++) {
    const code = codes[row] as number;
    const value = target[row] as number;
    if (Number.isNaN(code) || Number.isNaN(value)) continue;
    deviation[code] = (deviation[code] as number) + (value - mean);
    rows[code] = (rows[code] as number) + 1;
  }
  const key = (code: number) => (deviation[code] as number) / ((rows[code] as number) + CATEGORY_SMOOTHING);
  const order = feature.categories.map((_, code) => code).sort((a, b) => key(a) - key(b) || a - b);
  return { ...feature, categories: order.map((code) => feature.categories[code] as string) };
}
