/**
 * Scoring with a GBDT model. Routing compares inputs as float32 (`Math.fround(x) < threshold` goes
 * left, NaN follows `missingGoesLeft`), exactly like an ONNX TreeEnsemble with BRANCH_LT on float32
 * inputs, so the exported graph and this code agree row for row. A category split sends a code left
 * when it is one of the node's `leftCategories` (the graph's chain of BRANCH_EQ nodes).
 */
import { encodeFeatures, type EncodedFeatures } from '../dataset';
import type { GbdtModel, Tree } from '../model';
import type { Table } from '../table';
import { sigmoid, softmaxInto } from '../activations';

/**
 * Raw scores (base score plus the sum of tree outputs) for every row and output: n*k row-major,
 * k = number of classes for multiclass models and 1 otherwise.
 */
export function predictGbdtRaw(model: GbdtModel, encoded: EncodedFeatures): Float64Array {
  checkFeatures(model, encoded);
  const k = model.baseScore.length;
  const n = encoded.rowCount;
  const raw = new Float64Array(n * k);
  for (let row = 0; row < n; row++) {
    for (let c = 0; c < k; c++) raw[row * k + c] = model.baseScore[c] as number;
  }
  const columns = toFloat32(encoded.columns);
  for (const tree of model.trees) addTreeScores(tree, columns, n, raw, k);
  return raw;
}

/**
 * Predictions: the value for regression, the probability of class 1 for binary models, and the class
 * probabilities (n*k row-major, softmax) for multiclass models.
 */
export function predictGbdt(model: GbdtModel, encoded: EncodedFeatures): Float64Array {
  const raw = predictGbdtRaw(model, encoded);
  if (model.loss === 'binary_logistic') {
    for (let i = 0; i < raw.length; i++) raw[i] = sigmoid(raw[i] as number);
  } else if (model.loss === 'multiclass_softmax') {
    const k = model.baseScore.length;
    for (let row = 0; row < encoded.rowCount; row++) softmaxInto(raw, row * k, k, raw, row * k);
  }
  return raw;
}

/** `predictGbdt` on a table's columns, encoded the way the model was trained. */
export function predictGbdtTable(model: GbdtModel, table: Table): Float64Array {
  return predictGbdt(model, encodeFeatures(table, model.features));
}

/** The feature columns as float32: the precision the trees compare in. NaN stays NaN. */
export function toFloat32(columns: readonly Float64Array[]): Float32Array[] {
  return columns.map((column) => Float32Array.from(column));
}

/** Adds one tree's output to `raw[row * outputs + tree.classIndex]` for rows 0..n-1. */
export function addTreeScores(
  tree: Tree,
  columns: readonly Float32Array[],
  n: number,
  raw: Float64Array,
  outputs: number,
): void {
  const { feature, threshold, missingGoesLeft, left, right, value } = tree;
  const c = tree.classIndex;
  // Per node with a category split, its left codes as a set.
  const sets = tree.leftCategories?.map((codes) => (codes ? new Set(codes) : null));
  for (let row = 0; row < n; row++) {
    let node = 0;
    let f = feature[0] as number;
    while (f >= 0) {
      const x = (columns[f] as Float32Array)[row] as number;
      const set = sets?.[node];
      // x is already float32; NaN fails `<` and takes the missing-value branch.
      const goLeft = set
        ? set.has(x)
        : x < (threshold[node] as number) || (x !== x && missingGoesLeft[node] === 1);
      node = goLeft ? (left[node] as number) : (right[node] as number);
      f = feature[node] as number;
    }
    const at = row * outputs + c;
    raw[at] = (raw[at] as number) + (value[node] as number);
  }
}

function checkFeatures(model: GbdtModel, encoded: EncodedFeatures): void {
  const expected = model.features.map((feature) => feature.name);
  const given = encoded.features.map((feature) => feature.name);
  if (expected.length !== given.length || expected.some((name, i) => name !== given[i])) {
    throw new Error(
      `The model takes features [${expected.join(', ')}] but got [${given.join(', ')}]: encode with the model's features`,
    );
  }
}
