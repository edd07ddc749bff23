/**
 * Linear models as ONNX: numeric columns are concatenated, cast to double, imputed (Where + IsNaN)
 * and standardised (Sub, Div) as one block; each categorical column is one-hot encoded (OneHotEncoder
 * with zeros=1, so unseen and missing categories give an all-zero row); then MatMul + Add with the
 * weights, all in float64, and the scores cast back to float. Float32 arithmetic would lose ~1e-5 of
 * a small prediction to cancellation between large terms; the TypeScript model computes in float64.
 * The design matrix in the graph holds the numeric block first, so the weight rows are permuted to match.
 */
import type { CategoricalFeature, LinearModel } from '../model';
import {
  FLOAT,
  type GraphBuilder,
  ML_DOMAIN,
  doubleTensor,
  int64Tensor,
  intAttr,
  stringsAttr,
} from './protoBuilders';

/** Number of raw scores per row: one per class for multiclass, one otherwise. */
export function linearScoreWidth(model: LinearModel): number {
  return model.task === 'multiclass' ? model.weights.length : 1;
}

/**
 * Adds the preprocessing and linear scores of `model` to `graph`.
 *
 * @param inputs the graph input name of each feature, in feature order
 * @param scoreName exact name for the [N, K] raw scores (already reserved), or undefined for a fresh one
 * @returns the name of the raw score tensor
 */
export function addLinearScores(
  graph: GraphBuilder,
  model: LinearModel,
  inputs: readonly string[],
  scoreName: string | undefined,
): string {
  const width = linearScoreWidth(model);
  // Where each feature's weights start in the model's design row.
  const designStart: number[] = [];
  let designWidth = 0;
  for (const feature of model.features) {
    designStart.push(designWidth);
    designWidth += feature.kind === 'numeric' ? 1 : feature.categories.length;
  }
  validateLinear(model, width, designWidth);

  const blocks: string[] = [];
  // Design index (in the model's order) of each column of the graph's design matrix.
  const columnOrder: number[] = [];
  const numeric = model.features.flatMap((feature, index) => (feature.kind === 'numeric' ? [index] : []));
  if (numeric.length > 0) {
    blocks.push(addNumericBlock(graph, model, numeric, inputs));
    for (const index of numeric) columnOrder.push(designStart[index] as number);
  }
  let squeezeAxes: string | undefined;
  model.features.forEach((feature, index) => {
    // A categorical feature without categories contributes no column (its input stays unused).
    if (feature.kind !== 'categorical' || feature.categories.length === 0) return;
    squeezeAxes ??= graph.addInitializer('squeeze_axes', (name) => int64Tensor(name, [1], [1]));
    blocks.push(addOneHot(graph, feature, inputs[index] as string, index, squeezeAxes));
    feature.categories.forEach((_, code) => columnOrder.push((designStart[index] as number) + code));
  });

  const design = blocks.length === 1 ? (blocks[0] as string) : graph.addColumns(blocks, 'design');
  // weights[output][designIndex] becomes a [D, K] matrix in the graph's column order.
  const matrix: number[] = [];
  for (const designIndex of columnOrder) {
    for (let output = 0; output < width; output++) {
      matrix.push(model.weights[output]?.[designIndex] as number);
    }
  }
  const weights = graph.addInitializer('weights', (name) => doubleTensor(name, [designWidth, width], matrix));
  const intercepts = graph.addInitializer('intercepts', (name) =>
    doubleTensor(name, [width], model.intercepts.slice(0, width)),
  );
  const product = graph.addNode1({
    opType: 'MatMul',
    inputs: [design, weights],
    outputs: ['linear_product'],
  });
  const scores = graph.addNode1({
    opType: 'Add',
    inputs: [product, intercepts],
    outputs: ['linear_scores_f64'],
  });
  return graph.addNode1({
    opType: 'Cast',
    inputs: [scores],
    ...(scoreName === undefined ? { outputs: ['raw_scores'] } : { exactOutputs: [scoreName] }),
    attributes: [intAttr('to', FLOAT)],
  });
}

function addNumericBlock(
  graph: GraphBuilder,
  model: LinearModel,
  numeric: readonly number[],
  inputs: readonly string[],
): string {
  const preprocessing = numeric.map((index) => {
    const name = (model.features[index] as { name: string }).name;
    const step = model.numericPreprocessing[name];
    if (!step) throw new Error(`Linear model has no numeric preprocessing for feature "${name}"`);
    return step;
  });
  const raw =
    numeric.length === 1
      ? (inputs[numeric[0] as number] as string)
      : graph.addColumns(
          numeric.map((index) => inputs[index] as string),
          'numeric_raw',
        );
  const doubles = graph.addDoubles(raw, 'numeric_f64');
  const width = preprocessing.length;
  const constant = (hint: string, values: number[]) =>
    graph.addInitializer(hint, (name) => doubleTensor(name, [width], values));
  const missing = graph.addNode1({ opType: 'IsNaN', inputs: [doubles], outputs: ['numeric_missing'] });
  const imputed = graph.addNode1({
    opType: 'Where',
    inputs: [
      missing,
      constant(
        'impute_values',
        preprocessing.map((step) => step.imputeValue),
      ),
      doubles,
    ],
    outputs: ['numeric_imputed'],
  });
  const centred = graph.addNode1({
    opType: 'Sub',
    inputs: [
      imputed,
      constant(
        'means',
        preprocessing.map((step) => step.mean),
      ),
    ],
    outputs: ['numeric_centred'],
  });
  return graph.addNode1({
    opType: 'Div',
    inputs: [
      centred,
      constant(
        'scales',
        preprocessing.map((step) => step.scale),
      ),
    ],
    outputs: ['numeric_scaled'],
  });
}

function addOneHot(
  graph: GraphBuilder,
  feature: CategoricalFeature,
  input: string,
  index: number,
  squeezeAxes: string,
): string {
  const encoded = graph.addNode1({
    opType: 'OneHotEncoder',
    domain: ML_DOMAIN,
    inputs: [input],
    outputs: [`one_hot_${index}`],
    attributes: [stringsAttr('cats_strings', feature.categories), intAttr('zeros', 1)],
  });
  // OneHotEncoder appends the category axis: [N, 1] becomes [N, 1, C]; drop the middle axis.
  const matrix = graph.addNode1({
    opType: 'Squeeze',
    inputs: [encoded, squeezeAxes],
    outputs: [`one_hot_matrix_${index}`],
  });
  return graph.addDoubles(matrix, `one_hot_f64_${index}`);
}

function validateLinear(model: LinearModel, width: number, designWidth: number): void {
  if (width === 0 || model.weights.length !== width || model.intercepts.length !== width) {
    throw new Error(
      `Linear ${model.task} model has ${model.weights.length} weight rows and ${model.intercepts.length} intercepts; expected ${width || 'at least 1'} of each`,
    );
  }
  model.weights.forEach((row, output) => {
    if (row.length !== designWidth) {
      throw new Error(
        `Linear model weight row ${output} has ${row.length} weights; its features expand to ${designWidth}`,
      );
    }
  });
  if (designWidth === 0)
    throw new Error('Linear model has no design columns (no numeric feature or category)');
}
