/**
 * Evaluation metrics of the ML core. Scalar functions return NaN when a metric is undefined (R^2 of
 * a constant target, AUC with one class, MAPE with every target near 0); the `*Metrics` summaries
 * turn NaN into null, so they survive JSON.stringify unchanged and say "undefined" explicitly.
 *
 * Conventions shared with the trainers: binary scores are probabilities of class 1, multiclass
 * probabilities are rows x k, row-major; class ids are 0..k-1.
 */

type Values = ArrayLike<number>;

function checkLengths(a: Values, b: Values, what = 'predictions'): number {
  if (a.length !== b.length) throw new Error(`${a.length} targets but ${b.length} ${what}`);
  return a.length;
}

/** NaN (and infinities) as null, for JSON. */
function jsonNumber(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}

/** Root mean squared error; NaN on empty input. */
export function rmse(y: Values, yhat: Values): number {
  const n = checkLengths(y, yhat);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += ((yhat[i] as number) - (y[i] as number)) ** 2;
  return n === 0 ? Number.NaN : Math.sqrt(sum / n);
}

/** Mean absolute error; NaN on empty input. */
export function mae(y: Values, yhat: Values): number {
  const n = checkLengths(y, yhat);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.abs((yhat[i] as number) - (y[i] as number));
  return n === 0 ? Number.NaN : sum / n;
}

/** Mean signed error mean(yhat - y): positive when the model over-predicts. NaN on empty input. */
export function meanError(y: Values, yhat: Values): number {
  const n = checkLengths(y, yhat);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += (yhat[i] as number) - (y[i] as number);
  return n === 0 ? Number.NaN : sum / n;
}

export interface MapeResult {
  /** Mean of |yhat - y| / |y| over the rows used, as a fraction (0.1 = 10 %); NaN if none was used. */
  value: number;
  /** Rows used. */
  used: number;
  /** Rows ignored because |y| < epsilon: their percentage error is unbounded. */
  ignored: number;
}

/**
 * Mean absolute percentage error, ignoring rows whose target is (near) zero.
 *
 * @param epsilon rows with |y| < epsilon are ignored and counted in `ignored`. @default 1e-9
 */
export function mape(y: Values, yhat: Values, epsilon = 1e-9): MapeResult {
  const n = checkLengths(y, yhat);
  let sum = 0;
  let used = 0;
  for (let i = 0; i < n; i++) {
    const target = y[i] as number;
    if (Math.abs(target) < epsilon) continue;
    sum += Math.abs(((yhat[i] as number) - target) / target);
    used++;
  }
  return { value: used === 0 ? Number.NaN : sum / used, used, ignored: n - used };
}

/** Coefficient of determination 1 - SS_res / SS_tot; NaN when y is constant (or empty). */
export function r2(y: Values, yhat: Values): number {
  const n = checkLengths(y, yhat);
  let mean = 0;
  for (let i = 0; i < n; i++) mean += (y[i] as number) / n;
  let residual = 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    residual += ((y[i] as number) - (yhat[i] as number)) ** 2;
    total += ((y[i] as number) - mean) ** 2;
  }
  return total === 0 ? Number.NaN : 1 - residual / total;
}

export interface RegressionMetrics {
  count: number;
  rmse: number | null;
  mae: number | null;
  /** Fraction, over rows with |y| >= 1e-9. */
  mape: number | null;
  mapeIgnored: number;
  r2: number | null;
  /** mean(yhat - y). */
  bias: number | null;
}

/**
 * False for the entries of a metrics record that describe the evaluation rather than the model
 * (`count` rows scored, `mapeIgnored` rows MAPE skipped): every place that shows a model's metrics
 * leaves them out.
 */
export function isShownMetric(name: string): boolean {
  return name !== 'count' && name !== 'mapeIgnored';
}

