/**
 * The gradient-boosted-trees trainer: bins the features once, then each iteration computes gradients
 * of the loss, grows one tree per output on histograms, sets leaf values (Newton step, or the median
 * residual for absolute error) and updates the scores, with optional row/column subsampling and
 * early stopping on a validation set.
 */
import type { EncodedFeatures, TrainingData } from '../dataset';
import type { GbdtModel, Tree } from '../model';
import { binFeatures, splitThreshold, type BinnedData, type FeatureBinning } from './binning';
import { TreeGrower, type GrownTree, valueOfNodes } from './grow';
import { type LeafOfRows, lossFunction, medianResidual } from './losses';
import { resolveOptions, type GbdtOptions } from './options';
import { addTreeScores, toFloat32 } from './predict';
import { bernoulliSample, chooseSubset, streamFor } from '../random';
import { leafOfRow } from './rows';

export interface GbdtTrainingResult {
  model: GbdtModel;
  /**
   * Raw training scores (n*k) as accumulated during training from the rows' bins, after the last
   * iteration grown (trees dropped by early stopping included).
   */
  trainRaw: Float64Array;
  /** Threads that built histograms (1 when worker threads were not used). */
  threads: number;
}

/**
 * Trains gradient-boosted trees.
 *
 * @param data training features and target (from `prepareTrainingData`)
 * @param options see {@link GbdtOptions}; every option has a default
 * @param validation rows to report the validation loss on and to early-stop with; encoded with the
 *   training data's features
 * @throws when the options are invalid, the loss does not fit the task, or validation features differ
 */
export function trainGbdt(
  data: TrainingData,
  options: GbdtOptions = {},
  validation?: TrainingData,
): GbdtModel {
  return trainGbdtDetailed(data, options, validation).model;
}

