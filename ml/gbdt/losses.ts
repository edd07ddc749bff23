/**
 * Losses of the GBDT trainer: starting scores, gradients and hessians of the raw scores, and the
 * mean loss reported as progress and used for early stopping. Raw scores are row-major n*k
 * (k = 1 unless multiclass).
 */
import { sigmoid, softmaxInto } from '../activations';
import type { GbdtLoss } from '../model';

export interface LossFunction {
  readonly name: GbdtLoss;
  /** Every hessian is 1: histogram building then skips them. */
  readonly unitHessian: boolean;
  /**
   * A row's gradient is its score minus its target (squared error): adding a leaf's value to the
   * scores of its rows moves their gradients by that value, so the next tree's root histogram can be
   * carried over from this tree's leaves (TreeGrower.carryRoot) instead of rebuilt from every row;
   * and the grower's kernel adds each tree to the scores and makes the next gradients
   * (TreeGrower.addTreeToResiduals), so such a loss needs no `addTreeThenGradients`.
   */
  readonly gradientIsResidual: boolean;
  /** The raw score per output before any tree. */
  baseScore(target: Float64Array, outputs: number): number[];
  /** Fills `grad[c]` and `hess[c]` for every output c. */
  gradients(target: Float64Array, raw: Float64Array, grad: Float64Array[], hess: Float64Array[]): void;
  /** Mean loss over the rows. */
  loss(target: Float64Array, raw: Float64Array, outputs: number): number;
  /**
   * One pass over the rows instead of three, for a single-output loss: adds a tree's leaf values to
   * the scores (row r gets `values[leafOfRows[r]]`), fills the gradients and hessians of the new
   * scores, and returns their mean loss. Each value is computed as `gradients` and `loss` compute it,
   * so the model and the losses are the same to the bit. Undefined for multiclass.
   */
  addTreeThenGradients?(
    target: Float64Array,
    raw: Float64Array,
    leafOfRows: LeafOfRows,
    values: Float64Array,
    grad: Float64Array,
    hess: Float64Array,
  ): number;
}

/**
 * Each training row's leaf in a tree (an index into that tree's leaf values), as the grower's kernel
 * marks it (TreeGrower.leafOfTrainingRows): 16-bit, or 32-bit for trees of more than 65,536 leaves.
 */
export type LeafOfRows = Uint16Array | Uint32Array;

// Hessians of confident predictions vanish; a floor keeps leaf values finite (as XGBoost does).
const MIN_HESSIAN = 1e-16;
// Probabilities are clamped so that a class absent from training still gets a finite score.
const MIN_PROBABILITY = 1e-15;

const squaredError: LossFunction = {
  name: 'squared_error',
  unitHessian: true,
  gradientIsResidual: true,
  baseScore: (target) => [mean(target)],
  gradients(target, raw, grad) {
    const g = grad[0] as Float64Array;
    for (let i = 0; i < target.length; i++) g[i] = (raw[i] as number) - (target[i] as number);
  },
  loss(target, raw) {
    let sum = 0;
    for (let i = 0; i < target.length; i++) sum += ((raw[i] as number) - (target[i] as number)) ** 2;
    return target.length > 0 ? sum / target.length : 0;
  },
};

const absoluteError: LossFunction = {
  name: 'absolute_error',
  unitHessian: true,
  gradientIsResidual: false,
  baseScore: (target) => [median(Float64Array.from(target))],
  gradients(target, raw, grad) {
    // The gradient's sign only picks the split; leaf values are refit to median residuals.
    const g = grad[0] as Float64Array;
    for (let i = 0; i < target.length; i++) g[i] = Math.sign((raw[i] as number) - (target[i] as number));
  },
  loss(target, raw) {
    let sum = 0;
    for (let i = 0; i < target.length; i++) sum += Math.abs((raw[i] as number) - (target[i] as number));
    return target.length > 0 ? sum / target.length : 0;
  },
  addTreeThenGradients(target, raw, leafOfRows, values, grad) {
    let sum = 0;
    for (let i = 0; i < target.length; i++) {
      const score = (raw[i] as number) + (values[leafOfRows[i] as number] as number);
      raw[i] = score;
      const residual = score - (target[i] as number);
      grad[i] = Math.sign(residual);
      sum += Math.abs(residual);
    }
    return target.length > 0 ? sum / target.length : 0;
  },
};

