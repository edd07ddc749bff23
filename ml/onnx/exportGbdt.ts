/**
 * GBDT models as ONNX: categorical columns go through a LabelEncoder to their category code (NaN when
 * unseen or missing, so they follow the missing branch like in training), all columns are concatenated
 * into [N, F] and one TreeEnsembleRegressor adds the trees' leaf values to the base scores. A category
 * split is a chain of BRANCH_EQ nodes, one per code going left, each true to the left child.
 */
import type { CategoricalFeature, GbdtModel, Tree } from '../model';
import {
  type Attribute,
  type GraphBuilder,
  ML_DOMAIN,
  float32AtLeast,
  floatAttr,
  floatsAttr,
  doubleTensor,
  tensorAttr,
  intAttr,
  intsAttr,
  stringAttr,
  stringsAttr,
} from './protoBuilders';

/** Number of raw scores per row: one per class for multiclass, one otherwise. */
export function gbdtScoreWidth(model: GbdtModel): number {
  return model.task === 'multiclass' ? model.baseScore.length : 1;
}

/**
 * Adds the encoding and tree ensemble of `model` to `graph`.
 *
 * @param inputs the graph input name of each feature, in feature order
 * @param scoreName exact name for the [N, K] raw scores (already reserved), or undefined for a fresh one
 * @returns the name of the raw score tensor
 */
export function addGbdtScores(
  graph: GraphBuilder,
  model: GbdtModel,
  inputs: readonly string[],
  scoreName: string | undefined,
): string {
  const width = gbdtScoreWidth(model);
  validateGbdt(model, width);
  const columns = model.features.map((feature, index) => {
    const input = inputs[index] as string;
    return feature.kind === 'numeric' ? input : addLabelEncoder(graph, feature, input, index);
  });
  const matrix = graph.addColumns(columns, 'tree_features');
  // onnxruntime's float kernel keeps thresholds and sums in float32, which drifts by ~1e-5 over
  // hundreds of trees; on doubles it sums in float64 like the TypeScript model. Float32 inputs are
  // exact as doubles, so routing does not change.
  const doubles = graph.addDoubles(matrix, 'tree_features_f64');
  return graph.addNode1({
    opType: 'TreeEnsembleRegressor',
    domain: ML_DOMAIN,
    inputs: [doubles],
    ...(scoreName === undefined ? { outputs: ['raw_scores'] } : { exactOutputs: [scoreName] }),
    attributes: ensembleAttributes(model, width),
  });
}

function addLabelEncoder(
  graph: GraphBuilder,
  feature: CategoricalFeature,
  input: string,
  index: number,
): string {
  // An encoder needs at least one key: with no categories, map '' (the missing marker) to NaN too.
  const keys = feature.categories.length > 0 ? feature.categories : [''];
  const values = feature.categories.length > 0 ? feature.categories.map((_, code) => code) : [Number.NaN];
  return graph.addNode1({
    opType: 'LabelEncoder',
    domain: ML_DOMAIN,
    inputs: [input],
    outputs: [`category_code_${index}`],
    attributes: [
      stringsAttr('keys_strings', keys),
      floatsAttr('values_floats', values),
      floatAttr('default_float', Number.NaN),
    ],
  });
}