/** {@link trainGbdt}, also returning the training scores and the thread count (for checks and benchmarks). */
export function trainGbdtDetailed(
  data: TrainingData,
  options: GbdtOptions = {},
  validation?: TrainingData,
): GbdtTrainingResult {
  const opts = resolveOptions(options, data.task);
  checkData(data, 'training');
  if (validation) {
    checkData(validation, 'validation');
    checkSameFeatures(data, validation);
    if ((data.classLabels ?? []).join('\u0000') !== (validation.classLabels ?? []).join('\u0000')) {
      throw new Error('The validation class labels differ from the training class labels');
    }
  }
  if (opts.earlyStoppingRounds !== undefined && !validation) {
    throw new Error('earlyStoppingRounds needs a validation set: pass one as the third argument');
  }
  const loss = lossFunction(opts.loss);
  const k = opts.loss === 'multiclass_softmax' ? (data.classLabels?.length ?? 0) : 1;
  if (k < 1 || (opts.loss === 'multiclass_softmax' && k < 2)) {
    throw new Error('multiclass_softmax needs the class labels of at least 2 classes');
  }
  const n = data.rowCount;
  const featureCount = data.features.length;
  const threads = n >= opts.parallelMinRows ? opts.threads : 1;
  const binned = binFeatures(data, opts.maxBins, opts.seed);
  const sampleBuffer = opts.rowSubsample < 1 ? new Uint32Array(n) : undefined;
  // Squared error, one output, every row in every tree: the grower keeps the scores and makes each
  // tree's gradients in its kernel.
  const residualTarget = loss.gradientIsResidual && k === 1 && !sampleBuffer ? data.target : null;
  const grower = new TreeGrower(binned, opts, loss.unitHessian, threads, {}, residualTarget);
  try {
    const baseScore = loss.baseScore(data.target, k);
    const residual = grower.residualScores;
    const raw = residual ? residual.raw.fill(baseScore[0] as number) : initialScores(n, baseScore);
    const validationRaw = validation ? initialScores(validation.rowCount, baseScore) : undefined;
    const validationColumns = validation ? toFloat32(validation.columns) : [];
    // One output on every row: the gradients go straight into the grower's arrays (no copy per tree).
    const inGrower = k === 1 && !sampleBuffer ? grower.gradientArrays : null;
    const grad = residual
      ? [residual.grad]
      : inGrower
        ? [inGrower.grad]
        : Array.from({ length: k }, () => new Float64Array(n));
    const hess = inGrower
      ? [inGrower.hess]
      : Array.from({ length: k }, () => new Float64Array(loss.unitHessian ? 0 : n));
    const medianScratch = opts.loss === 'absolute_error' ? new Float64Array(n) : undefined;
    const rowRandom = streamFor(opts.seed, 2);
    const columnRandom = streamFor(opts.seed, 3);
    const allFeatures = Array.from({ length: featureCount }, (_, f) => f);
    const columnsPerTree = Math.max(1, Math.round(opts.columnSubsample * featureCount));

    // A residual loss on every row: with every feature too, each root can be carried to the next tree.
    const carryRoots = residualTarget !== null && columnsPerTree === featureCount;
    const trees: Tree[] = [];
    const treeGains: Float64Array[] = [];
    let grown = 0;
    let bestIterations = 0;
    let bestLoss = Infinity;
    // Whether the last iteration's pass over the scores made the gradients of the new ones already.
    let gradientsReady = false;
    for (let iteration = 0; iteration < opts.iterations; iteration++) {
      if (!gradientsReady) loss.gradients(data.target, raw, grad, hess);
      gradientsReady = false;
      // The training loss of the scores after this iteration, when its pass over the scores gave it.
      let trainLoss: number | undefined;
      const sample = sampleBuffer
        ? sampleBuffer.subarray(0, bernoulliSample(n, opts.rowSubsample, rowRandom, sampleBuffer))
        : null;
      for (let c = 0; c < k; c++) {
        const features =
          columnsPerTree < featureCount
            ? chooseSubset(allFeatures, columnsPerTree, columnRandom)
            : allFeatures;
        const tree = grower.grow(grad[c] as Float64Array, hess[c] as Float64Array, sample, features);
        const values = tree.leaves.map((leaf) => {
          const step = medianScratch
            ? medianResidual(grower.rows, leaf.start, leaf.count, data.target, raw, k, c, medianScratch)
            : leaf.hess + opts.l2 > 0
              ? -leaf.grad / (leaf.hess + opts.l2)
              : 0;
          return step * opts.learningRate;
        });
        const model = toModelTree(tree, binned, values, c);
        // The next tree on every row over every feature starts from this tree's leaf histograms.
        if (carryRoots && iteration + 1 < opts.iterations) grower.carryRoot(tree, values);
        if (residual) {
          // Its scores, the next iteration's gradients and the loss in one pass, in the kernel.
          trainLoss = grower.addTreeToResiduals(tree, values);
          gradientsReady = true;
        } else if (k === 1 && sample === null && loss.addTreeThenGradients) {
          // One tree on every row: its scores, the next iteration's gradients and the loss in one pass.
          trainLoss = loss.addTreeThenGradients(
            data.target,
            raw,
            grower.leafOfTrainingRows(tree),
            Float64Array.from(values),
            grad[0] as Float64Array,
            hess[0] as Float64Array,
          );
          gradientsReady = true;
        } else {
          const leafOfRows = sample === null ? grower.leafOfTrainingRows(tree) : null;
          addTrainingScores(tree, values, leafOfRows, binned, raw, k, c);
        }
        if (validation && validationRaw)
          addTreeScores(model, validationColumns, validation.rowCount, validationRaw, k);
        trees.push(model);
        const gains = new Float64Array(featureCount);
        tree.feature.forEach((feature, node) => {
          if (feature >= 0) gains[feature] = (gains[feature] as number) + (tree.gain[node] as number);
        });
        treeGains.push(gains);
      }
      grown = iteration + 1;
      const validationLoss =
        validation && validationRaw ? loss.loss(validation.target, validationRaw, k) : undefined;
      // The training loss is a full pass over the rows: only for someone listening.
      if (opts.onProgress) {
        opts.onProgress({
          iteration: grown,
          totalIterations: opts.iterations,
          trainLoss: trainLoss ?? loss.loss(data.target, raw, k),
          ...(validationLoss === undefined ? {} : { validationLoss }),
        });
      }
      if (opts.earlyStoppingRounds !== undefined && validationLoss !== undefined) {
        if (validationLoss < bestLoss) {
          bestLoss = validationLoss;
          bestIterations = grown;
        } else if (grown - bestIterations >= opts.earlyStoppingRounds) break;
      }
    }
    const kept = opts.earlyStoppingRounds !== undefined ? bestIterations : grown;
    const featureImportance: Record<string, number> = {};
    data.features.forEach((feature, f) => {
      let total = 0;
      for (let t = 0; t < kept * k; t++) total += (treeGains[t] as Float64Array)[f] as number;
      featureImportance[feature.name] = total;
    });
    const model: GbdtModel = {
      type: 'gbdt',
      task: data.task,
      loss: opts.loss,
      features: data.features.map((feature) =>
        feature.kind === 'categorical' ? { ...feature, categories: [...feature.categories] } : { ...feature },
      ),
      baseScore,
      trees: trees.slice(0, kept * k),
      ...(data.classLabels ? { classLabels: [...data.classLabels] } : {}),
      featureImportance,
      iterations: kept,
    };
    // A copy: the kernel's memory is the grower's, not the caller's to keep alive.
    return { model, trainRaw: residual ? new Float64Array(raw) : raw, threads: grower.threadCount };
  } finally {
    grower.close();
  }
}

