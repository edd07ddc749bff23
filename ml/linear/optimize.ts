/**
 * Numerical kernels of the linear trainer: a Cholesky solve for the normal equations and Newton
 * steps, and L-BFGS for problems too wide (or, for softmax, too coupled) for a dense Hessian.
 */

/** Cholesky factor L (lower, row-major) of a symmetric matrix, or null if it is not positive definite. */
function choleskyFactor(matrix: Float64Array, dim: number, jitter: number): Float64Array | null {
  const l = new Float64Array(dim * dim);
  for (let i = 0; i < dim; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = matrix[i * dim + j] as number;
      if (i === j) sum += jitter;
      for (let k = 0; k < j; k++) sum -= (l[i * dim + k] as number) * (l[j * dim + k] as number);
      if (i === j) {
        if (!(sum > 0) || !Number.isFinite(sum)) return null;
        l[i * dim + i] = Math.sqrt(sum);
      } else {
        l[i * dim + j] = sum / (l[j * dim + j] as number);
      }
    }
  }
  return l;
}

/**
 * Solves A x = b for a symmetric positive (semi-)definite A. A semi-definite A (a zero column, a
 * one-hot block collinear with the intercept and no L2) gets a growing diagonal jitter until the
 * factorisation succeeds: that picks a small-norm solution among the equivalent ones.
 *
 * @throws when A is not positive definite even with a jitter of 1e-2 x its largest diagonal entry
 */
export function solveSymmetric(matrix: Float64Array, dim: number, rhs: Float64Array): Float64Array {
  let maxDiagonal = 0;
  for (let i = 0; i < dim; i++) maxDiagonal = Math.max(maxDiagonal, Math.abs(matrix[i * dim + i] as number));
  const unit = maxDiagonal > 0 ? maxDiagonal : 1;
  let l = choleskyFactor(matrix, dim, 0);
  for (let jitter = 1e-12 * unit; !l && jitter <= 1e-2 * unit; jitter *= 100) {
    l = choleskyFactor(matrix, dim, jitter);
  }
  if (!l)
    throw new Error('The normal equations are not positive definite (NaN or infinite values in the data?)');
  const y = new Float64Array(dim);
  for (let i = 0; i < dim; i++) {
    let sum = rhs[i] as number;
    for (let k = 0; k < i; k++) sum -= (l[i * dim + k] as number) * (y[k] as number);
    y[i] = sum / (l[i * dim + i] as number);
  }
  const x = new Float64Array(dim);
  for (let i = dim - 1; i >= 0; i--) {
    let sum = y[i] as number;
    for (let k = i + 1; k < dim; k++) sum -= (l[k * dim + i] as number) * (x[k] as number);
    x[i] = sum / (l[i * dim + i] as number);
  }
  return x;
}

export function dot(a: Float64Array, b: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] as number) * (b[i] as number);
  return sum;
}

export function maxAbs(a: Float64Array): number {
  let max = 0;
  for (const value of a) max = Math.max(max, Math.abs(value));
  return max;
}

/** Objective value at x, writing its gradient into `grad`. */
export type Objective = (x: Float64Array, grad: Float64Array) => number;

export interface MinimizeResult {
  x: Float64Array;
  value: number;
  iterations: number;
  converged: boolean;
}

export interface LbfgsOptions {
  maxIterations: number;
  /** Converged when the largest gradient component is at most this. */
  tolerance: number;
  /** Number of correction pairs kept. */
  memory?: number;
  onIteration?: (iteration: number, x: Float64Array, value: number) => void;
}

/**
 * Minimises a smooth convex objective by L-BFGS with a backtracking (Armijo) line search. Updates
 * whose curvature s.y is not positive are skipped, which keeps the implicit Hessian positive definite.
 */