/** The ensemble in ONNX's parallel-array form, each tree's nodes renumbered in preorder from its root. */
function ensembleAttributes(model: GbdtModel, width: number): Attribute[] {
  const nodes = {
    treeIds: [] as number[],
    nodeIds: [] as number[],
    featureIds: [] as number[],
    modes: [] as string[],
    values: [] as number[],
    trueIds: [] as number[],
    falseIds: [] as number[],
    missingTracksTrue: [] as number[],
  };
  const targets = {
    treeIds: [] as number[],
    nodeIds: [] as number[],
    ids: [] as number[],
    weights: [] as number[],
  };
  // onnxruntime rejects an ensemble without nodes: a model with no trees gets one zero leaf.
  const trees: Tree[] =
    model.trees.length > 0
      ? model.trees
      : [
          {
            feature: [-1],
            threshold: [0],
            missingGoesLeft: [0],
            left: [-1],
            right: [-1],
            value: [0],
            classIndex: 0,
          },
        ];
  trees.forEach((tree, treeId) => {
    const order = preorder(tree, treeId);
    // A category split becomes a chain of BRANCH_EQ nodes, one per left code, all true to the left
    // child (onnxruntime runs such chains as one set test): it takes as many ids as it has codes.
    const newId = new Map<number, number>();
    let nextId = 0;
    for (const old of order) {
      newId.set(old, nextId);
      nextId += Math.max(1, tree.leftCategories?.[old]?.length ?? 1);
    }
    order.forEach((old) => {
      const id = newId.get(old) as number;
      const feature = tree.feature[old] as number;
      const codes = feature >= 0 ? tree.leftCategories?.[old] : null;
      if (codes && codes.length > 0) {
        codes.forEach((code, link) => {
          nodes.treeIds.push(treeId);
          nodes.nodeIds.push(id + link);
          nodes.featureIds.push(feature);
          nodes.modes.push('BRANCH_EQ');
          nodes.values.push(code);
          nodes.trueIds.push(newId.get(tree.left[old] as number) as number);
          const last = link === codes.length - 1;
          nodes.falseIds.push(last ? (newId.get(tree.right[old] as number) as number) : id + link + 1);
          // Missing and unseen categories are NaN: equal to no code, they go right.
          nodes.missingTracksTrue.push(0);
        });
        return;
      }
      nodes.treeIds.push(treeId);
      nodes.nodeIds.push(id);
      if (feature < 0) {
        nodes.featureIds.push(0);
        nodes.modes.push('LEAF');
        nodes.values.push(0);
        nodes.trueIds.push(0);
        nodes.falseIds.push(0);
        nodes.missingTracksTrue.push(0);
        targets.treeIds.push(treeId);
        targets.nodeIds.push(id);
        targets.ids.push(width > 1 ? tree.classIndex : 0);
        targets.weights.push(tree.value[old] as number);
        return;
      }
      nodes.featureIds.push(feature);
      nodes.modes.push('BRANCH_LT');
      // Thresholds are float32 in ONNX: round up so `float32(x) < threshold` decides exactly as in TS.
      nodes.values.push(float32AtLeast(tree.threshold[old] as number));
      nodes.trueIds.push(newId.get(tree.left[old] as number) as number);
      nodes.falseIds.push(newId.get(tree.right[old] as number) as number);
      nodes.missingTracksTrue.push(tree.missingGoesLeft[old] === 1 ? 1 : 0);
    });
  });
  return [
    stringAttr('aggregate_function', 'SUM'),
    tensorAttr('base_values_as_tensor', doubleTensor('', [width], model.baseScore.slice(0, width))),
    intAttr('n_targets', width),
    intsAttr('nodes_falsenodeids', nodes.falseIds),
    intsAttr('nodes_featureids', nodes.featureIds),
    intsAttr('nodes_missing_value_tracks_true', nodes.missingTracksTrue),
    stringsAttr('nodes_modes', nodes.modes),
    intsAttr('nodes_nodeids', nodes.nodeIds),
    intsAttr('nodes_treeids', nodes.treeIds),
    intsAttr('nodes_truenodeids', nodes.trueIds),
    tensorAttr('nodes_values_as_tensor', doubleTensor('', [nodes.values.length], nodes.values)),
    stringAttr('post_transform', 'NONE'),
    intsAttr('target_ids', targets.ids),
    intsAttr('target_nodeids', targets.nodeIds),
    intsAttr('target_treeids', targets.treeIds),
    tensorAttr('target_weights_as_tensor', doubleTensor('', [targets.weights.length], targets.weights)),
  ];
}

/** Node indices reachable from the root (node 0), parents before children, left subtree first. */
function preorder(tree: Tree, treeId: number): number[] {
  const order: number[] = [];
  const seen = new Set<number>();
  const stack = [0];
  while (stack.length > 0) {
    const node = stack.pop() as number;
    if (seen.has(node)) throw new Error(`Tree ${treeId} is not a tree: node ${node} is reached twice`);
    seen.add(node);
    order.push(node);
    if ((tree.feature[node] as number) >= 0)
      stack.push(tree.right[node] as number, tree.left[node] as number);
  }
  return order;
}

function validateGbdt(model: GbdtModel, width: number): void {
  const expectedBase = model.task === 'multiclass' ? width : 1;
  if (model.baseScore.length !== expectedBase || expectedBase === 0) {
    throw new Error(
      `GBDT ${model.task} model has ${model.baseScore.length} base scores; expected ${expectedBase || 'at least 1'}`,
    );
  }
  const featureCount = model.features.length;
  model.trees.forEach((tree, treeId) => {
    const n = tree.feature.length;
    const arrays: unknown[][] = [tree.threshold, tree.missingGoesLeft, tree.left, tree.right, tree.value];
    if (tree.leftCategories) arrays.push(tree.leftCategories);
    if (n === 0 || arrays.some((array) => array.length !== n)) {
      throw new Error(`Tree ${treeId} has no nodes or arrays of different lengths`);
    }
    if (!Number.isInteger(tree.classIndex) || tree.classIndex < 0 || tree.classIndex >= width) {
      throw new Error(`Tree ${treeId} adds to class ${tree.classIndex}, but the model has ${width} score(s)`);
    }
    for (let node = 0; node < n; node++) {
      const feature = tree.feature[node] as number;
      if (feature < 0) continue;
      if (!Number.isInteger(feature) || feature >= featureCount) {
        throw new Error(`Tree ${treeId} node ${node} splits on feature ${feature} of ${featureCount}`);
      }
      const codes = tree.leftCategories?.[node];
      const categories =
        model.features[feature]?.kind === 'categorical' ? model.features[feature].categories : [];
      if (
        codes &&
        (codes.length === 0 ||
          codes.some((code) => !Number.isInteger(code) || code < 0 || code >= categories.length))
      ) {
        throw new Error(
          `Tree ${treeId} node ${node} sends codes [${codes.join(', ')}] left; feature ${feature} has ${categories.length} categories`,
        );
      }
      for (const child of [tree.left[node] as number, tree.right[node] as number]) {
        if (!Number.isInteger(child) || child <= 0 || child >= n) {
          throw new Error(`Tree ${treeId} node ${node} has child ${child} outside 1..${n - 1}`);
        }
      }
    }
  });
}