function initialScores(n: number, baseScore: readonly number[]): Float64Array {
  const k = baseScore.length;
  const raw = new Float64Array(n * k);
  for (let row = 0; row < n; row++) {
    for (let c = 0; c < k; c++) raw[row * k + c] = baseScore[c] as number;
  }
  return raw;
}

/** The model's tree: thresholds in raw (float32) feature space, leaf values with the learning rate. */
function toModelTree(tree: GrownTree, binned: BinnedData, leafValues: number[], classIndex: number): Tree {
  const value = Array.from(valueOfNodes(tree, leafValues));
  // A category split's bins are its codes (categoryBins): the codes going left, ascending.
  const leftCodes = (bins: Uint8Array | null) =>
    bins ? Array.from(bins.keys()).filter((code) => bins[code] === 1) : null;
  const hasCategorySplits = tree.leftBins.some((bins) => bins !== null);
  return {
    feature: [...tree.feature],
    threshold: tree.feature.map((feature, node) =>
      feature < 0 || tree.leftBins[node]
        ? 0
        : splitThreshold(binned.features[feature] as FeatureBinning, tree.bin[node] as number),
    ),
    missingGoesLeft: tree.missingLeft.map((left, node) =>
      (tree.feature[node] as number) >= 0 && left ? 1 : 0,
    ),
    left: [...tree.left],
    right: [...tree.right],
    value,
    ...(hasCategorySplits ? { leftCategories: tree.leftBins.map(leftCodes) } : {}),
    classIndex,
  };
}

/**
 * Adds a tree's leaf values to the training scores: from each training row's leaf when the tree grew
 * on every row, else by routing every row by its bins (rows left out of the sample are in no leaf).
 */
function addTrainingScores(
  tree: GrownTree,
  leafValues: number[],
  leafOfRows: LeafOfRows | null,
  binned: BinnedData,
  raw: Float64Array,
  k: number,
  c: number,
): void {
  if (leafOfRows) {
    addLeafValues(leafOfRows, Float64Array.from(leafValues), raw, k, c);
    return;
  }
  const valueOfNode = valueOfNodes(tree, leafValues);
  for (let row = 0; row < binned.rowCount; row++) {
    const at = row * k + c;
    raw[at] = (raw[at] as number) + (valueOfNode[leafOfRow(tree, binned, row)] as number);
  }
}

function addLeafValues(
  leafOfRows: LeafOfRows,
  values: Float64Array,
  raw: Float64Array,
  k: number,
  c: number,
): void {
  for (let row = 0; row < leafOfRows.length; row++) {
    const at = row * k + c;
    raw[at] = (raw[at] as number) + (values[leafOfRows[row] as number] as number);
  }
}

function checkData(data: TrainingData, what: string): void {
  if (data.rowCount < 1) throw new Error(`The ${what} data has no rows`);
  if (data.columns.length !== data.features.length) {
    throw new Error(
      `The ${what} data has ${data.columns.length} columns for ${data.features.length} features`,
    );
  }
  for (const column of [...data.columns, data.target]) {
    if (column.length !== data.rowCount) {
      throw new Error(`The ${what} data has a column of ${column.length} rows, not ${data.rowCount}`);
    }
  }
}

/** Validation codes must mean the same categories as training codes. */
function checkSameFeatures(data: EncodedFeatures, validation: EncodedFeatures): void {
  const same =
    data.features.length === validation.features.length &&
    data.features.every((feature, i) => {
      const other = validation.features[i];
      if (!other || other.name !== feature.name || other.kind !== feature.kind) return false;
      return (
        feature.kind !== 'categorical' ||
        (other.kind === 'categorical' &&
          other.categories.join('\u0000') === feature.categories.join('\u0000'))
      );
    });
  if (!same) {
    throw new Error(
      "The validation features differ from the training features: encode the validation table with the training data's features",
    );
  }
}
