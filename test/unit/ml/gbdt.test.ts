import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { prepareTrainingData, type EncodedFeatures, type TrainingData } from '../../../ml/dataset';
import {
  predictGbdt,
  predictGbdtRaw,
  predictGbdtTable,
  trainGbdt,
  trainGbdtDetailed,
  type GbdtOptions,
} from '../../../ml/gbdt';
import { binFeatures } from '../../../ml/gbdt/binning';
import { TreeGrower, type GrownTree, type GrowerTuning, type GrowParams } from '../../../ml/gbdt/grow';
import { leafOfRow } from '../../../ml/gbdt/rows';
import { Random } from '../../../ml/random';
import type { GbdtModel, TaskKind, Tree, TrainingProgress } from '../../../ml/model';
import { Table, categoricalFromLabels, numericFromValues } from '../../../ml/table';

/** Value i of an array (NaN past its end: lets strict indexing stay assertion-free). */
function get(values: ArrayLike<number>, i: number): number {
  return values[i] ?? Number.NaN;
}

/** Training data of `rows` rows: `draw(f)` gives feature f's value, `target(x)` the target from a row's getter. */
function generate(
  rows: number,
  features: number,
  draw: (feature: number) => number,
  target: (x: (feature: number) => number) => number,
  task: TaskKind = 'regression',
): TrainingData {
  const columns = Array.from({ length: features }, () => new Float64Array(rows));
  const values = new Float64Array(rows);
  const row = new Float64Array(features);
  const x = (feature: number) => get(row, feature);
  for (let i = 0; i < rows; i++) {
    for (let f = 0; f < features; f++) {
      row[f] = draw(f);
      (columns[f] as Float64Array)[i] = get(row, f);
    }
    values[i] = target(x);
  }
  return dataOf(columns, values, task);
}

function dataOf(columns: Float64Array[], target: Float64Array, task: TaskKind = 'regression'): TrainingData {
  const classes = task === 'regression' ? undefined : [...new Set(target)].sort((a, b) => a - b).map(String);
  return {
    features: columns.map((_, f) => ({ kind: 'numeric', name: `x${f}` })),
    columns,
    rowCount: target.length,
    task,
    target,
    ...(classes ? { classLabels: classes } : {}),
  };
}

/** Rows [start, end) of generated data. */
function rowsOf(data: TrainingData, start: number, end: number): TrainingData {
  return {
    ...data,
    columns: data.columns.map((column) => column.slice(start, end)),
    target: data.target.slice(start, end),
    rowCount: end - start,
  };
}

function gaussian(random: Random): number {
  return Math.sqrt(-2 * Math.log(1 - random.next())) * Math.cos(2 * Math.PI * random.next());
}

function rmse(actual: Float64Array, predicted: Float64Array): number {
  let sum = 0;
  actual.forEach((value, i) => (sum += (value - get(predicted, i)) ** 2));
  return Math.sqrt(sum / actual.length);
}

function meanAbsoluteError(actual: Float64Array, predicted: Float64Array): number {
  let sum = 0;
  actual.forEach((value, i) => (sum += Math.abs(value - get(predicted, i))));
  return sum / actual.length;
}

/** Fraction of rows whose most probable class is the target (probabilities n*k, or P(class 1) when k = 1). */
function accuracy(target: Float64Array, probabilities: Float64Array, k: number): number {
  let correct = 0;
  target.forEach((label, row) => {
    let predicted = 0;
    if (k === 1) predicted = get(probabilities, row) >= 0.5 ? 1 : 0;
    for (let c = 1; k > 1 && c < k; c++) {
      if (get(probabilities, row * k + c) > get(probabilities, row * k + predicted)) predicted = c;
    }
    if (predicted === label) correct++;
  });
  return correct / target.length;
}

function leafDepths(tree: Tree): number[] {
  const depths: number[] = [];
  const visit = (node: number, depth: number) => {
    if (get(tree.feature, node) < 0) depths.push(depth);
    else {
      visit(get(tree.left, node), depth + 1);
      visit(get(tree.right, node), depth + 1);
    }
  };
  visit(0, 0);
  return depths;
}

/** A grower's parameters: 15 leaves grown leaf-wise, no L2, 20 rows a leaf; `overrides` on top. */
function growParams(overrides: Partial<GrowParams> = {}): GrowParams {
  return {
    maxLeaves: 15,
    maxDepth: -1,
    growth: 'leafwise',
    l2: 0,
    minSamplesLeaf: 20,
    minHessianLeaf: 1e-3,
    minGain: 0,
    categorySplits: true,
    ...overrides,
  };
}