/** All regression metrics at once, JSON-ready (undefined metrics are null). */
export function regressionMetrics(y: Values, yhat: Values): RegressionMetrics {
  const percentage = mape(y, yhat);
  return {
    count: checkLengths(y, yhat),
    rmse: jsonNumber(rmse(y, yhat)),
    mae: jsonNumber(mae(y, yhat)),
    mape: jsonNumber(percentage.value),
    mapeIgnored: percentage.ignored,
    r2: jsonNumber(r2(y, yhat)),
    bias: jsonNumber(meanError(y, yhat)),
  };
}

/**
 * The probability given to the true outcome is clipped to at least this, so a confident miss costs
 * -ln(1e-15) ~ 34.5 instead of Infinity. Clipping the true outcome's probability (rather than p to
 * [eps, 1 - eps]) keeps both classes symmetric: 1 - (1 - 1e-15) is not 1e-15 in floating point.
 */
export const LOG_LOSS_EPSILON = 1e-15;

/**
 * Mean log loss (natural log). With `p.length === y.length`, p is the probability of class 1 and y
 * is 0/1; with `p.length === y.length * k`, p holds k probabilities per row (row-major) and y the
 * class ids. NaN on empty input.
 *
 * @param k number of classes @default 2
 */
export function logLoss(y: Values, p: Values, k = 2): number {
  const n = y.length;
  const cost = (q: number) => -Math.log(Math.min(1, Math.max(LOG_LOSS_EPSILON, q)));
  let sum = 0;
  if (p.length === n) {
    for (let i = 0; i < n; i++) {
      const q = p[i] as number;
      sum += cost((y[i] as number) === 1 ? q : 1 - q);
    }
  } else if (p.length === n * k) {
    for (let i = 0; i < n; i++) sum += cost(p[i * k + (y[i] as number)] as number);
  } else {
    throw new Error(`${n} targets but ${p.length} probabilities (expected ${n} or ${n} x ${k})`);
  }
  return n === 0 ? Number.NaN : sum / n;
}

/** Share of rows where yPred equals yTrue; NaN on empty input. */
export function accuracy(yTrue: Values, yPred: Values): number {
  const n = checkLengths(yTrue, yPred);
  let hits = 0;
  for (let i = 0; i < n; i++) if (yTrue[i] === yPred[i]) hits++;
  return n === 0 ? Number.NaN : hits / n;
}

/**
 * Area under the ROC curve of binary y (1 = positive) and scores: the Mann-Whitney U statistic
 * divided by positives x negatives, with tied scores sharing their average rank (a tie counts 1/2).
 * NaN when one class is absent.
 */
export function auc(y: Values, score: Values): number {
  const n = checkLengths(y, score, 'scores');
  const order = Array.from({ length: n }, (_, i) => i).sort(
    (a, b) => (score[a] as number) - (score[b] as number),
  );
  let positives = 0;
  let rankSum = 0;
  for (let start = 0; start < n;) {
    let end = start + 1;
    while (end < n && score[order[end] as number] === score[order[start] as number]) end++;
    const averageRank = (start + 1 + end) / 2; // ranks start+1 .. end
    for (let i = start; i < end; i++) {
      if (y[order[i] as number] === 1) {
        positives++;
        rankSum += averageRank;
      }
    }
    start = end;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** Counts[t][p]: rows of true class t predicted as p, for class ids 0..k-1. */
export function confusionMatrix(yTrue: Values, yPred: Values, k: number): number[][] {
  const n = checkLengths(yTrue, yPred);
  const matrix = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let i = 0; i < n; i++) {
    const row = matrix[yTrue[i] as number];
    const p = yPred[i] as number;
    if (!row || !(p >= 0 && p < k && Number.isInteger(p))) {
      throw new Error(`Row ${i + 1} has class ${yTrue[i]} -> ${p}, outside 0..${k - 1}`);
    }
    row[p] = (row[p] as number) + 1;
  }
  return matrix;
}

/** Precision, recall and F1 of class c from a confusion matrix (0 when undefined, as scikit-learn). */
function classScores(matrix: number[][], c: number): { precision: number; recall: number; f1: number } {
  const tp = matrix[c]?.[c] ?? 0;
  let predicted = 0;
  let actual = 0;
  matrix.forEach((row, t) => {
    predicted += row[c] ?? 0;
    if (t === c) actual += row.reduce((sum, count) => sum + count, 0);
  });
  const precision = predicted === 0 ? 0 : tp / predicted;
  const recall = actual === 0 ? 0 : tp / actual;
  return {
    precision,
    recall,
    f1: precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall),
  };
}

