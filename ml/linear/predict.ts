/**
 * Scoring of a `LinearModel`, following the contract in ml/model.ts exactly (it is what the ONNX
 * graph reproduces): NaN imputed then standardised, categories one-hot with unseen/missing as zeros.
 */
import { encodeFeatures, type EncodedFeatures } from '../dataset';
import type { Feature, LinearModel } from '../model';
import type { Table } from '../table';
import { designLayout } from './design';
import { sigmoid, softmaxInto } from '../activations';

function sameCategories(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((category, k) => category === b[k]);
}

/**
 * The encoded column of each model feature, found by name. Categorical codes encoded against
 * another category list (e.g. a test set run through prepareTrainingData) are translated by label,
 * so a code always means the model's category.
 */
function alignColumns(features: readonly Feature[], encoded: EncodedFeatures): Float64Array[] {
  const byName = new Map(encoded.features.map((feature, j) => [feature.name, j]));
  return features.map((feature) => {
    const j = byName.get(feature.name);
    if (j === undefined)
      throw new Error(`The model needs feature "${feature.name}", which is not in the input`);
    const given = encoded.features[j] as Feature;
    const column = encoded.columns[j] as Float64Array;
    if (column.length !== encoded.rowCount) {
      throw new Error(`Feature "${feature.name}" has ${column.length} values for ${encoded.rowCount} rows`);
    }
    if (feature.kind !== given.kind) {
      throw new Error(
        `Feature "${feature.name}" is ${feature.kind} in the model but ${given.kind} in the input`,
      );
    }
    if (feature.kind === 'numeric' || given.kind === 'numeric') return column;
    if (sameCategories(feature.categories, given.categories)) return column;
    const index = new Map(feature.categories.map((category, code) => [category, code]));
    const translate = given.categories.map((category) => index.get(category) ?? Number.NaN);
    return Float64Array.from(column, (code) =>
      Number.isInteger(code) ? (translate[code] ?? Number.NaN) : Number.NaN,
    );
  });
}

/**
 * Raw linear scores (before any link): rowCount x outputs, row-major; one output for regression and
 * binary (the log-odds of class 1), one per class for multiclass.
 *
 * @throws when a model feature is missing from `encoded` or has the other kind
 */
export function predictLinearRaw(model: LinearModel, encoded: EncodedFeatures): Float64Array {
  const columns = alignColumns(model.features, encoded);
  const n = encoded.rowCount;
  const outputs = model.intercepts.length;
  const { offsets } = designLayout(model.features);
  const scores = new Float64Array(n * outputs);
  for (let o = 0; o < outputs; o++) {
    const intercept = model.intercepts[o] as number;
    for (let row = 0; row < n; row++) scores[row * outputs + o] = intercept;
  }
  model.features.forEach((feature, j) => {
    const column = columns[j] as Float64Array;
    const offset = offsets[j] as number;
    if (feature.kind === 'numeric') {
      const prep = model.numericPreprocessing[feature.name];
      if (!prep) throw new Error(`The model has no preprocessing for numeric feature "${feature.name}"`);
      const { imputeValue, mean, scale } = prep;
      for (let o = 0; o < outputs; o++) {
        const weight = model.weights[o]?.[offset] ?? 0;
        if (weight === 0) continue;
        for (let row = 0; row < n; row++) {
          // The deployed ONNX graph takes float32 inputs: round the same way so both agree.
          const x = Math.fround(column[row] as number);
          const z = ((Number.isNaN(x) ? imputeValue : x) - mean) / scale;
          scores[row * outputs + o] = (scores[row * outputs + o] as number) + weight * z;
        }
      }
      return;
    }
    const size = feature.categories.length;
    for (let row = 0; row < n; row++) {
      const code = column[row] as number;
      if (!(Number.isInteger(code) && code >= 0 && code < size)) continue; // unseen or missing: all zeros
      for (let o = 0; o < outputs; o++) {
        scores[row * outputs + o] =
          (scores[row * outputs + o] as number) + (model.weights[o]?.[offset + code] ?? 0);
      }
    }
  });
  return scores;
}

/**
 * Predictions in the convention shared with the GBDT trainer and the ONNX exporter: regression ->
 * the value; binary -> probability of class 1 (sigmoid); multiclass -> rowCount x classes
 * probabilities, row-major (softmax).
 */
export function predictLinear(model: LinearModel, encoded: EncodedFeatures): Float64Array {
  const scores = predictLinearRaw(model, encoded);
  if (model.task === 'regression') return scores;
  if (model.task === 'binary') return scores.map(sigmoid);
  const k = model.intercepts.length;
  const probabilities = new Float64Array(scores.length);
  for (let row = 0; row < encoded.rowCount; row++) softmaxInto(scores, row * k, k, probabilities, row * k);
  return probabilities;
}

/** {@link predictLinear} on a table, encoded against the model's own features. */
export function predictLinearTable(model: LinearModel, table: Table): Float64Array {
  return predictLinear(model, encodeFeatures(table, model.features));
}