function single(values: number[]): TrainingData {
  return dataOf([Float64Array.from(values)], Float64Array.from(values));
}

describe('trainGbdt', () => {
  it('fits a step function exactly', () => {
    const random = new Random(1);
    // 100 distinct values: each gets a bin of its own, so the steps are found exactly.
    const data = generate(
      600,
      1,
      () => random.below(100) / 100,
      (x) => (x(0) < 0.3 ? 1 : x(0) < 0.7 ? 5 : 2),
    );
    const model = trainGbdt(data, { iterations: 1, learningRate: 1, l2: 0, minSamplesLeaf: 1 });
    expect(model.trees).toHaveLength(1);
    const predicted = predictGbdt(model, data);
    data.target.forEach((value, i) => expect(get(predicted, i)).toBeCloseTo(value, 9));
    const grid = predictGbdt(model, single([0.05, 0.29, 0.3, 0.69, 0.7, 0.99]));
    expect(Array.from(grid, (value) => Math.round(value))).toEqual([1, 1, 5, 5, 2, 2]);
  });

  it('learns y = x0 + 2 x1', () => {
    const random = new Random(2);
    const data = generate(
      4000,
      3,
      () => random.next(),
      (x) => x(0) + 2 * x(1),
    );
    const model = trainGbdt(rowsOf(data, 0, 3000), { iterations: 200 });
    const test = rowsOf(data, 3000, 4000);
    expect(rmse(test.target, predictGbdt(model, test))).toBeLessThan(0.06);
    expect(model.iterations).toBe(200);
    expect(model.trees).toHaveLength(200);
  });

  it('separates two classes', () => {
    const random = new Random(3);
    const data = generate(
      3000,
      3,
      () => random.next() * 2 - 1,
      (x) => (x(0) + 0.5 * x(1) > 0 ? 1 : 0),
      'binary',
    );
    const model = trainGbdt(rowsOf(data, 0, 2000), { iterations: 100 });
    expect(model.loss).toBe('binary_logistic');
    expect(model.baseScore).toHaveLength(1);
    const test = rowsOf(data, 2000, 3000);
    const probabilities = predictGbdt(model, test);
    expect(probabilities.every((p) => p >= 0 && p <= 1)).toBe(true);
    expect(accuracy(test.target, probabilities, 1)).toBeGreaterThan(0.95);
    // Probabilities are the sigmoid of the raw scores.
    const raw = predictGbdtRaw(model, test);
    expect(get(probabilities, 0)).toBeCloseTo(1 / (1 + Math.exp(-get(raw, 0))), 12);
  });

  it('separates three classes with one tree per class per iteration', () => {
    const random = new Random(4);
    const data = generate(
      3000,
      2,
      () => random.next(),
      (x) => (x(0) < 0.33 ? 0 : x(0) < 0.66 ? 2 : 1),
      'multiclass',
    );
    const model = trainGbdt(rowsOf(data, 0, 2000), { iterations: 30 });
    expect(model.baseScore).toHaveLength(3);
    expect(model.trees).toHaveLength(90);
    expect(model.trees.slice(0, 6).map((tree) => tree.classIndex)).toEqual([0, 1, 2, 0, 1, 2]);
    const test = rowsOf(data, 2000, 3000);
    const probabilities = predictGbdt(model, test);
    expect(probabilities).toHaveLength(3000);
    for (let row = 0; row < 10; row++) {
      const sum =
        get(probabilities, 3 * row) + get(probabilities, 3 * row + 1) + get(probabilities, 3 * row + 2);
      expect(sum).toBeCloseTo(1, 12);
    }
    expect(accuracy(test.target, probabilities, 3)).toBeGreaterThan(0.97);
  });

  it('routes missing values the way it learned', () => {
    // x0 is missing in 30% of rows; those rows behave like high values in one data set, like low in the other.
    for (const missingLikeHigh of [true, false]) {
      const random = new Random(5);
      const data = generate(
        2000,
        1,
        () => (random.next() < 0.3 ? Number.NaN : random.next()),
        (x) => (Number.isNaN(x(0)) ? (missingLikeHigh ? 10 : 0) : x(0) > 0.5 ? 10 : 0),
      );
      const model = trainGbdt(data, { iterations: 50, learningRate: 0.3 });
      const [missing, low, high] = predictGbdt(model, single([Number.NaN, 0.1, 0.9]));
      expect(missing).toBeCloseTo(missingLikeHigh ? 10 : 0, 1);
      expect(low).toBeCloseTo(0, 1);
      expect(high).toBeCloseTo(10, 1);
      expect(model.trees[0]?.missingGoesLeft[0]).toBe(missingLikeHigh ? 0 : 1);
    }
  });

  it('learns from missingness alone', () => {
    const random = new Random(6);
    const data = generate(
      1000,
      1,
      () => (random.next() < 0.5 ? Number.NaN : random.next()),
      (x) => (Number.isNaN(x(0)) ? 3 : -3),
    );
    const model = trainGbdt(data, { iterations: 1, learningRate: 1, l2: 0 });
    // Present values below the training range are not taken for missing ones.
    const predicted = predictGbdt(model, single([Number.NaN, 0.2, 0.8, -5]));
    [3, -3, -3, -3].forEach((expected, i) => expect(get(predicted, i)).toBeCloseTo(expected, 9));
  });

  it('splits on a categorical feature and sends unseen categories down the missing branch', () => {
    const random = new Random(7);
    const effect = new Map([
      ['cut', 1],
      ['bend', 8],
      ['weld', 3],
      ['paint', 8],
      ['pack', -2],
    ]);
    const labels = [...effect.keys()];
    const kinds = Array.from({ length: 2000 }, () => labels[random.below(labels.length)]);
    const noise = kinds.map(() => random.next());
    const table = new Table([
      categoricalFromLabels('operation', kinds),
      numericFromValues('noise', noise),
      numericFromValues(
        'minutes',
        kinds.map((kind, i) => (effect.get(kind ?? '') ?? 0) + 0.1 * get(noise, i)),
      ),
    ]);
    const data = prepareTrainingData(table, {
      target: 'minutes',
      features: ['operation', 'noise'],
      task: 'regression',
    });
    const model = trainGbdt(data, { iterations: 100 });
    // Codes follow the categories' mean target, so one threshold parts low from high (bend and paint tie).
    const operation = model.features[0];
    expect(operation?.kind === 'categorical' && operation.categories.slice(0, 3)).toEqual([
      'pack',
      'cut',
      'weld',
    ]);
    expect(operation?.kind === 'categorical' && [...operation.categories.slice(3)].sort()).toEqual([
      'bend',
      'paint',
    ]);
    const probe = new Table([
      categoricalFromLabels('operation', [...labels, 'laser']),
      numericFromValues('noise', [0.5, 0.5, 0.5, 0.5, 0.5, 0.5]),
    ]);
    const predicted = predictGbdtTable(model, probe);
    labels.forEach((label, i) => {
      expect(Math.abs(get(predicted, i) - (effect.get(label) ?? 0) - 0.05)).toBeLessThan(0.1);
    });
    expect(Number.isFinite(get(predicted, 5))).toBe(true);
    expect(model.featureImportance.operation).toBeGreaterThan(10 * (model.featureImportance.noise ?? 0));
  });

  it('is robust to outliers with absolute error', () => {
    const random = new Random(8);
    const clean = generate(
      3000,
      2,
      () => random.next(),
      (x) => 4 * x(0) + 0.1 * gaussian(random),
    );
    // 8% of training targets are wildly wrong, all in the same direction.
    const noisy = clean.target.map((value, i) => (i < 2000 && random.next() < 0.08 ? value + 200 : value));
    const train = rowsOf({ ...clean, target: noisy }, 0, 2000);
    const test = rowsOf(clean, 2000, 3000);
    const squared = trainGbdt(train, { iterations: 100, loss: 'squared_error' });
    const absolute = trainGbdt(train, { iterations: 100, loss: 'absolute_error' });
    const squaredError = meanAbsoluteError(test.target, predictGbdt(squared, test));
    const absoluteError = meanAbsoluteError(test.target, predictGbdt(absolute, test));
    expect(absolute.loss).toBe('absolute_error');
    expect(absoluteError).toBeLessThan(0.2);
    expect(absoluteError * 5).toBeLessThan(squaredError);
  });

  it('stops early and drops the trees after the best iteration', () => {
    const random = new Random(9);
    // Mostly noise: the validation loss bottoms out quickly, then rises as the trees fit noise.
    const data = generate(
      1200,
      4,
      () => random.next(),
      (x) => x(0) + 2 * gaussian(random),
    );
    const progress: TrainingProgress[] = [];
    const options: GbdtOptions = {
      iterations: 300,
      learningRate: 0.3,
      maxLeaves: 63,
      minSamplesLeaf: 2,
      earlyStoppingRounds: 10,
      onProgress: (step) => progress.push(step),
    };
    const validation = rowsOf(data, 800, 1200);
    const model = trainGbdt(rowsOf(data, 0, 800), options, validation);
    const losses = progress.map((step) => step.validationLoss ?? Number.NaN);
    const best = losses.indexOf(Math.min(...losses)) + 1;
    expect(progress.length).toBeLessThan(300);
    expect(progress.length).toBe(best + 10);
    expect(model.iterations).toBe(best);
    expect(model.trees).toHaveLength(best);
    // The kept model scores the validation set as the best iteration did.
    const raw = predictGbdtRaw(model, validation);
    expect(rmse(validation.target, raw) ** 2).toBeCloseTo(get(losses, best - 1), 10);
    expect(() => trainGbdt(data, { earlyStoppingRounds: 5 })).toThrow(/validation/);
  });

  it('reports progress once per iteration with the validation loss', () => {
    const random = new Random(10);
    const data = generate(
      600,
      2,
      () => random.next(),
      (x) => (x(0) > 0.5 ? 1 : 0),
      'binary',
    );
    const progress: TrainingProgress[] = [];
    const onProgress = (step: TrainingProgress) => progress.push(step);
    trainGbdt(rowsOf(data, 0, 400), { iterations: 25, onProgress }, rowsOf(data, 400, 600));
    expect(progress.map((step) => step.iteration)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    expect(progress.every((step) => step.totalIterations === 25)).toBe(true);
    expect(progress.every((step) => Number.isFinite(step.validationLoss))).toBe(true);
    const [first, last] = [progress[0], progress.at(-1)];
    expect(last?.trainLoss).toBeLessThan(first?.trainLoss ?? 0);
    expect(last?.validationLoss).toBeLessThan(first?.validationLoss ?? 0);
  });

  it('gives the same model for the same seed, and another for another seed with subsampling', () => {
    const random = new Random(11);
    const data = generate(
      1500,
      6,
      () => random.next(),
      (x) => Math.sin(6 * x(0)) + x(1) * x(2),
    );
    const options: GbdtOptions = { iterations: 20, rowSubsample: 0.7, columnSubsample: 0.5 };
    const first = trainGbdt(data, { ...options, seed: 7 });
    expect(trainGbdt(data, { ...options, seed: 7 })).toEqual(first);
    expect(trainGbdt(data, { ...options, seed: 8 })).not.toEqual(first);
    // Worker threads build the same histograms: the same model.
    expect(trainGbdt(data, { ...options, seed: 7, threads: 2, parallelMinRows: 0 })).toEqual(first);
  });

  it('builds the same model on two threads', () => {
    const random = new Random(12);
    // Binary (logistic) and regression (squared error: each root histogram carried from the last tree).
    // Rows enough for large nodes to build their 12 features in several passes (PASS_MIN_ROWS).
    for (const task of ['binary', 'regression'] as const) {
      const data = generate(
        20_000,
        12,
        () => random.next(),
        (x) => (x(0) + x(10) > 1 ? 1 : 0) + (task === 'regression' ? x(7) * 3 : 0),
        task,
      );
      const options: GbdtOptions = { iterations: 10, parallelMinRows: 0 };
      const one = trainGbdtDetailed(data, { ...options, threads: 1 });
      const two = trainGbdtDetailed(data, { ...options, threads: 2 });
      expect(one.threads).toBe(1);
      expect(two.threads).toBe(2);
      expect(two.model).toEqual(one.model);
      expect(Array.from(two.trainRaw)).toEqual(Array.from(one.trainRaw));
    }
  });

  it('stores float32 thresholds that route every training row as training did', () => {
    const random = new Random(13);
    // Values crowded so that many doubles share a float32, values that are not float32 at all, a grid.
    const draws = [
      () => 1 + random.below(40) * 3e-8 + random.next() * 1e-9,
      () => random.next() * 1000 - 500,
      () => random.below(7) * 0.1,
    ];
    const data = generate(
      3000,
      3,
      (f) => draws[f]?.() ?? 0,
      (x) => x(0) * 1e7 + Math.sin(x(1) / 50) + x(2),
    );
    for (const options of [
      {},
      { rowSubsample: 0.6 },
      { growth: 'depthwise', maxDepth: 4 },
    ] as GbdtOptions[]) {
      const { model, trainRaw } = trainGbdtDetailed(data, { iterations: 30, minSamplesLeaf: 5, ...options });
      for (const tree of model.trees) {
        tree.threshold.forEach((threshold) => expect(Math.fround(threshold)).toBe(threshold));
      }
      expect(predictGbdtRaw(model, data)).toEqual(trainRaw);
    }
    // Multiclass: one score per class, row-major.
    const classes = generate(
      3000,
      3,
      (f) => draws[f]?.() ?? 0,
      (x) => (x(0) < 1 + 6e-7 ? 0 : x(2) < 0.3 ? 1 : 2),
      'multiclass',
    );
    const { model, trainRaw } = trainGbdtDetailed(classes, { iterations: 10 });
    expect(trainRaw).toHaveLength(9000);
    expect(predictGbdtRaw(model, classes)).toEqual(trainRaw);
  });

  it('adds each tree to the training scores as the model routes the rows, for every loss', () => {
    const random = new Random(20);
    const draw = () => random.next() * 10;
    const regression = generate(2000, 3, draw, (x) => x(0) * 2 - x(1) + (x(2) > 5 ? 3 : 0));
    const binary = generate(2000, 3, draw, (x) => (x(0) + x(1) > 10 ? 1 : 0), 'binary');
    const multiclass = generate(2000, 3, draw, (x) => (x(0) < 3 ? 0 : x(1) < 5 ? 1 : 2), 'multiclass');
    // Absolute and logistic: one pass adds the tree and makes the next gradients (addTreeThenGradients),
    // from each row's leaf; multiclass: each class's tree from each row's leaf.
    for (const [data, loss] of [
      [regression, 'squared_error'],
      [regression, 'absolute_error'],
      [binary, 'binary_logistic'],
      [multiclass, 'multiclass_softmax'],
    ] as const) {
      const { model, trainRaw } = trainGbdtDetailed(data, { iterations: 8, minSamplesLeaf: 5, loss });
      expect(model.trees.some((tree) => tree.feature.filter((f) => f < 0).length > 2)).toBe(true);
      expect(Array.from(predictGbdtRaw(model, data))).toEqual(Array.from(trainRaw));
    }
  });

  it('ranks the informative feature first', () => {
    const random = new Random(14);
    const data = generate(
      2000,
      5,
      () => random.next(),
      (x) => 3 * x(2) + 0.3 * gaussian(random),
    );
    const model = trainGbdt(data, { iterations: 50 });
    const ranked = Object.entries(model.featureImportance).sort((a, b) => b[1] - a[1]);
    expect(ranked[0]?.[0]).toBe('x2');
    expect(Object.keys(model.featureImportance).sort()).toEqual(['x0', 'x1', 'x2', 'x3', 'x4']);
  });

  it('respects growth limits and yields plain JSON', () => {
    const random = new Random(15);
    const data = generate(
      2000,
      3,
      () => random.next(),
      (x) => Math.sin(10 * x(0)) + x(1),
    );
    const depthwise = trainGbdt(data, { iterations: 5, growth: 'depthwise', maxDepth: 3, maxLeaves: 64 });
    for (const tree of depthwise.trees) {
      expect(Math.max(...leafDepths(tree))).toBeLessThanOrEqual(3);
      expect(leafDepths(tree)).toHaveLength(8);
    }
    const leafwise = trainGbdt(data, { iterations: 5, maxLeaves: 7 });
    for (const tree of leafwise.trees) expect(leafDepths(tree).length).toBeLessThanOrEqual(7);
    const model = JSON.parse(JSON.stringify(leafwise)) as GbdtModel;
    expect(model).toEqual(leafwise);
  });

  it('trains on fewer rows than a leaf needs: one leaf a tree, the scores its values', () => {
    const data = single([1, 2, 3]);
    for (const loss of ['squared_error', 'absolute_error'] as const) {
      const { model, trainRaw } = trainGbdtDetailed(data, { iterations: 5, loss });
      expect(model.trees.every((tree) => tree.feature.length === 1)).toBe(true);
      expect(Array.from(predictGbdtRaw(model, data))).toEqual(Array.from(trainRaw));
    }
  });

  it('rejects options and data it cannot use', () => {
    const data = single([1, 2, 3]);
    expect(() => trainGbdt(data, { loss: 'binary_logistic' })).toThrow(/does not fit a regression task/);
    expect(() => trainGbdt(data, { learningRate: 0, maxBins: 1 })).toThrow(/learningRate.*maxBins/);
    const encoded: EncodedFeatures = {
      features: [{ kind: 'numeric', name: 'other' }],
      columns: data.columns,
      rowCount: 3,
    };
    expect(() => predictGbdt(trainGbdt(data, { iterations: 1 }), encoded)).toThrow(/features/);
  });
});

describe('TreeGrower', () => {
  it('grows the same tree however it is computed', () => {
    const random = new Random(16);
    const data = generate(
      3000,
      4,
      () => random.below(50),
      (x) => x(0) * 3 - x(1) + (x(2) > 25 ? 40 : 0),
    );
    const binned = binFeatures(data, 255, 42);
    const params = growParams({ maxLeaves: 31, l2: 1, minSamplesLeaf: 5 });
    // Integer gradients and hessians: every histogram sum is exact, however it is computed.
    const grad = data.target.map((value) => value - 50);
    for (const hess of [null, grad.map((_, i) => 1 + (i % 3))]) {
      const stride = hess ? 3 : 2;
      const grow = (threads: number, tuning: Partial<GrowerTuning>, bins = binned) => {
        const grower = new TreeGrower(bins, params, !hess, threads, tuning);
        try {
          return grower.grow(grad, hess ?? new Float64Array(0), null, [0, 1, 2, 3]);
        } finally {
          grower.close();
        }
      };
      const roomy = grow(1, {});
      expect(roomy.leaves).toHaveLength(31);
      // Room for three histograms (a parent, its smaller child and one spare).
      expect(grow(1, { histogramBudgetBytes: 3 * binned.totalBins * stride * 8 })).toEqual(roomy);
      // Gradients moved by partitions rather than gathered; every node's work on two threads.
      expect(grow(1, { gatherMaxRows: 0 })).toEqual(roomy);
      const everythingParallel = { parallelMinRows: 0, parallelPartitionMinRows: 0 };
      expect(grow(2, everythingParallel)).toEqual(roomy);
      expect(grow(2, { ...everythingParallel, gatherMaxRows: 0 })).toEqual(roomy);
      // The same bins 16 bits wide: the kernel's other histogram and partition loops.
      const wide = { ...binned, bins: Uint16Array.from(binned.bins) };
      expect(grow(1, { gatherMaxRows: 0 }, wide)).toEqual(roomy);
      expect(grow(2, everythingParallel, wide)).toEqual(roomy);
    }
  });

  it('partitions rows by category sets as by thresholds, on every path', () => {
    // Twelve materials, half of them slow on thick plate: only a set of categories splits them.
    const random = new Random(19);
    const n = 6000;
    const material = new Float64Array(n);
    const thickness = new Float64Array(n);
    const noise = new Float64Array(n);
    const target = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      material[i] = random.below(12);
      thickness[i] = random.below(30);
      noise[i] = random.below(7);
      const slow = [1, 4, 5, 8, 10, 11].includes(material[i] as number);
      target[i] = (slow === (thickness[i] as number) > 15 ? 40 : 0) + (noise[i] as number);
    }
    const data: TrainingData = {
      features: [
        { kind: 'categorical', name: 'material', categories: Array.from({ length: 12 }, (_, c) => `m${c}`) },
        { kind: 'numeric', name: 'thickness' },
        { kind: 'numeric', name: 'noise' },
      ],
      columns: [material, thickness, noise],
      rowCount: n,
      task: 'regression',
      target,
    };
    const binned = binFeatures(data, 255, 42);
    const params = growParams({ maxLeaves: 8, l2: 1 });
    const grad = target.map((value) => value - 20);
    const parallel = { parallelMinRows: 0, parallelPartitionMinRows: 0 };
    for (const hess of [null, grad.map((_, i) => 1 + (i % 3))]) {
      const grow = (threads: number, tuning: Partial<GrowerTuning>, bins = binned) => {
        const grower = new TreeGrower(bins, params, !hess, threads, tuning);
        try {
          const tree = grower.grow(grad, hess ?? new Float64Array(0), null, [0, 1, 2]);
          // Every leaf holds exactly the rows its path routes to it.
          for (const leaf of tree.leaves) {
            for (const row of grower.rows.subarray(leaf.start, leaf.start + leaf.count)) {
              expect(leafOfRow(tree, binned, row)).toBe(leaf.node);
            }
          }
          return tree;
        } finally {
          grower.close();
        }
      };
      const alone = grow(1, {});
      expect(alone.leftBins.some((bins) => bins !== null)).toBe(true);
      expect(grow(1, { gatherMaxRows: 0 })).toEqual(alone);
      expect(grow(2, parallel)).toEqual(alone);
      expect(grow(2, { ...parallel, gatherMaxRows: 0 })).toEqual(alone);
      const wide = { ...binned, bins: Uint16Array.from(binned.bins) };
      expect(grow(2, { ...parallel, gatherMaxRows: 0 }, wide)).toEqual(alone);
    }
  });

  it('starts the next tree from a carried root histogram as from one built from every row', () => {
    const random = new Random(17);
    const data = generate(
      4000,
      5,
      () => random.below(40),
      (x) => x(0) * 2 - x(1) + (x(3) > 20 ? 30 : 0),
    );
    const binned = binFeatures(data, 255, 42);
    const params = growParams();
    const features = [0, 1, 2, 3, 4];
    const none = new Float64Array(0);
    // Integer gradients and leaf values: every sum is exact, carried or built.
    const grad = data.target.map((value) => value - 20);
    // Large leaves: leaves too small to split have no histogram and add their rows one by one.
    for (const [threads, tuning, minSamplesLeaf] of [
      [1, {}, 20],
      [1, {}, 150],
      [2, { parallelMinRows: 0, parallelPartitionMinRows: 0 }, 20],
      [1, { gatherMaxRows: 0 }, 20],
      [1, { gatherMaxRows: 0 }, 150],
    ] as const) {
      const grower = new TreeGrower(binned, { ...params, minSamplesLeaf }, true, threads, tuning);
      const fresh = new TreeGrower(binned, { ...params, minSamplesLeaf }, true, 1);
      try {
        const first = grower.grow(grad, none, null, features);
        const values = first.leaves.map((leaf) => -Math.round(leaf.grad / leaf.count));
        expect(grower.carryRoot(first, values)).toBe(true);
        // The caller adds each leaf's value to its rows' scores: their gradients move by it.
        const next = Float64Array.from(grad);
        first.leaves.forEach((leaf, i) => {
          for (const row of grower.rows.subarray(leaf.start, leaf.start + leaf.count)) {
            next[row] = (next[row] as number) + (values[i] as number);
          }
        });
        const built = fresh.grow(next, none, null, features);
        expect(grower.grow(next, none, null, features)).toEqual(built);
        // A carried root serves only a tree on every row over the same features.
        const zeros = (tree: typeof built) => tree.leaves.map(() => 0);
        expect(grower.carryRoot(built, zeros(built))).toBe(true);
        const fewer = fresh.grow(next, none, null, [0, 1, 3]);
        expect(grower.grow(next, none, null, [0, 1, 3])).toEqual(fewer);
        expect(grower.carryRoot(fewer, zeros(fewer))).toBe(true);
        const sample = Uint32Array.from({ length: 2000 }, (_, i) => i * 2);
        const sampled = fresh.grow(next, none, sample, features);
        expect(grower.grow(next, none, sample, features)).toEqual(sampled);
        expect(grower.carryRoot(sampled, zeros(sampled))).toBe(false);
      } finally {
        grower.close();
        fresh.close();
      }
    }
  });

  it('adds a tree to the residual scores in its kernel as the scalar pass does', () => {
    const random = new Random(18);
    // An odd number of rows: the kernel's pass takes two rows a step and the last one alone.
    const data = generate(
      3001,
      4,
      () => random.next() * 10,
      (x) => x(0) * 2 - x(1) + (x(2) > 5 ? 3 : 0),
    );
    const binned = binFeatures(data, 255, 42);
    const params = growParams();
    const features = [0, 1, 2, 3];
    const none = new Float64Array(0);
    const { target } = data;
    // Gathered gradients, and gradients moved with the rows (the pass writes them back by row).
    for (const [threads, tuning] of [
      [1, {}],
      [1, { gatherMaxRows: 0 }],
      [2, { parallelMinRows: 0, parallelPartitionMinRows: 0, gatherMaxRows: 0 }],
    ] as const) {
      const grower = new TreeGrower(binned, params, true, threads, tuning, target);
      try {
        const scores = grower.residualScores;
        if (!scores) throw new Error('a grower given the target keeps the residual scores');
        scores.raw.fill(0.5);
        scores.grad.set(target.map((value) => 0.5 - value));
        for (let tree = 0; tree < 3; tree++) {
          const grown = grower.grow(scores.grad, none, null, features);
          const values = grown.leaves.map(() => random.next() - 0.5);
          // The scalar pass, from the leaves' row ranges.
          const raw = Float64Array.from(scores.raw);
          grown.leaves.forEach((leaf, i) => {
            for (const row of grower.rows.subarray(leaf.start, leaf.start + leaf.count)) {
              raw[row] = (raw[row] as number) + (values[i] as number);
            }
          });
          const grad = raw.map((score, row) => score - (target[row] as number));
          const meanSquare = grad.reduce((sum, residual) => sum + residual * residual, 0) / grad.length;
          const loss = grower.addTreeToResiduals(grown, values);
          expect(Array.from(scores.raw)).toEqual(Array.from(raw));
          expect(Array.from(scores.grad)).toEqual(Array.from(grad));
          expect(Math.abs(loss - meanSquare)).toBeLessThan(1e-12 * meanSquare);
        }
        const sample = Uint32Array.from({ length: 1000 }, (_, i) => i * 3);
        const sampled = grower.grow(Float64Array.from(scores.grad), none, sample, features);
        expect(() =>
          grower.addTreeToResiduals(
            sampled,
            sampled.leaves.map(() => 0),
          ),
        ).toThrow(/a tree on every row/);
      } finally {
        grower.close();
      }
    }
    const without = new TreeGrower(binned, params, true, 1);
    expect(without.residualScores).toBeNull();
    without.close();
  });

  it("marks each training row's leaf, 32 bits wide for trees of more than 65,536 leaves", () => {
    const n = 70_000;
    const random = new Random(21);
    const data = generate(
      n,
      2,
      () => random.below(100),
      (x) => x(0) - x(1),
    );
    const binned = binFeatures(data, 255, 42);
    const none = new Float64Array(0);
    const tuning = { histogramBudgetBytes: 2 ** 20 };
    const marked = (grower: TreeGrower, tree: GrownTree) => {
      const leafOfRows = grower.leafOfTrainingRows(tree);
      const expected = new Array<number>(n);
      tree.leaves.forEach((leaf, i) => {
        for (const row of grower.rows.subarray(leaf.start, leaf.start + leaf.count)) expected[row] = i;
      });
      expect(Array.from(leafOfRows)).toEqual(expected);
      return leafOfRows;
    };
    const narrow = new TreeGrower(binned, growParams({ maxLeaves: 300 }), true, 1, tuning);
    // A leaf a row at most: the leaf index outgrows 16 bits (and the residual score pass with it).
    const wide = new TreeGrower(
      binned,
      growParams({ maxLeaves: n, minSamplesLeaf: 1 }),
      true,
      1,
      tuning,
      data.target,
    );
    try {
      const grown = narrow.grow(data.target, none, null, [0, 1]);
      expect(grown.leaves.length).toBeGreaterThan(256);
      expect(marked(narrow, grown)).toBeInstanceOf(Uint16Array);
      // Zero gradients: one leaf, every row in it; then a tree of a leaf per row position, as the
      // grower may grow.
      const oneLeaf = wide.grow(new Float64Array(n), none, null, [0, 1]);
      expect(oneLeaf.leaves).toHaveLength(1);
      expect(marked(wide, oneLeaf)).toBeInstanceOf(Uint32Array);
      const leafPerRow = {
        ...oneLeaf,
        leaves: Array.from({ length: n }, (_, start) => ({ node: 0, start, count: 1, grad: 0, hess: 1 })),
      };
      expect(marked(wide, leafPerRow)).toBeInstanceOf(Uint32Array);
      expect(wide.residualScores).toBeNull();
      // Over the grower's bound, or a sampled tree (rows out of the sample are in no leaf): refused.
      expect(() => narrow.leafOfTrainingRows(leafPerRow)).toThrow(/internal error/);
      const sampled = narrow.grow(data.target, none, Uint32Array.from([0, 2, 4, 6]), [0, 1]);
      expect(() => narrow.leafOfTrainingRows(sampled)).toThrow(/a tree on every row/);
    } finally {
      narrow.close();
      wide.close();
    }
  });

  it('runs the kernel its source assembles to', () => {
    // kernelWasm.ts is generated from kernel.wat (npm run kernel); a stale copy fails here.
    expect(() =>
      execFileSync(process.execPath, ['scripts/buildKernel.mjs', '--check'], { stdio: 'pipe' }),
    ).not.toThrow();
  });
});