/**
 * F1 score: for k = 2, of the positive class 1; for k > 2, macro F1, the unweighted mean over the
 * classes present in yTrue or yPred (a class absent from both has no defined F1).
 *
 * @param k number of classes @default 2
 */
export function f1(yTrue: Values, yPred: Values, k = 2): number {
  const matrix = confusionMatrix(yTrue, yPred, k);
  if (k === 2) return classScores(matrix, 1).f1;
  let sum = 0;
  let present = 0;
  for (let c = 0; c < k; c++) {
    const seen = (matrix[c]?.some((count) => count > 0) ?? false) || matrix.some((row) => (row[c] ?? 0) > 0);
    if (!seen) continue;
    sum += classScores(matrix, c).f1;
    present++;
  }
  return present === 0 ? Number.NaN : sum / present;
}

export interface BinaryMetrics {
  count: number;
  positives: number;
  threshold: number;
  logLoss: number | null;
  auc: number | null;
  accuracy: number | null;
  precision: number;
  recall: number;
  f1: number;
  /** Share of rows predicted positive (p >= threshold). */
  predictedPositiveRate: number | null;
  /** [[TN, FP], [FN, TP]]. */
  confusionMatrix: number[][];
}

/**
 * Binary metrics of y (0/1) and p (probability of class 1); a row is predicted positive when
 * p >= threshold.
 *
 * @param threshold @default 0.5
 */
export function binaryMetrics(y: Values, p: Values, threshold = 0.5): BinaryMetrics {
  const n = checkLengths(y, p, 'probabilities');
  const predicted = Float64Array.from({ length: n }, (_, i) => ((p[i] as number) >= threshold ? 1 : 0));
  const matrix = confusionMatrix(y, predicted, 2);
  const scores = classScores(matrix, 1);
  const positives = (matrix[1]?.[0] ?? 0) + (matrix[1]?.[1] ?? 0);
  const predictedPositive = (matrix[0]?.[1] ?? 0) + (matrix[1]?.[1] ?? 0);
  return {
    count: n,
    positives,
    threshold,
    logLoss: jsonNumber(logLoss(y, p)),
    auc: jsonNumber(auc(y, p)),
    accuracy: jsonNumber(accuracy(y, predicted)),
    precision: scores.precision,
    recall: scores.recall,
    f1: scores.f1,
    predictedPositiveRate: jsonNumber(predictedPositive / n),
    confusionMatrix: matrix,
  };
}

export interface MulticlassMetrics {
  count: number;
  logLoss: number | null;
  accuracy: number | null;
  macroF1: number | null;
  confusionMatrix: number[][];
}

/** The predicted class of each row: the arg max of its probabilities (first on ties). */
export function argmaxRows(probs: Values, k: number): Float64Array {
  const n = Math.floor(probs.length / k);
  const predicted = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if ((probs[i * k + c] as number) > (probs[i * k + best] as number)) best = c;
    predicted[i] = best;
  }
  return predicted;
}

/** Multiclass metrics of class ids y and row-major probabilities (rows x k). */
export function multiclassMetrics(y: Values, probs: Values, k: number): MulticlassMetrics {
  if (probs.length !== y.length * k) {
    throw new Error(`${y.length} targets but ${probs.length} probabilities (expected ${y.length} x ${k})`);
  }
  const predicted = argmaxRows(probs, k);
  return {
    count: y.length,
    logLoss: jsonNumber(logLoss(y, probs, k)),
    accuracy: jsonNumber(accuracy(y, predicted)),
    macroF1: jsonNumber(f1(y, predicted, k)),
    confusionMatrix: confusionMatrix(y, predicted, k),
  };
}