const binaryLogistic: LossFunction = {
  name: 'binary_logistic',
  unitHessian: false,
  gradientIsResidual: false,
  baseScore(target) {
    const p = clamp(mean(target), MIN_PROBABILITY, 1 - MIN_PROBABILITY);
    return [Math.log(p / (1 - p))];
  },
  gradients(target, raw, grad, hess) {
    const g = grad[0] as Float64Array;
    const h = hess[0] as Float64Array;
    for (let i = 0; i < target.length; i++) {
      const p = sigmoid(raw[i] as number);
      g[i] = p - (target[i] as number);
      h[i] = Math.max(p * (1 - p), MIN_HESSIAN);
    }
  },
  loss(target, raw) {
    let sum = 0;
    for (let i = 0; i < target.length; i++) {
      const z = raw[i] as number;
      // log(1 + e^z) - y z, computed without overflow.
      sum += Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z))) - (target[i] as number) * z;
    }
    return target.length > 0 ? sum / target.length : 0;
  },
  addTreeThenGradients(target, raw, leafOfRows, values, grad, hess) {
    let sum = 0;
    for (let i = 0; i < target.length; i++) {
      const z = (raw[i] as number) + (values[leafOfRows[i] as number] as number);
      raw[i] = z;
      const y = target[i] as number;
      const p = sigmoid(z);
      grad[i] = p - y;
      hess[i] = Math.max(p * (1 - p), MIN_HESSIAN);
      sum += Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z))) - y * z;
    }
    return target.length > 0 ? sum / target.length : 0;
  },
};

const multiclassSoftmax: LossFunction = {
  name: 'multiclass_softmax',
  unitHessian: false,
  gradientIsResidual: false,
  baseScore(target, outputs) {
    const counts = new Float64Array(outputs);
    for (const label of target) counts[label] = (counts[label] as number) + 1;
    return Array.from(counts, (count) =>
      Math.log(Math.max(count / Math.max(1, target.length), MIN_PROBABILITY)),
    );
  },
  gradients(target, raw, grad, hess) {
    const k = grad.length;
    // k/(k-1) corrects the diagonal Newton step for softmax's redundant parameter (as LightGBM does).
    const factor = k > 1 ? k / (k - 1) : 1;
    const probabilities = new Float64Array(k);
    for (let i = 0; i < target.length; i++) {
      softmaxInto(raw, i * k, k, probabilities, 0);
      const label = target[i] as number;
      for (let c = 0; c < k; c++) {
        const p = probabilities[c] as number;
        (grad[c] as Float64Array)[i] = p - (c === label ? 1 : 0);
        (hess[c] as Float64Array)[i] = Math.max(factor * p * (1 - p), MIN_HESSIAN);
      }
    }
  },
  loss(target, raw, outputs) {
    let sum = 0;
    for (let i = 0; i < target.length; i++) {
      const base = i * outputs;
      let max = -Infinity;
      for (let c = 0; c < outputs; c++) max = Math.max(max, raw[base + c] as number);
      let total = 0;
      for (let c = 0; c < outputs; c++) total += Math.exp((raw[base + c] as number) - max);
      sum += max + Math.log(total) - (raw[base + (target[i] as number)] as number);
    }
    return target.length > 0 ? sum / target.length : 0;
  },
};

const LOSSES: Record<GbdtLoss, LossFunction> = {
  squared_error: squaredError,
  absolute_error: absoluteError,
  binary_logistic: binaryLogistic,
  multiclass_softmax: multiclassSoftmax,
};

/** The implementation of a loss. */
export function lossFunction(name: GbdtLoss): LossFunction {
  return LOSSES[name];
}

/**
 * The median of `target - raw` over rows `rows[start..start+count)` (LightGBM's L1 leaf refit),
 * using `scratch` (at least `count` long) as working memory.
 */
export function medianResidual(
  rows: Uint32Array,
  start: number,
  count: number,
  target: Float64Array,
  raw: Float64Array,
  outputs: number,
  classIndex: number,
  scratch: Float64Array,
): number {
  for (let i = 0; i < count; i++) {
    const row = rows[start + i] as number;
    scratch[i] = (target[row] as number) - (raw[row * outputs + classIndex] as number);
  }
  return median(scratch.subarray(0, count));
}

/** Median (mean of the two middle values for an even count); reorders `values`. */
export function median(values: Float64Array): number {
  const n = values.length;
  if (n === 0) return 0;
  const upper = select(values, n >> 1);
  if (n % 2 === 1) return upper;
  // After selection everything below index n/2 is <= upper: the lower middle is their maximum.
  let lower = -Infinity;
  for (let i = 0; i < n >> 1; i++) lower = Math.max(lower, values[i] as number);
  return (lower + upper) / 2;
}

/** Quickselect: the value of rank `k`, leaving smaller values before it and larger after. */
function select(values: Float64Array, k: number): number {
  let lo = 0;
  let hi = values.length - 1;
  while (hi > lo) {
    // Median-of-three pivot: deterministic and fine on sorted or constant input.
    const mid = (lo + hi) >>> 1;
    const a = values[lo] as number;
    const b = values[mid] as number;
    const c = values[hi] as number;
    const pivot = a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while ((values[i] as number) < pivot) i++;
      while ((values[j] as number) > pivot) j--;
      if (i <= j) {
        const t = values[i] as number;
        values[i] = values[j] as number;
        values[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return values[k] as number;
  }
  return values[k] as number;
}

function mean(values: Float64Array): number {
  let sum = 0;
  for (const value of values) sum += value;
  return values.length > 0 ? sum / values.length : 0;
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}
