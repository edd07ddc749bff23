/** Options of the gradient-boosted-trees trainer, their defaults and their validation. */
import { availableParallelism } from 'node:os';
import type { GbdtLoss, ProgressCallback, TaskKind } from '../model';

export type GrowthPolicy = 'leafwise' | 'depthwise';

export interface GbdtOptions {
  /**
   * What to minimise. `absolute_error` refits each leaf to the median residual (robust to outliers).
   * @default 'squared_error' for regression, 'binary_logistic' for binary, 'multiclass_softmax' for multiclass
   */
  loss?: GbdtLoss;
  /**
   * Boosting rounds (a multiclass round grows one tree per class).
   * @default 100
   */
  iterations?: number;
  /**
   * Shrinkage applied to every leaf value (already multiplied into the stored leaf values).
   * @default 0.1
   */
  learningRate?: number;
  /**
   * Most leaves per tree.
   * @default 31
   */
  maxLeaves?: number;
  /**
   * Deepest split level of a tree (the root is depth 0, a depth-1 tree has 2 leaves); -1 is unlimited.
   * @default -1
   */
  maxDepth?: number;
  /**
   * 'leafwise' splits the leaf with the best gain next (LightGBM); 'depthwise' splits level by level (XGBoost).
   * @default 'leafwise'
   */
  growth?: GrowthPolicy;
  /**
   * L2 regularisation (lambda) on leaf values.
   * @default DEFAULT_L2 of the loss: 0 for squared and absolute error, 1 for logistic and softmax
   */
  l2?: number;
  /**
   * Whether a node may send any set of a categorical feature's categories left (categorical.ts),
   * not only those below a code. Off, categories split like numbers, by their codes' order.
   * @default true
   */
  categorySplits?: boolean;
  /**
   * Fewest training rows in a leaf.
   * @default 20
   */
  minSamplesLeaf?: number;
  /**
   * Smallest sum of hessians in a leaf (min_child_weight).
   * @default 1e-3
   */
  minHessianLeaf?: number;
  /**
   * Smallest gain, G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ), a split must exceed.
   * @default 0
   */
  minGain?: number;
  /**
   * Most histogram bins per feature, including the bin for missing values (at most 65536).
   * @default 255
   */
  maxBins?: number;
  /**
   * Fraction of training rows (drawn anew each iteration) used to grow that iteration's trees.
   * @default 1
   */
  rowSubsample?: number;
  /**
   * Fraction of features (drawn anew for each tree) a tree may split on.
   * @default 1
   */
  columnSubsample?: number;
  /**
   * Stop when the validation loss has not improved for this many iterations and keep only the
   * iterations up to the best one. Needs a validation set.
   * @default undefined (no early stopping)
   */
  earlyStoppingRounds?: number;
  /**
   * Seed of every random choice (quantile sample, row and column subsampling).
   * @default 42
   */
  seed?: number;
  /**
   * Called after each iteration with the training loss and, when there is a validation set, its loss.
   * Losses are the mean squared error, mean absolute error, log loss or multiclass cross-entropy.
   * @default undefined
   */
  onProgress?: ProgressCallback;
  /**
   * Threads building histograms and partitioning rows (1 = no worker threads). Workers start only for
   * at least `parallelMinRows` training rows; the model is the same for any thread count.
   * @default the machine's available parallelism, at most 4
   */
  threads?: number;
  /**
   * Fewest training rows for which worker threads are started; smaller data trains on one thread
   * because starting a worker costs tens of milliseconds.
   * @default 50000
   */
  parallelMinRows?: number;
}

export interface ResolvedOptions {
  loss: GbdtLoss;
  iterations: number;
  learningRate: number;
  maxLeaves: number;
  maxDepth: number;
  growth: GrowthPolicy;
  l2: number;
  categorySplits: boolean;
  minSamplesLeaf: number;
  minHessianLeaf: number;
  minGain: number;
  maxBins: number;
  rowSubsample: number;
  columnSubsample: number;
  earlyStoppingRounds: number | undefined;
  seed: number;
  onProgress: ProgressCallback | undefined;
  threads: number;
  parallelMinRows: number;
}

/**
 * L2 by loss when none is given. Squared and absolute error have a hessian of 1 a row, so a leaf's
 * hessian sum is its row count and its value needs no shrinking (LightGBM's lambda_l2 0). Logistic
 * and softmax hessians p(1-p) vanish in nearly pure leaves, where a Newton step without L2 would
 * shoot off: 1, as XGBoost's lambda. Measured with `npm run bench -- accuracy`.
 */
