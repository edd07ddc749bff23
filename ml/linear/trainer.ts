/**
 * The linear trainer's entry in the trainer registry: ridge, logistic or softmax regression, its
 * spec parameters, the validation loss it reports (it does not early-stop) and ONNX export.
 */
import type { z } from 'zod';
import type { TrainingData } from '../dataset';
import { DEFAULT_LOSS } from '../gbdt/options';
import { logLoss, rmse } from '../metrics';
import { addLinearScores, linearScoreWidth } from '../onnx/exportLinear';
import { between, nonNegative, strictObject } from '../paramSchema';
import {
  finiteLosses,
  largestFirst,
  type FeatureImportance,
  type Trainer,
  type TrainerRun,
} from '../trainer';
import type { LinearModel } from './model';
import { predictLinear } from './predict';
import { fitLinear } from './train';

export const linearParamsSchema = strictObject({
  /**
   * L2 penalty on the weights (never on the intercepts).
   * @default 1
   */
  l2: nonNegative().default(1),
  /**
   * Cap on solver iterations.
   * @default 100 for the direct solver, 500 for L-BFGS (the trainer's choice)
   */
  maxIterations: between(1, 100_000, { integer: true }).optional(),
});

export type LinearParams = z.output<typeof linearParamsSchema>;

function trainCandidate(data: TrainingData, params: LinearParams, run: TrainerRun = {}) {
  const fit = fitLinear(data, {
    l2: params.l2,
    ...(params.maxIterations === undefined ? {} : { maxIterations: params.maxIterations }),
    ...(run.onProgress ? { onProgress: run.onProgress } : {}),
  });
  // The linear trainer does not early-stop; the validation rows still tell how well it generalises.
  const validationLoss = run.validation ? linearLoss(fit.model, run.validation) : undefined;
  return {
    model: fit.model,
    summary: {
      loss: DEFAULT_LOSS[data.task],
      iterations: fit.iterations,
      iterationsRun: fit.iterations,
      ...finiteLosses(fit.trainLoss, validationLoss),
      converged: fit.converged,
      featureImportance: largestFirst(linearImportance(fit.model, data)),
    },
  };
}

/** The linear trainer's own loss (mean squared error or mean log loss) on other rows. */
function linearLoss(model: LinearModel, data: TrainingData): number {
  const prediction = predictLinear(model, data);
  return data.task === 'regression'
    ? rmse(data.target, prediction) ** 2
    : logLoss(data.target, prediction, model.intercepts.length);
}

/**
 * Absolute weights on standardised inputs. Numeric weights already are (the model standardises);
 * a one-hot column with share p of ones has standard deviation sqrt(p (1 - p)), so its weight
 * times that is the effect of one standard deviation, comparable with the numeric ones.
 */
function linearImportance(model: LinearModel, data: TrainingData): FeatureImportance[] {
  let offset = 0;
  return model.features.map((feature, j) => {
    let importance = 0;
    if (feature.kind === 'numeric') {
      for (const weights of model.weights) importance += Math.abs(weights[offset] ?? 0);
      offset += 1;
    } else {
      const counts = new Float64Array(feature.categories.length);
      for (const code of data.columns[j] ?? []) {
        if (Number.isInteger(code) && code >= 0 && code < counts.length)
          counts[code] = (counts[code] as number) + 1;
      }
      counts.forEach((count, k) => {
        const share = count / data.rowCount;
        const deviation = Math.sqrt(share * (1 - share));
        for (const weights of model.weights) importance += Math.abs(weights[offset + k] ?? 0) * deviation;
      });
      offset += feature.categories.length;
    }
    return { name: feature.name, importance };
  });
}

export const linearTrainer = {
  kind: 'linear',
  description: 'Linear or logistic regression (ml/linear)',
  params: linearParamsSchema,
  train: trainCandidate,
  predict: predictLinear,
  scoreWidth: linearScoreWidth,
  addScores: addLinearScores,
} as const satisfies Trainer<'linear', typeof linearParamsSchema, LinearModel>;
