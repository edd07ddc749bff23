/**
 * Exports a trained {@link Model} as one self-contained ONNX model: the graph takes the raw named
 * columns, applies the model's learned preprocessing and returns the prediction or class
 * probabilities, so any ONNX runtime can score without Kerf's TypeScript code.
 */
import type { Model } from '../model';
import { trainerOfModel } from '../trainers';
import { METADATA_KEY, PREDICTION_OUTPUT, PROBABILITIES_OUTPUT, describeModel } from './metadata';
import {
  DEFAULT_OPSET,
  FLOAT,
  GraphBuilder,
  IR_VERSION,
  ML_DOMAIN,
  ML_OPSET,
  STRING,
  intAttr,
  onnx,
} from './protoBuilders';

/** Options of {@link exportOnnx}. */
export interface ExportOnnxOptions {
  /** Stored as the model's producer_version (e.g. the Kerf version or training run id). */
  producerVersion?: string;
  /** Stored as the model's doc_string. */
  docString?: string;
}

/** producer_name of every exported model. */
export const PRODUCER_NAME = 'kerf';

/**
 * Serialises `model` as an ONNX ModelProto.
 *
 * Inputs: one per feature, named exactly as the feature, shape [N, 1]; tensor(float) for numeric
 * features (NaN = missing) and tensor(string) for categorical ones ('' = missing; unknown strings are
 * treated as unseen categories). Output: `prediction` [N, 1] for regression, `probabilities` [N, K]
 * for classification (K = 2 for binary, columns in class-id order). The `kerf.model` metadata entry
 * describes features, task and class labels. Output is deterministic: the same model gives the same bytes.
 *
 * @throws when the model is malformed (inconsistent arrays, bad indices, duplicate or reserved names)
 */
export function exportOnnx(model: Model, options: ExportOnnxOptions = {}): Uint8Array {
  validateFeatures(model);
  const graph = new GraphBuilder();
  const inputs = model.features.map((feature) =>
    graph.addInput(feature.name, feature.kind === 'numeric' ? FLOAT : STRING, 1),
  );
  // The model's own trainer knows how its scores are computed; the output head is common to all.
  const trainer = trainerOfModel(model);
  const scoreWidth = trainer.scoreWidth(model);
  validateClassLabels(model, scoreWidth);

  // Regression scores are the output itself; classification scores feed a Sigmoid/Softmax head.
  const scoreName = model.task === 'regression' ? graph.reserve(PREDICTION_OUTPUT) : undefined;
  const scores = trainer.addScores(graph, model, inputs, scoreName);
  const outputWidth = addOutputHead(graph, model, scores, scoreWidth);

  const metadata = describeModel(model, outputWidth);
  const proto = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [
      { domain: '', version: DEFAULT_OPSET },
      { domain: ML_DOMAIN, version: ML_OPSET },
    ],
    producerName: PRODUCER_NAME,
    producerVersion: options.producerVersion ?? '',
    docString: options.docString ?? '',
    graph: {
      name: `kerf_${model.type}_${model.task}`,
      node: graph.nodes,
      initializer: graph.initializers,
      input: graph.inputs,
      output: graph.outputs,
    },
    metadataProps: [{ key: METADATA_KEY, value: JSON.stringify(metadata) }],
  });
  // protobufjs hands back a Buffer under Node; return a plain Uint8Array copy.
  return Uint8Array.from(onnx.ModelProto.encode(proto).finish());
}

/** Adds the task's output; returns its width (columns per row). */
function addOutputHead(graph: GraphBuilder, model: Model, scores: string, scoreWidth: number): number {
  if (model.task === 'regression') {
    graph.addOutput(PREDICTION_OUTPUT, FLOAT, 1);
    return 1;
  }
  graph.reserve(PROBABILITIES_OUTPUT);
  if (model.task === 'binary') {
    // P(class 0) as sigmoid(-score) rather than 1 - p keeps small probabilities accurate in float32.
    const positive = graph.addNode1({ opType: 'Sigmoid', inputs: [scores], outputs: ['probability_1'] });
    const negated = graph.addNode1({ opType: 'Neg', inputs: [scores], outputs: ['negated_score'] });
    const negative = graph.addNode1({ opType: 'Sigmoid', inputs: [negated], outputs: ['probability_0'] });
    graph.addNode({
      opType: 'Concat',
      inputs: [negative, positive],
      exactOutputs: [PROBABILITIES_OUTPUT],
      attributes: [intAttr('axis', 1)],
    });
    graph.addOutput(PROBABILITIES_OUTPUT, FLOAT, 2);
    return 2;
  }
  graph.addNode({
    opType: 'Softmax',
    inputs: [scores],
    exactOutputs: [PROBABILITIES_OUTPUT],
    attributes: [intAttr('axis', 1)],
  });
  graph.addOutput(PROBABILITIES_OUTPUT, FLOAT, scoreWidth);
  return scoreWidth;
}

function validateFeatures(model: Model): void {
  if (model.features.length === 0) throw new Error('Cannot export a model without features');
  const names = new Set<string>();
  for (const feature of model.features) {
    if (feature.name === '') throw new Error('Cannot export a feature with an empty name');
    if (feature.name === PREDICTION_OUTPUT || feature.name === PROBABILITIES_OUTPUT) {
      throw new Error(`Feature "${feature.name}" has the name of a model output; rename the column`);
    }
    if (names.has(feature.name)) throw new Error(`Feature "${feature.name}" appears twice`);
    names.add(feature.name);
    if (feature.kind !== 'categorical') continue;
    const categories = new Set<string>();
    for (const category of feature.categories) {
      // '' is how missing categories reach the graph, so it cannot also be a real category.
      if (category === '') throw new Error(`Feature "${feature.name}" has an empty category`);
      if (categories.has(category)) {
        throw new Error(`Feature "${feature.name}" lists category "${category}" twice`);
      }
      categories.add(category);
    }
  }
}

function validateClassLabels(model: Model, scoreWidth: number): void {
  if (!model.classLabels || model.task === 'regression') return;
  const expected = model.task === 'binary' ? 2 : scoreWidth;
  if (model.classLabels.length !== expected) {
    throw new Error(
      `${model.task} model has ${model.classLabels.length} class labels but ${expected} classes`,
    );
  }
}