export const DEFAULT_L2: Record<GbdtLoss, number> = {
  squared_error: 0,
  absolute_error: 0,
  binary_logistic: 1,
  multiclass_softmax: 1,
};

/** The losses that fit each task. */
export const LOSSES_BY_TASK: Record<TaskKind, readonly GbdtLoss[]> = {
  regression: ['squared_error', 'absolute_error'],
  binary: ['binary_logistic'],
  multiclass: ['multiclass_softmax'],
};

/** Each task's loss when none is given. */
export const DEFAULT_LOSS: Record<TaskKind, GbdtLoss> = {
  regression: 'squared_error',
  binary: 'binary_logistic',
  multiclass: 'multiclass_softmax',
};

/** Fills in defaults and rejects values that cannot work, naming the option and the accepted range. */
export function resolveOptions(options: GbdtOptions, task: TaskKind): ResolvedOptions {
  const allowed = LOSSES_BY_TASK[task];
  const loss = options.loss ?? DEFAULT_LOSS[task];
  if (!allowed.includes(loss)) {
    throw new Error(`Loss "${loss}" does not fit a ${task} task; use one of: ${allowed.join(', ')}`);
  }
  const resolved: ResolvedOptions = {
    loss,
    iterations: options.iterations ?? 100,
    learningRate: options.learningRate ?? 0.1,
    maxLeaves: options.maxLeaves ?? 31,
    maxDepth: options.maxDepth ?? -1,
    growth: options.growth ?? 'leafwise',
    l2: options.l2 ?? DEFAULT_L2[loss],
    categorySplits: options.categorySplits ?? true,
    minSamplesLeaf: options.minSamplesLeaf ?? 20,
    minHessianLeaf: options.minHessianLeaf ?? 1e-3,
    minGain: options.minGain ?? 0,
    maxBins: options.maxBins ?? 255,
    rowSubsample: options.rowSubsample ?? 1,
    columnSubsample: options.columnSubsample ?? 1,
    earlyStoppingRounds: options.earlyStoppingRounds,
    seed: options.seed ?? 42,
    onProgress: options.onProgress,
    threads: options.threads ?? Math.min(4, availableParallelism()),
    parallelMinRows: options.parallelMinRows ?? 50_000,
  };
  const problems: string[] = [];
  const check = (ok: boolean, message: string) => {
    if (!ok) problems.push(message);
  };
  const isInt = Number.isInteger;
  check(isInt(resolved.iterations) && resolved.iterations >= 0, 'iterations must be an integer >= 0');
  check(resolved.learningRate > 0, 'learningRate must be > 0');
  check(isInt(resolved.maxLeaves) && resolved.maxLeaves >= 2, 'maxLeaves must be an integer >= 2');
  check(isInt(resolved.maxDepth) && resolved.maxDepth >= -1, 'maxDepth must be -1 or an integer >= 0');
  check(
    (['leafwise', 'depthwise'] as string[]).includes(resolved.growth),
    'growth must be leafwise or depthwise',
  );
  check(resolved.l2 >= 0, 'l2 must be >= 0');
  check(
    isInt(resolved.minSamplesLeaf) && resolved.minSamplesLeaf >= 1,
    'minSamplesLeaf must be an integer >= 1',
  );
  check(resolved.minHessianLeaf >= 0, 'minHessianLeaf must be >= 0');
  check(resolved.minGain >= 0, 'minGain must be >= 0');
  check(
    isInt(resolved.maxBins) && resolved.maxBins >= 2 && resolved.maxBins <= 65536,
    'maxBins must be an integer in [2, 65536]',
  );
  check(resolved.rowSubsample > 0 && resolved.rowSubsample <= 1, 'rowSubsample must be in (0, 1]');
  check(resolved.columnSubsample > 0 && resolved.columnSubsample <= 1, 'columnSubsample must be in (0, 1]');
  check(
    resolved.earlyStoppingRounds === undefined ||
      (isInt(resolved.earlyStoppingRounds) && resolved.earlyStoppingRounds >= 1),
    'earlyStoppingRounds must be an integer >= 1',
  );
  check(Number.isFinite(resolved.seed), 'seed must be a finite number');
  check(isInt(resolved.threads) && resolved.threads >= 1, 'threads must be an integer >= 1');
  check(resolved.parallelMinRows >= 0, 'parallelMinRows must be >= 0');
  if (problems.length > 0) throw new Error(`Invalid GBDT options: ${problems.join('; ')}`);
  return resolved;
}
