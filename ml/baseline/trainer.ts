/**
 * The baseline: a model that ignores its inputs and predicts what the training rows say on average,
 * the training mean or median for regression, the training class frequencies for classification. It
 * is the floor every candidate must beat (the quality gate's `beats-baseline-floor` check), and a spec
 * may deploy it on purpose while a shop collects the data for a real model.
 */
import { z } from 'zod';
import type { EncodedFeatures, TrainingData } from '../dataset';
import { DEFAULT_LOSS } from '../gbdt/options';
import type { TaskKind } from '../model';
import { logLoss, mae, rmse } from '../metrics';
import { type GraphBuilder, floatTensor } from '../onnx/protoBuilders';
import { strictObject, whenGiven } from '../paramSchema';
import { finiteLosses, type Trainer, type TrainerRun } from '../trainer';
import type { BaselineModel } from './model';

export const baselineParamsSchema = strictObject({
  /**
   * Regression: predict the training mean (least squared error) or median (least absolute error).
   * Classification always predicts the class frequencies.
   * @default 'mean'
   */
  statistic: z
    .enum(['mean', 'median'], { error: (issue) => whenGiven(issue, 'must be "mean" or "median"') })
    .default('mean'),
});

export type BaselineParams = z.output<typeof baselineParamsSchema>;

/** The training mean or median (regression), or each class's share of the rows. */
export function fitBaseline(data: TrainingData, params: BaselineParams): BaselineModel {
  const { target, task } = data;
  if (target.length === 0) throw new Error('The baseline needs at least one training row');
  const common = {
    type: 'baseline' as const,
    task,
    features: data.features.map((feature) =>
      feature.kind === 'numeric' ? { ...feature } : { ...feature, categories: [...feature.categories] },
    ),
  };
  if (task === 'regression') {
    const value = params.statistic === 'median' ? median(target) : mean(target);
    return { ...common, statistic: params.statistic, values: [value] };
  }
  const classes = data.classLabels?.length ?? 0;
  if (classes < 2) throw new Error(`A ${task} baseline needs the class labels of at least two classes`);
  const counts = new Array<number>(classes).fill(0);
  for (const id of target) counts[id] = (counts[id] as number) + 1;
  return {
    ...common,
    statistic: 'prior',
    values: counts.map((count) => count / target.length),
    ...(data.classLabels ? { classLabels: [...data.classLabels] } : {}),
  };
}

/** The same prediction for every row: values, P(class 1), or rows x classes row-major. */
export function predictBaseline(model: BaselineModel, encoded: EncodedFeatures): Float64Array {
  const rows = encoded.rowCount;
  if (model.task === 'multiclass') {
    const out = new Float64Array(rows * model.values.length);
    for (let row = 0; row < rows; row++) out.set(model.values, row * model.values.length);
    return out;
  }
  return new Float64Array(rows).fill(
    model.task === 'binary' ? (model.values[1] as number) : (model.values[0] as number),
  );
}

/** One raw score for regression and binary (the head applies a sigmoid), one per class otherwise. */
export function baselineScoreWidth(model: BaselineModel): number {
  return model.task === 'multiclass' ? model.values.length : 1;
}

/**
 * Raw scores the output head turns into the prediction: the value itself (regression), the log odds
 * of class 1 (binary: sigmoid gives back P(class 1)) or each class's log frequency (multiclass: softmax
 * gives back the frequencies, which sum to 1). The [1, K] constant is broadcast against the first
 * input's [N, 1] shape, so the graph answers one row per input row.
 */
export function addBaselineScores(
  graph: GraphBuilder,
  model: BaselineModel,
  inputs: readonly string[],
  scoreName: string | undefined,
): string {
  const first = inputs[0];
  if (first === undefined)
    throw new Error('Cannot export a baseline without an input to take the row count from');
  const scores = rawScores(model);
  const constant = graph.addInitializer('baseline_scores', (name) =>
    floatTensor(name, [1, scores.length], scores),
  );
  const shape = graph.addNode1({ opType: 'Shape', inputs: [first], outputs: ['row_shape'] });
  const expanded = graph.addNode1({
    opType: 'Expand',
    inputs: [constant, shape],
    ...(scoreName === undefined ? { outputs: ['raw_scores'] } : { exactOutputs: [scoreName] }),
  });
  return expanded;
}

function rawScores(model: BaselineModel): number[] {
  if (model.task === 'regression') return [model.values[0] as number];
  if (model.task === 'binary') {
    const [negative, positive] = model.values as [number, number];
    return [Math.log(positive) - Math.log(negative)];
  }
  return model.values.map((share) => Math.log(share));
}

function trainCandidate(data: TrainingData, params: BaselineParams, run: TrainerRun = {}) {
  const model = fitBaseline(data, params);
  const loss = lossOf(model, params, data.task);
  run.onProgress?.({ iteration: 1, totalIterations: 1, trainLoss: loss(data) });
  return {
    model,
    summary: {
      loss:
        data.task === 'regression' && params.statistic === 'median'
          ? ('absolute_error' as const)
          : DEFAULT_LOSS[data.task],
      iterations: 0,
      iterationsRun: 0,
      ...finiteLosses(loss(data), run.validation ? loss(run.validation) : undefined),
      // The baseline reads no input.
      featureImportance: data.features.map((feature) => ({ name: feature.name, importance: 0 })),
    },
  };
}

/** The loss the summary reports: squared or absolute error, or the log loss of the frequencies. */
function lossOf(model: BaselineModel, params: BaselineParams, task: TaskKind) {
  return (data: TrainingData): number => {
    const prediction = predictBaseline(model, data);
    if (task !== 'regression') return logLoss(data.target, prediction, model.values.length);
    return params.statistic === 'median' ? mae(data.target, prediction) : rmse(data.target, prediction) ** 2;
  };
}

function mean(values: Float64Array): number {
  let sum = 0;
  for (const value of values) sum += value;
  return sum / values.length;
}

function median(values: Float64Array): number {
  const sorted = Float64Array.from(values).sort();
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

export const baselineTrainer = {
  kind: 'baseline',
  description: 'The training mean, median or class frequencies, whatever the inputs: the floor to beat',
  params: baselineParamsSchema,
  train: trainCandidate,
  predict: predictBaseline,
  scoreWidth: baselineScoreWidth,
  addScores: addBaselineScores,
  checkParams(params, { task }) {
    return task && task !== 'regression' && params.statistic === 'median'
      ? [
          {
            path: ['statistic'],
            message: `a ${task} baseline predicts the class frequencies; median is for regression`,
          },
        ]
      : [];
  },
} as const satisfies Trainer<'baseline', typeof baselineParamsSchema, BaselineModel>;
