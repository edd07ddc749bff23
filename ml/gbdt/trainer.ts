/**
 * The gradient-boosted trees' entry in the trainer registry: the spec's parameters, one for one onto
 * the trainer's options, training with early stopping on the validation rows, and ONNX export.
 */
import { z } from 'zod';
import type { TrainingData } from '../dataset';
import type { TrainingProgress } from '../model';
import { addGbdtScores, gbdtScoreWidth } from '../onnx/exportGbdt';
import { between, nonNegative, strictObject, whenGiven } from '../paramSchema';
import { finiteLosses, largestFirst, type ParamIssue, type Trainer, type TrainerRun } from '../trainer';
import type { GbdtModel } from './model';
import { DEFAULT_L2, DEFAULT_LOSS, type GbdtOptions, LOSSES_BY_TASK } from './options';
import { predictGbdt } from './predict';
import { trainGbdtDetailed } from './train';

const GBDT_LOSSES = ['squared_error', 'absolute_error', 'binary_logistic', 'multiclass_softmax'] as const;

export const gbdtParamsSchema = strictObject({
  /**
   * Boosting rounds (a multiclass round grows one tree per class).
   * @default 100
   */
  iterations: between(1, 10_000, { integer: true }).default(100),
  /**
   * Shrinkage applied to every leaf value.
   * @default 0.1
   */
  learningRate: between(0, 1, { minOpen: true }).default(0.1),
  /**
   * Most leaves per tree.
   * @default 31
   */
  maxLeaves: between(2, 65_536, { integer: true }).default(31),
  /**
   * Deepest split level of a tree; -1 is unlimited.
   * @default -1
   */
  maxDepth: between(-1, 64, { integer: true }).default(-1),
  /**
   * L2 regularisation (lambda) on leaf values.
   * @default 0 for squared_error and absolute_error, 1 for binary_logistic and multiclass_softmax
   */
  l2: nonNegative().optional(),
  /**
   * Fewest training rows in a leaf.
   * @default 20
   */
  minSamplesLeaf: between(1, Number.MAX_SAFE_INTEGER, { integer: true }).default(20),
  /**
   * Fraction of training rows (drawn anew each iteration) used to grow that iteration's trees.
   * @default 1
   */
  rowSubsample: between(0, 1, { minOpen: true }).default(1),
  /**
   * Fraction of features (drawn anew for each tree) a tree may split on.
   * @default 1
   */
  columnSubsample: between(0, 1, { minOpen: true }).default(1),
  /**
   * Stop when the validation loss has not improved for this many iterations; needs
   * `split.validationFraction`.
   * @default undefined (no early stopping)
   */
  earlyStoppingRounds: between(1, 10_000, { integer: true }).optional(),
  /**
   * Seed of every random choice of the trainer.
   * @default 42
   */
  seed: z.number().int('must be an integer').default(42),
  /**
   * What to minimise; must fit the task: squared_error or absolute_error for regression,
   * binary_logistic for binary, multiclass_softmax for multiclass.
   * @default the task's loss: 'squared_error', 'binary_logistic' or 'multiclass_softmax'
   */
  loss: z
    .enum(GBDT_LOSSES, { error: (issue) => whenGiven(issue, `must be one of: ${GBDT_LOSSES.join(', ')}`) })
    .optional(),
});

export type GbdtParams = z.output<typeof gbdtParamsSchema>;

/** The spec's gbdt parameters as the trainer's options, one for one. */
export function gbdtOptionsOf(params: GbdtParams): GbdtOptions {
  return {
    loss: params.loss,
    iterations: params.iterations,
    learningRate: params.learningRate,
    maxLeaves: params.maxLeaves,
    maxDepth: params.maxDepth,
    l2: params.l2,
    minSamplesLeaf: params.minSamplesLeaf,
    rowSubsample: params.rowSubsample,
    columnSubsample: params.columnSubsample,
    seed: params.seed,
    ...(params.earlyStoppingRounds === undefined ? {} : { earlyStoppingRounds: params.earlyStoppingRounds }),
  };
}

function trainCandidate(data: TrainingData, params: GbdtParams, run: TrainerRun = {}) {
  const { validation } = run;
  if (params.earlyStoppingRounds !== undefined && !validation) {
    throw new Error(
      'trainer.params.earlyStoppingRounds needs a validation set: set split.validationFraction (e.g. 0.1), ' +
        'or remove earlyStoppingRounds.',
    );
  }
  // Every round's losses, to report those of the rounds early stopping keeps.
  const history: TrainingProgress[] = [];
  const { model } = trainGbdtDetailed(
    data,
    {
      ...gbdtOptionsOf(params),
      onProgress: (progress) => {
        history.push(progress);
        run.onProgress?.(progress);
      },
    },
    validation,
  );
  const kept = history[model.iterations - 1];
  let best: TrainingProgress | undefined;
  for (const progress of history) {
    // Strictly lower, as the trainer's early stopping counts: the first of equal rounds is the best.
    if ((progress.validationLoss ?? Infinity) < (best?.validationLoss ?? Infinity)) best = progress;
  }
  const importance = data.features.map((feature) => ({
    name: feature.name,
    importance: model.featureImportance[feature.name] ?? 0,
  }));
  return {
    model,
    summary: {
      loss: model.loss,
      iterations: model.iterations,
      iterationsRun: history.length,
      ...(best ? { bestIteration: best.iteration } : {}),
      ...finiteLosses(kept?.trainLoss, kept?.validationLoss),
      featureImportance: largestFirst(importance),
    },
  };
}

export const gbdtTrainer = {
  kind: 'gbdt',
  description: 'Gradient-boosted trees (ml/gbdt)',
  params: gbdtParamsSchema,
  train: trainCandidate,
  predict: predictGbdt,
  scoreWidth: gbdtScoreWidth,
  addScores: addGbdtScores,
  checkParams(params, { task, hasValidation }) {
    const issues: ParamIssue[] = [];
    const loss = params.loss;
    if (task && typeof loss === 'string' && !(LOSSES_BY_TASK[task] as readonly string[]).includes(loss)) {
      issues.push({
        path: ['loss'],
        message: `"${loss}" does not fit a ${task} task; use ${LOSSES_BY_TASK[task].join(' or ')}`,
      });
    }
    if (typeof params.earlyStoppingRounds === 'number' && !hasValidation) {
      issues.push({
        path: ['earlyStoppingRounds'],
        message: 'early stopping needs a validation set: set split.validationFraction',
      });
    }
    return issues;
  },
  resolveParams: (params, task) => {
    const loss = params.loss ?? DEFAULT_LOSS[task];
    return { ...params, loss, l2: params.l2 ?? DEFAULT_L2[loss] };
  },
  size: (model) => ({ trees: model.trees.length }),
  roundsParam: 'iterations',
} as const satisfies Trainer<'gbdt', typeof gbdtParamsSchema, GbdtModel>;
