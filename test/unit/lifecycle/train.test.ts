import { describe, expect, it } from 'vitest';
import type { GbdtModel, LinearModel } from '../../../ml/model';
import { readMetadata } from '../../../ml/onnx';
import { onnx as onnxProto } from '../../../ml/onnx/protoBuilders';
import { Random } from '../../../ml/random';
import { friedman1 } from '../../../ml/referenceDatasets';
import { categoricalFromLabels, numericFromValues, Table } from '../../../ml/table';
import { SplitError } from '../../../lifecycle/split';
import {
  type CandidateProgress,
  describeFeatures,
  frameData,
  gbdtOptionsOf,
  trainCandidate,
  trainingData,
  TrainingError,
  trainingFrame,
} from '../../../lifecycle/train';
import { FRIEDMAN_FEATURES, specOf } from './fixtures';

/** 400 rows of Friedman #1: y depends on x0..x4, x5..x7 are noise. */
const friedman = friedman1(500).train;

/**
 * Parts of a laser shop: scrapped or not and cut seconds from material, sheet thickness and bends.
 * The last `titaniumRows` rows are titanium, a material the earlier rows never show.
 */
function partsTable(rows: number, titaniumRows = 0): Table {
  const random = new Random(5);
  const materials = ['S235', 'S355', 'AlMg3', '1.4301'];
  const material: string[] = [];
  const thickness: number[] = [];
  const bends: number[] = [];
  const scrapped: string[] = [];
  const cutSeconds: number[] = [];
  for (let row = 0; row < rows; row++) {
    const grade = row >= rows - titaniumRows ? 'Ti' : (materials[random.below(4)] as string);
    const mm = 0.5 + random.next() * 11.5;
    const bendCount = random.below(9);
    const stainless = grade === '1.4301' ? 1 : 0;
    const risk = -3 + 2 * stainless + 0.25 * mm + 0.2 * bendCount;
    material.push(grade);
    thickness.push(mm);
    bends.push(bendCount);
    scrapped.push(random.next() < 1 / (1 + Math.exp(-risk)) ? 'scrap' : 'good');
    cutSeconds.push(20 + 8 * mm + 15 * stainless + 3 * bendCount + random.next() * 4);
  }
  return new Table([
    categoricalFromLabels('material', material),
    numericFromValues('thicknessMm', thickness),
    numericFromValues('bendCount', bends),
    categoricalFromLabels('scrapped', scrapped),
    numericFromValues('cutSeconds', cutSeconds),
  ]);
}

const PART_FEATURES = [
  { name: 'material', kind: 'categorical' },
  { name: 'thicknessMm', kind: 'numeric' },
  { name: 'bendCount', kind: 'numeric' },
];

function trainingError(run: () => unknown): TrainingError {
  try {
    run();
  } catch (error) {
    if (error instanceof TrainingError) return error;
    throw error;
  }
  throw new Error('expected a TrainingError');
}