export function minimizeLbfgs(objective: Objective, x0: Float64Array, options: LbfgsOptions): MinimizeResult {
  const memory = options.memory ?? 10;
  const dim = x0.length;
  let x = Float64Array.from(x0);
  let grad = new Float64Array(dim);
  let value = objective(x, grad);
  const sHistory: Float64Array[] = [];
  const yHistory: Float64Array[] = [];
  const rhoHistory: number[] = [];
  const alpha = new Float64Array(memory);
  const direction = new Float64Array(dim);
  let iterations = 0;
  let converged = maxAbs(grad) <= options.tolerance;
  while (!converged && iterations < options.maxIterations) {
    // Two-loop recursion: direction = -H grad.
    direction.set(grad);
    for (let m = sHistory.length - 1; m >= 0; m--) {
      const a = (rhoHistory[m] as number) * dot(sHistory[m] as Float64Array, direction);
      alpha[m] = a;
      const yM = yHistory[m] as Float64Array;
      for (let i = 0; i < dim; i++) direction[i] = (direction[i] as number) - a * (yM[i] as number);
    }
    const last = sHistory.length - 1;
    const gamma =
      last >= 0
        ? 1 /
          ((rhoHistory[last] as number) * dot(yHistory[last] as Float64Array, yHistory[last] as Float64Array))
        : 1 / Math.max(1, Math.sqrt(dot(grad, grad)));
    for (let i = 0; i < dim; i++) direction[i] = (direction[i] as number) * gamma;
    for (let m = 0; m < sHistory.length; m++) {
      const b = (rhoHistory[m] as number) * dot(yHistory[m] as Float64Array, direction);
      const sM = sHistory[m] as Float64Array;
      const a = alpha[m] as number;
      for (let i = 0; i < dim; i++) direction[i] = (direction[i] as number) + (a - b) * (sM[i] as number);
    }
    for (let i = 0; i < dim; i++) direction[i] = -(direction[i] as number);
    let slope = dot(grad, direction);
    if (!(slope < 0)) {
      // Not a descent direction (should not happen on a convex objective): restart from steepest descent.
      sHistory.length = yHistory.length = rhoHistory.length = 0;
      for (let i = 0; i < dim; i++) direction[i] = -(grad[i] as number) * gamma;
      slope = dot(grad, direction);
    }
    let step = 1;
    const next = new Float64Array(dim);
    const nextGrad = new Float64Array(dim);
    let nextValue = Infinity;
    for (let tries = 0; tries < 60; tries++) {
      for (let i = 0; i < dim; i++) next[i] = (x[i] as number) + step * (direction[i] as number);
      nextValue = objective(next, nextGrad);
      if (nextValue <= value + 1e-4 * step * slope) break;
      // Minimiser of the quadratic through value, slope and nextValue, kept within [0.1, 0.5] x step.
      const curvature = nextValue - value - slope * step;
      const trial =
        Number.isFinite(curvature) && curvature > 0 ? (-slope * step * step) / (2 * curvature) : 0;
      step = Math.min(0.5 * step, Math.max(0.1 * step, trial));
    }
    iterations++;
    if (!(nextValue <= value)) break; // the line search found no decrease: numerically at the optimum
    const s = new Float64Array(dim);
    const y = new Float64Array(dim);
    for (let i = 0; i < dim; i++) {
      s[i] = (next[i] as number) - (x[i] as number);
      y[i] = (nextGrad[i] as number) - (grad[i] as number);
    }
    const sy = dot(s, y);
    if (sy > 1e-12 * Math.sqrt(dot(s, s) * dot(y, y))) {
      if (sHistory.length === memory) {
        sHistory.shift();
        yHistory.shift();
        rhoHistory.shift();
      }
      sHistory.push(s);
      yHistory.push(y);
      rhoHistory.push(1 / sy);
    }
    const decrease = value - nextValue;
    x = next;
    grad = nextGrad;
    value = nextValue;
    options.onIteration?.(iterations, x, value);
    converged = maxAbs(grad) <= options.tolerance || decrease <= 1e-15 * Math.max(1, Math.abs(value));
  }
  return { x, value, iterations, converged };
}
