/**
 * The linear baseline trainer: ridge regression in closed form, L2 logistic regression by Newton's
 * method (IRLS), multinomial softmax regression by L-BFGS, all on the standardised, one-hot design
 * that `LinearModel` describes, with unpenalised intercepts.
 */
import type { TrainingData } from '../dataset';
import type { LinearModel, ProgressCallback, TaskKind } from '../model';
import {
  addTransposed,
  buildDesign,
  type Design,
  designScores,
  fitNumericPreprocessing,
  weightedGram,
} from './design';
import { sigmoid } from '../activations';
import { type LinearLoss, meanLoss, penalisedObjective, softplus } from './objective';
import { maxAbs, minimizeLbfgs, solveSymmetric } from './optimize';

export type LinearSolver = 'auto' | 'direct' | 'lbfgs';

/** Above this many parameters per output, 'auto' switches from dense solves to L-BFGS. */
const MAX_DIRECT_WIDTH = 1024;

export interface LinearOptions {
  /**
   * L2 penalty on the weights (never on the intercepts), on the scale of the summed loss, so its
   * strength relative to the data falls as rows are added: regression minimises
   * sum (y - yhat)^2 + l2 * |w|^2 (scikit-learn's Ridge alpha), classification minimises
   * sum log-loss + l2 / 2 * |w|^2 (scikit-learn's LogisticRegression with C = 1 / l2). Weights are
   * on standardised features, so the penalty treats all numeric features alike.
   * @default 1
   */
  l2?: number;
  /**
   * Cap on iterations: Newton steps (binary, direct solver) or L-BFGS iterations (multiclass, wide
   * designs), which are far cheaper and less effective each, hence the larger default. Regression
   * with the direct solver takes a single step whatever this is.
   * @default 100 for the direct solver, 500 for L-BFGS
   */
  maxIterations?: number;
  /**
   * Convergence: the largest component of the gradient of the penalised objective divided by the
   * row count (i.e. of the per-row objective) is at most this.
   * @default 1e-6
   */
  tolerance?: number;
  /**
   * 'direct' solves dense (width+1)^2 systems (normal equations, Newton); 'lbfgs' never forms them;
   * 'auto' is direct for regression and binary when the design is at most 1024 wide, L-BFGS
   * otherwise and always for multiclass.
   * @default 'auto'
   */
  solver?: LinearSolver;
  /** Called after every iteration with the mean training loss (MSE, or mean log loss). */
  onProgress?: ProgressCallback;
}

/** A trained model with how the fit went. */
export interface LinearFit {
  model: LinearModel;
  /** Iterations run (1 for the closed-form ridge solve). */
  iterations: number;
  /** False when maxIterations ran out before the tolerance was met. */
  converged: boolean;
  solver: 'direct' | 'lbfgs';
  /** Mean training loss of the final model: MSE for regression, mean log loss otherwise. */
  trainLoss: number;
}

interface Problem {
  design: Design;
  target: Float64Array;
  loss: LinearLoss;
  outputs: number;
  l2: number;
  maxIterations: number;
  tolerance: number;
  onProgress: ProgressCallback | undefined;
}

type Solution = Omit<LinearFit, 'model' | 'solver'> & { theta: Float64Array };

function classCount(data: TrainingData): number {
  if (data.task === 'regression') return 0;
  if (data.classLabels) return data.classLabels.length;
  let max = -1;
  for (const y of data.target) max = Math.max(max, y);
  return max + 1;
}

function checkTarget(data: TrainingData, classes: number): void {
  data.target.forEach((y, row) => {
    const ok = data.task === 'regression' ? Number.isFinite(y) : Number.isInteger(y) && y >= 0 && y < classes;
    if (!ok) {
      const expected = data.task === 'regression' ? 'a finite number' : `a class id in [0, ${classes})`;
      throw new Error(`Target is ${y} in row ${row + 1}; expected ${expected}`);
    }
  });
}

/** Class frequencies, clamped away from 0 so their logs make finite starting intercepts. */
function classPriors(target: Float64Array, classes: number): number[] {
  const counts = new Array<number>(classes).fill(0);
  for (const y of target) counts[y] = (counts[y] as number) + 1;
  return counts.map((count) => Math.min(1 - 1e-6, Math.max(1e-6, count / target.length)));
}

