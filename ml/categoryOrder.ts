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
 * The encoded training rows with each categorical feature's categories in order of their smoothed
 * target mean, lowest first, and its codes renumbered to match: the columns `encodeFeatures` gives
 * for the ordered features (missing and unknown categories stay NaN), without encoding the rows
 * again. Ties (and categories no row holds) keep their given order. Multiclass targets (class ids,
 * with no order between them) and numeric features keep theirs.
 *
 * @param encoded the training rows, as `encodeFeatures` gives them
 * @param target per row of `encoded`: the value (regression) or the class id 0/1 (binary)
 */
export function orderCategoriesByTarget(
  encoded: EncodedFeatures,
  target: Float64Array,
  task: TaskKind,
): EncodedFeatures {
  if (task === 'multiclass') return { ...encoded, features: [...encoded.features] };
  let total = 0;
  let labelled = 0;
  for (const value of target) {
    if (Number.isNaN(value)) continue;
    total += value;
    labelled += 1;
  }
  const mean = labelled > 0 ? total / labelled : 0;
  const features: Feature[] = [];
  const columns: Float64Array[] = [];
  encoded.features.forEach((feature, index) => {
    const codes = encoded.columns[index] as Float64Array;
    if (feature.kind !== 'categorical') {
      features.push(feature);
      columns.push(codes);
      return;
    }
    const order = targetOrder(feature, codes, target, mean);
    features.push({ ...feature, categories: order.map((code) => feature.categories[code] as string) });
    columns.push(renumbered(codes, order));
  });
  return { features, columns, rowCount: encoded.rowCount };
}

/** The feature's codes by their rows' smoothed deviation from the mean target, lowest first. */
function targetOrder(
  feature: CategoricalFeature,
  codes: Float64Array,
  target: Float64Array,
  mean: number,
): number[] {
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
  return feature.categories.map((_, code) => code).sort((a, b) => key(a) - key(b) || a - b);
}

/** `codes` with each code `order[i]` renumbered to `i`; NaN (missing or unknown) stays NaN. */
function renumbered(codes: Float64Array, order: readonly number[]): Float64Array {
  const position = new Float64Array(order.length);
  order.forEach((code, index) => (position[code] = index));
  const result = new Float64Array(codes.length);
  for (let row = 0; row < codes.length; row++) {
    const code = codes[row] as number;
    result[row] = Number.isNaN(code) ? Number.NaN : (position[code] as number);
  }
  return result;
}
