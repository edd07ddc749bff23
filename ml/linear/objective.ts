/**
 * Losses of the three linear tasks, on raw scores, in numerically stable forms (softplus and
 * log-sum-exp never exponentiate a large positive number).
 */
import { sigmoid, softmaxInto } from '../activations';
import { addTransposed, type Design, designScores } from './design';
import type { Objective } from './optimize';

export type LinearLoss = 'squared' | 'logistic' | 'softmax';

/** log(1 + e^z) without overflow. */
export function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

/**
 * Mean loss of raw scores in the unit users read: mean squared error for regression, mean log loss
 * (natural log) for classification. `outputs` is 1 except for softmax.
 */
export function meanLoss(
  loss: LinearLoss,
  scores: Float64Array,
  target: Float64Array,
  outputs: number,
): number {
  const n = target.length;
  if (n === 0) return Number.NaN;
  let total = 0;
  if (loss === 'squared') {
    for (let i = 0; i < n; i++) {
      const r = (scores[i] as number) - (target[i] as number);
      total += r * r;
    }
  } else if (loss === 'logistic') {
    for (let i = 0; i < n; i++) {
      const z = scores[i] as number;
      total += softplus(z) - (target[i] as number) * z;
    }
  } else {
    const probabilities = new Float64Array(outputs);
    for (let i = 0; i < n; i++) {
      const row = scores.subarray(i * outputs, (i + 1) * outputs);
      total += softmaxInto(row, 0, outputs, probabilities, 0) - (row[target[i] as number] as number);
    }
  }
  return total / n;
}

/**
 * The penalised training objective divided by the row count, as a function of all parameters:
 *   squared:  (1/n) [ 1/2 sum (y - z)^2 + l2/2 |w|^2 ]  (same minimiser as sum (y - z)^2 + l2 |w|^2)
 *   logistic: (1/n) [ sum log-loss + l2/2 |w|^2 ]
 *   softmax:  (1/n) [ sum log-loss + l2/2 sum_k |w_k|^2 ]
 * Intercepts are not penalised. `lastLoss()` is the mean data loss (see meanLoss) at the last point
 * evaluated, which is the accepted point after a line search.
 */
export function penalisedObjective(
  design: Design,
  target: Float64Array,
  loss: LinearLoss,
  outputs: number,
  l2: number,
): { objective: Objective; lastLoss: () => number } {
  const n = design.rowCount;
  const stride = design.width + 1;
  const scores = new Float64Array(n * outputs);
  const residual = new Float64Array(n * outputs);
  let last = Number.NaN;
  const objective: Objective = (theta, grad) => {
    designScores(design, theta, outputs, scores);
    let total = 0;
    if (loss === 'squared') {
      for (let i = 0; i < n; i++) {
        const r = (scores[i] as number) - (target[i] as number);
        residual[i] = r;
        total += 0.5 * r * r;
      }
      last = (2 * total) / n;
    } else if (loss === 'logistic') {
      for (let i = 0; i < n; i++) {
        const z = scores[i] as number;
        const y = target[i] as number;
        total += softplus(z) - y * z;
        residual[i] = sigmoid(z) - y;
      }
      last = total / n;
    } else {
      for (let i = 0; i < n; i++) {
        const y = target[i] as number;
        total +=
          softmaxInto(scores, i * outputs, outputs, residual, i * outputs) -
          (scores[i * outputs + y] as number);
        residual[i * outputs + y] = (residual[i * outputs + y] as number) - 1;
      }
      last = total / n;
    }
    grad.fill(0);
    addTransposed(design, residual, outputs, grad);
    let penalty = 0;
    for (let o = 0; o < outputs; o++) {
      for (let j = 1; j < stride; j++) {
        const k = o * stride + j;
        const w = theta[k] as number;
        penalty += w * w;
        grad[k] = (grad[k] as number) + l2 * w;
      }
    }
    for (let k = 0; k < grad.length; k++) grad[k] = (grad[k] as number) / n;
    return (total + 0.5 * l2 * penalty) / n;
  };
  return { objective, lastLoss: () => last };
}