/** Ridge regression: (X^T X + l2 I_w) theta = X^T y, on y centred so the right-hand side stays small. */
function solveRidge(problem: Problem): Solution {
  const { design, target, l2 } = problem;
  const dim = design.width + 1;
  const gram = weightedGram(design, null);
  for (let j = 1; j < dim; j++) gram[j * dim + j] = (gram[j * dim + j] as number) + l2;
  let mean = 0;
  for (const y of target) mean += y / target.length;
  const centred = Float64Array.from(target, (y) => y - mean);
  const rhs = new Float64Array(dim);
  addTransposed(design, centred, 1, rhs);
  const theta = solveSymmetric(gram, dim, rhs);
  theta[0] = (theta[0] as number) + mean;
  const scores = new Float64Array(design.rowCount);
  designScores(design, theta, 1, scores);
  const trainLoss = meanLoss('squared', scores, target, 1);
  problem.onProgress?.({ iteration: 1, totalIterations: 1, trainLoss });
  return { theta, iterations: 1, converged: true, trainLoss };
}

/**
 * Binary logistic regression by Newton's method (IRLS) with step halving, so the penalised objective
 * decreases at every step even on separable data, where a full Newton step can overshoot.
 */
function solveLogisticNewton(problem: Problem): Solution {
  const { design, target, l2, maxIterations, tolerance } = problem;
  const n = design.rowCount;
  const dim = design.width + 1;
  const prior = classPriors(target, 2)[1] as number;
  let theta = new Float64Array(dim);
  theta[0] = Math.log(prior / (1 - prior));
  const scores = new Float64Array(n);
  const objective = (parameters: Float64Array): number => {
    designScores(design, parameters, 1, scores);
    let total = 0;
    for (let i = 0; i < n; i++)
      total += softplus(scores[i] as number) - (target[i] as number) * (scores[i] as number);
    let penalty = 0;
    for (let j = 1; j < dim; j++) penalty += (parameters[j] as number) ** 2;
    return total + 0.5 * l2 * penalty;
  };
  let value = objective(theta);
  let iterations = 0;
  let converged = false;
  const residual = new Float64Array(n);
  const curvature = new Float64Array(n);
  for (;;) {
    // `scores` holds the current theta's scores: the last objective call was at theta.
    for (let i = 0; i < n; i++) {
      const p = sigmoid(scores[i] as number);
      residual[i] = p - (target[i] as number);
      curvature[i] = p * (1 - p);
    }
    const grad = new Float64Array(dim);
    addTransposed(design, residual, 1, grad);
    for (let j = 1; j < dim; j++) grad[j] = (grad[j] as number) + l2 * (theta[j] as number);
    converged = maxAbs(grad) / n <= tolerance;
    if (converged || iterations >= maxIterations) break;
    const hessian = weightedGram(design, curvature);
    for (let j = 1; j < dim; j++) hessian[j * dim + j] = (hessian[j * dim + j] as number) + l2;
    const step = solveSymmetric(hessian, dim, grad); // theta_next = theta - t * step
    let t = 1;
    let next = theta;
    let nextValue = Infinity;
    for (let tries = 0; tries < 50; tries++) {
      next = Float64Array.from(theta, (v, j) => v - t * (step[j] as number));
      nextValue = objective(next);
      if (nextValue <= value) break;
      t /= 2;
    }
    if (!(nextValue <= value)) {
      // No decrease even for a tiny step: numerically at the optimum. Restore theta's scores.
      objective(theta);
      converged = true;
      break;
    }
    iterations++;
    theta = next;
    value = nextValue;
    problem.onProgress?.({
      iteration: iterations,
      totalIterations: maxIterations,
      trainLoss: meanLoss('logistic', scores, target, 1),
    });
  }
  return { theta, iterations, converged, trainLoss: meanLoss('logistic', scores, target, 1) };
}

/** Any of the three losses by L-BFGS on the per-row penalised objective. */
function solveLbfgs(problem: Problem): Solution {
  const { design, target, loss, outputs, l2, maxIterations, tolerance, onProgress } = problem;
  const stride = design.width + 1;
  const theta0 = new Float64Array(outputs * stride);
  if (loss === 'squared') {
    for (const y of target) theta0[0] = (theta0[0] as number) + y / target.length;
  } else if (loss === 'logistic') {
    const prior = classPriors(target, 2)[1] as number;
    theta0[0] = Math.log(prior / (1 - prior));
  } else {
    classPriors(target, outputs).forEach((prior, o) => (theta0[o * stride] = Math.log(prior)));
  }
  const { objective, lastLoss } = penalisedObjective(design, target, loss, outputs, l2);
  const result = minimizeLbfgs(objective, theta0, {
    maxIterations,
    tolerance,
    onIteration: (iteration) =>
      onProgress?.({ iteration, totalIterations: maxIterations, trainLoss: lastLoss() }),
  });
  const scores = new Float64Array(design.rowCount * outputs);
  designScores(design, result.x, outputs, scores);
  return {
    theta: result.x,
    iterations: result.iterations,
    converged: result.converged,
    trainLoss: meanLoss(loss, scores, target, outputs),
  };
}