describe('trainCandidate with gbdt', () => {
  it('reports every round, keeps them all without early stopping and ranks informative features first', () => {
    const progress: CandidateProgress[] = [];
    const { model, onnx, summary } = trainCandidate({
      table: friedman,
      spec: specOf({}),
      onProgress: (report) => progress.push(report),
    });
    expect(progress.map((report) => report.iteration)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(progress.every((report) => report.totalIterations === 30)).toBe(true);
    expect(progress.at(-1)?.trainLoss).toBeLessThan(progress[0]?.trainLoss ?? 0);
    expect(summary).toMatchObject({
      trainer: 'gbdt',
      loss: 'squared_error',
      rows: { train: 320, validation: 0, test: 80 },
      rowsWithoutTarget: 0,
      iterations: 30,
      iterationsRun: 30,
      trainLoss: progress.at(-1)?.trainLoss,
    });
    expect(summary.bestIteration).toBeUndefined();
    expect(summary.validationLoss).toBeUndefined();
    expect((model as GbdtModel).trees).toHaveLength(30);
    const importance = summary.featureImportance.map((feature) => feature.importance);
    expect(importance).toEqual([...importance].sort((a, b) => b - a));
    expect(summary.featureImportance.map((feature) => feature.name).sort()).toEqual(
      [...FRIEDMAN_FEATURES].sort(),
    );
    // y leans hardest on x3 (10 x3) and x0, x1 (10 sin(pi x0 x1)); x5..x7 are noise.
    expect(['x0', 'x1', 'x3']).toContain(summary.featureImportance[0]?.name);
    expect(readMetadata(onnx).features.map((feature) => feature.name)).toEqual(FRIEDMAN_FEATURES);
    expect(summary.seconds).toBeGreaterThan(0);
  });

  it('early-stops on the validation rows and keeps the rounds up to the best one', () => {
    const progress: CandidateProgress[] = [];
    const spec = specOf({
      split: { kind: 'ordered', testFraction: 0.2, validationFraction: 0.2 },
      trainer: { kind: 'gbdt', params: { iterations: 400, learningRate: 0.5, earlyStoppingRounds: 5 } },
    });
    const { model, summary } = trainCandidate({
      table: friedman,
      spec,
      onProgress: (report) => progress.push(report),
    });
    expect(summary.rows).toEqual({ train: 240, validation: 80, test: 80 });
    expect(summary.iterations).toBeLessThan(100);
    expect(summary.bestIteration).toBe(summary.iterations);
    expect(summary.iterationsRun).toBe(summary.iterations + 5);
    expect(progress).toHaveLength(summary.iterationsRun);
    expect((model as GbdtModel).trees).toHaveLength(summary.iterations);
    const validationLosses = progress.map((report) => report.validationLoss ?? Number.NaN);
    expect(summary.validationLoss).toBe(Math.min(...validationLosses));
    expect(summary.trainLoss).toBe(progress[summary.iterations - 1]?.trainLoss);
  });

  it('makes byte-identical ONNX from the same table and spec, and other bytes from another seed', () => {
    const params = { iterations: 20, rowSubsample: 0.7, columnSubsample: 0.6, seed: 3 };
    const train = (seed: number) =>
      trainCandidate({
        table: friedman,
        spec: specOf({
          split: { kind: 'random', testFraction: 0.2, validationFraction: 0.1, seed: 9 },
          trainer: { kind: 'gbdt', params: { ...params, seed } },
        }),
      }).onnx;
    const first = train(3);
    expect(Buffer.from(train(3)).equals(Buffer.from(first))).toBe(true);
    expect(Buffer.from(train(4)).equals(Buffer.from(first))).toBe(false);
  });

  it('names the ONNX file after the model when asked', () => {
    const { onnx } = trainCandidate({
      table: friedman,
      spec: specOf({ trainer: { kind: 'gbdt', params: { iterations: 3 } } }),
      modelName: 'friedman',
      modelVersion: 7,
    });
    const proto = onnxProto.ModelProto.decode(onnx);
    expect(proto.docString).toBe('friedman');
    expect(proto.producerVersion).toBe('7');
  });

  it("maps the spec's parameters to the trainer's options one for one", () => {
    const spec = specOf({
      trainer: {
        kind: 'gbdt',
        params: {
          iterations: 77,
          learningRate: 0.05,
          maxLeaves: 15,
          maxDepth: 6,
          l2: 2,
          minSamplesLeaf: 5,
          rowSubsample: 0.8,
          columnSubsample: 0.5,
          earlyStoppingRounds: 10,
          seed: 9,
          loss: 'absolute_error',
        },
      },
      split: { kind: 'ordered', testFraction: 0.2, validationFraction: 0.1 },
    });
    if (spec.trainer.kind !== 'gbdt') throw new Error('expected a gbdt trainer');
    expect(gbdtOptionsOf(spec.trainer.params)).toEqual({
      loss: 'absolute_error',
      iterations: 77,
      learningRate: 0.05,
      maxLeaves: 15,
      maxDepth: 6,
      l2: 2,
      minSamplesLeaf: 5,
      rowSubsample: 0.8,
      columnSubsample: 0.5,
      earlyStoppingRounds: 10,
      seed: 9,
    });
  });

  it('knows only the categories of the training rows', () => {
    const spec = specOf({
      target: 'cutSeconds',
      features: PART_FEATURES,
      trainer: { kind: 'gbdt', params: { iterations: 10 } },
    });
    // The 30 titanium rows are all in the last 20 %: the test rows.
    const { model } = trainCandidate({ table: partsTable(300, 30), spec });
    const material = model.features[0];
    expect(material?.kind === 'categorical' && [...material.categories].sort()).toEqual([
      '1.4301',
      'AlMg3',
      'S235',
      'S355',
    ]);
  });

  it('trains a binary classifier on text classes', () => {
    const progress: CandidateProgress[] = [];
    const spec = specOf({
      task: 'binary',
      target: 'scrapped',
      features: PART_FEATURES,
      split: { kind: 'random', testFraction: 0.2, validationFraction: 0.2, seed: 1 },
      trainer: { kind: 'gbdt', params: { iterations: 20 } },
    });
    const { model, summary } = trainCandidate({
      table: partsTable(400),
      spec,
      onProgress: (report) => progress.push(report),
    });
    expect(model.classLabels).toEqual(['good', 'scrap']);
    expect(summary.loss).toBe('binary_logistic');
    expect(summary.bestIteration).toBeGreaterThanOrEqual(1);
    expect(progress.every((report) => report.validationLoss !== undefined)).toBe(true);
    expect(summary.featureImportance.map((feature) => feature.name)).toContain('thicknessMm');
  });
});

describe('trainCandidate with linear', () => {
  it('fits a ridge regression, measures the validation rows and ranks x3 above the noise', () => {
    const progress: CandidateProgress[] = [];
    const { model, onnx, summary } = trainCandidate({
      table: friedman,
      spec: specOf({
        split: { kind: 'random', testFraction: 0.2, validationFraction: 0.1, seed: 2 },
        trainer: { kind: 'linear', params: { l2: 0.5 } },
      }),
      onProgress: (report) => progress.push(report),
    });
    expect(model.type).toBe('linear');
    expect(summary).toMatchObject({
      trainer: 'linear',
      loss: 'squared_error',
      iterations: 1,
      converged: true,
    });
    expect(summary.rows).toEqual({ train: 280, validation: 40, test: 80 });
    expect(progress).toEqual([{ iteration: 1, totalIterations: 1, trainLoss: summary.trainLoss }]);
    // Friedman #1 has unit noise and a nonlinear part a line cannot fit: MSE above 1, well below var(y).
    expect(summary.validationLoss).toBeGreaterThan(1);
    expect(summary.validationLoss).toBeLessThan(15);
    const rank = (name: string) => summary.featureImportance.findIndex((feature) => feature.name === name);
    for (const noise of ['x5', 'x6', 'x7']) expect(rank('x3')).toBeLessThan(rank(noise));
    // Numeric importance is the absolute weight on the standardised input.
    const x3 = summary.featureImportance.find((feature) => feature.name === 'x3');
    expect(x3?.importance).toBeCloseTo(Math.abs((model as LinearModel).weights[0]?.[3] ?? 0), 12);
    expect(readMetadata(onnx).type).toBe('linear');
  });

  it('weighs one-hot categories by their spread and follows the solver to convergence', () => {
    const spec = specOf({
      task: 'binary',
      target: 'scrapped',
      features: PART_FEATURES,
      trainer: { kind: 'linear', params: { l2: 1, maxIterations: 50 } },
    });
    const { summary } = trainCandidate({ table: partsTable(400), spec });
    expect(summary.loss).toBe('binary_logistic');
    expect(summary.converged).toBe(true);
    expect(summary.iterations).toBeGreaterThan(1);
    const material = summary.featureImportance.find((feature) => feature.name === 'material');
    expect(material?.importance).toBeGreaterThan(0);
  });
});

describe('trainCandidate refusals', () => {
  it('names a spec feature the snapshot lacks by its field', () => {
    const spec = specOf({
      features: [
        { name: 'x0', kind: 'numeric' },
        { name: 'sheetGauge', kind: 'numeric' },
      ],
    });
    const error = trainingError(() => trainCandidate({ table: friedman, spec }));
    expect(error.nonRetryable).toBe(true);
    expect(error.message).toContain('features[1].name: the snapshot has no column "sheetGauge"');
  });

  it('refuses a numeric feature that holds text', () => {
    const spec = specOf({
      target: 'cutSeconds',
      features: [{ name: 'material', kind: 'numeric' }],
    });
    expect(trainingError(() => trainCandidate({ table: partsTable(100), spec })).message).toContain(
      'features[0]: "material" is numeric in the spec but holds text',
    );
  });

  it('passes the data problems of the ML core on as TrainingError', () => {
    const table = partsTable(100);
    const threeClasses = new Table([
      ...table.columns.filter((column) => column.name !== 'scrapped'),
      categoricalFromLabels(
        'scrapped',
        Array.from({ length: 100 }, (_, row) => ['good', 'scrap', 'rework'][row % 3] as string),
      ),
    ]);
    const spec = specOf({ task: 'binary', target: 'scrapped', features: PART_FEATURES });
    expect(trainingError(() => trainCandidate({ table: threeClasses, spec })).message).toContain(
      'binary needs exactly 2',
    );
  });

  it('leaves rows without a target out and refuses too few rows with a SplitError', () => {
    const table = partsTable(100);
    const cut = table.numeric('cutSeconds').values.map((value, row) => (row % 4 === 0 ? Number.NaN : value));
    const holed = new Table([
      ...table.columns.filter((column) => column.name !== 'cutSeconds'),
      numericFromValues('cutSeconds', Array.from(cut)),
    ]);
    const spec = specOf({ target: 'cutSeconds', features: PART_FEATURES });
    const { summary } = trainCandidate({ table: holed, spec });
    expect(summary.rowsWithoutTarget).toBe(25);
    expect(summary.rows).toEqual({ train: 60, validation: 0, test: 15 });
    expect(() => trainCandidate({ table: holed.slice(0, 3), spec })).toThrow(SplitError);
  });

  it("passes an error from the caller's progress callback on unchanged", () => {
    const cancelled = new Error('activity cancelled');
    let thrown: unknown;
    try {
      trainCandidate({
        table: friedman,
        spec: specOf({}),
        onProgress: (report) => {
          if (report.iteration === 3) throw cancelled;
        },
      });
    } catch (error) {
      thrown = error;
    }
    // The very object, not a TrainingError with its message: a cancellation must stay one.
    expect(thrown).toBe(cancelled);
  });
});

describe('trainingData', () => {
  it('encodes the training rows once, as their ordered features would encode them afresh', () => {
    // Titanium and shift 4 only in the last rows (the test rows); machine and shift have holes.
    const rows = Array.from({ length: 300 }, (_, row) => row);
    const table = new Table([
      ...partsTable(300, 30).columns,
      categoricalFromLabels(
        'machine',
        rows.map((row) => (row % 13 === 0 ? null : (['L1', 'L2', 'P4'][(row * 7) % 3] as string))),
      ),
      numericFromValues(
        'shift',
        rows.map((row) => (row % 11 === 0 ? null : row >= 270 ? 4 : 1 + ((row * 5) % 3))),
      ),
    ]);
    const features = [
      ...PART_FEATURES,
      { name: 'machine', kind: 'categorical' },
      { name: 'shift', kind: 'categorical' },
    ];
    for (const [task, target] of [
      ['regression', 'cutSeconds'],
      ['binary', 'scrapped'],
    ] as const) {
      const spec = specOf({ task, target, features });
      const frame = trainingFrame(table, spec);
      const data = trainingData(frame, spec, frame.rows.train);
      // Ordering moved categories, so codes were renumbered, not copied.
      expect(data.features).not.toEqual(
        describeFeatures(frame.featureTable.take(frame.rows.train), spec.features),
      );
      expect(data).toEqual(frameData(frame, spec, frame.rows.train, data.features));
    }
  });
});