function lossOf(task: TaskKind): LinearLoss {
  return task === 'regression' ? 'squared' : task === 'binary' ? 'logistic' : 'softmax';
}

/**
 * Trains a linear model and reports how the fit went. Numeric preprocessing is learned from `data`
 * (mean imputation, standardisation); categorical features are one-hot over `feature.categories`,
 * with unseen and missing categories as all zeros.
 *
 * @throws on an empty training set, a target outside its task's range, an infinite feature value,
 *   or a binary problem whose training rows hold one class only
 */
export function fitLinear(data: TrainingData, options: LinearOptions = {}): LinearFit {
  const l2 = options.l2 ?? 1;
  const tolerance = options.tolerance ?? 1e-6;
  if (!(l2 >= 0) || !Number.isFinite(l2)) throw new Error(`l2 must be a finite number >= 0, got ${l2}`);
  if (data.rowCount === 0) throw new Error('Cannot train a linear model on 0 rows');
  if (data.target.length !== data.rowCount) {
    throw new Error(`Target has ${data.target.length} values for ${data.rowCount} rows`);
  }
  const classes = classCount(data);
  if (data.task !== 'regression' && classes < 2) throw new Error(`${data.task} needs at least 2 classes`);
  if (data.task === 'binary' && classes !== 2)
    throw new Error(`binary needs exactly 2 classes, got ${classes}`);
  checkTarget(data, classes);
  if (data.task === 'binary') {
    const positives = data.target.reduce((sum, y) => sum + y, 0);
    if (positives === 0 || positives === data.rowCount) {
      const only = data.classLabels?.[positives === 0 ? 0 : 1] ?? String(positives === 0 ? 0 : 1);
      throw new Error(`All training rows are of class "${only}": a classifier needs both classes`);
    }
  }

  const numericPreprocessing = fitNumericPreprocessing(data);
  const design = buildDesign(data, numericPreprocessing);
  const loss = lossOf(data.task);
  const outputs = data.task === 'multiclass' ? classes : 1;
  const requested = options.solver ?? 'auto';
  const direct =
    loss !== 'softmax' &&
    (requested === 'direct' || (requested === 'auto' && design.width <= MAX_DIRECT_WIDTH));
  const maxIterations = options.maxIterations ?? (direct ? 100 : 500);
  if (!Number.isInteger(maxIterations) || maxIterations < 1) {
    throw new Error(`maxIterations must be a positive integer, got ${maxIterations}`);
  }
  const problem: Problem = {
    design,
    target: data.target,
    loss,
    outputs,
    l2,
    maxIterations,
    tolerance,
    onProgress: options.onProgress,
  };
  const solution = !direct
    ? solveLbfgs(problem)
    : loss === 'squared'
      ? solveRidge(problem)
      : solveLogisticNewton(problem);

  const stride = design.width + 1;
  const intercepts: number[] = [];
  const weights: number[][] = [];
  for (let o = 0; o < outputs; o++) {
    intercepts.push(solution.theta[o * stride] as number);
    weights.push(Array.from(solution.theta.subarray(o * stride + 1, (o + 1) * stride)));
  }
  if (loss === 'softmax') {
    // Softmax ignores a shift shared by all intercepts, which the penalty leaves free: centre them
    // so the same data always gives the same model.
    const shift = intercepts.reduce((sum, b) => sum + b, 0) / outputs;
    intercepts.forEach((b, o) => (intercepts[o] = b - shift));
  }
  const model: LinearModel = {
    type: 'linear',
    task: data.task,
    features: data.features.map((feature) =>
      feature.kind === 'numeric' ? { ...feature } : { ...feature, categories: [...feature.categories] },
    ),
    numericPreprocessing,
    weights,
    intercepts,
    ...(data.classLabels ? { classLabels: [...data.classLabels] } : {}),
  };
  return {
    model,
    iterations: solution.iterations,
    converged: solution.converged,
    solver: direct ? 'direct' : 'lbfgs',
    trainLoss: solution.trainLoss,
  };
}

/** Trains a linear model; see {@link fitLinear} for the details and the fit report. */
export function trainLinear(data: TrainingData, options?: LinearOptions): LinearModel {
  return fitLinear(data, options).model;
}
