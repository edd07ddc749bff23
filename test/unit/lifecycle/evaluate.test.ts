import { describe, expect, it } from 'vitest';
import { encodeFeatures } from '../../../ml/dataset';
import { binaryMetrics, multiclassMetrics, regressionMetrics } from '../../../ml/metrics';
import type { Model } from '../../../ml/model';
import { Random } from '../../../ml/random';
import { friedman1 } from '../../../ml/referenceDatasets';
import type { TaskMetrics } from '../../../ml/slices';
import { categoricalFromLabels, numericFromValues, Table } from '../../../ml/table';
import { trainerOfModel } from '../../../ml/trainers';
import {
  type ChampionScore,
  EvaluationError,
  evaluateOnTestSet,
  scoreChampion,
  scoreOnnx,
} from '../../../lifecycle/evaluate';
import { evaluateQualityGate } from '../../../lifecycle/gates/quality';
import { qualityGateSchema } from '../../../lifecycle/spec/parts';
import { splitLabelledRows } from '../../../lifecycle/split';
import { trainCandidate, type TrainingSpec } from '../../../lifecycle/train';
import { FRIEDMAN_FEATURES, specOf } from './fixtures';

/** 400 rows of Friedman #1, plus `band`: y as three classes (low, mid, high). */
const friedman = withBands(friedman1(500).train);

function withBands(table: Table): Table {
  const y = table.numeric('y').values;
  const bands = Array.from(y, (value) => (value < 12 ? 'low' : value < 17 ? 'mid' : 'high'));
  return new Table([...table.columns, categoricalFromLabels('band', bands)]);
}

/** Laser parts: scrapped or not and cut seconds; the last `titaniumRows` rows are of a new material. */
function partsTable(rows: number, titaniumRows = 0): Table {
  const random = new Random(8);
  const materials = ['S235', 'S355', 'AlMg3', '1.4301'];
  const material: string[] = [];
  const thickness: number[] = [];
  const scrapped: string[] = [];
  const cutSeconds: number[] = [];
  for (let row = 0; row < rows; row++) {
    const grade = row >= rows - titaniumRows ? 'Ti' : (materials[random.below(4)] as string);
    const mm = 0.5 + random.next() * 11.5;
    const stainless = grade === '1.4301' ? 1 : 0;
    material.push(grade);
    thickness.push(mm);
    scrapped.push(random.next() < 1 / (1 + Math.exp(3 - 2 * stainless - 0.3 * mm)) ? 'scrap' : 'good');
    cutSeconds.push(20 + 8 * mm + 15 * stainless + random.next() * 4);
  }
  return new Table([
    categoricalFromLabels('material', material),
    numericFromValues('thicknessMm', thickness),
    categoricalFromLabels('scrapped', scrapped),
    numericFromValues('cutSeconds', cutSeconds),
  ]);
}

const PART_FEATURES = [
  { name: 'material', kind: 'categorical' },
  { name: 'thicknessMm', kind: 'numeric' },
];

/** The ML core's own predictions of a model (float64 scoring of float32-rounded inputs). */
function corePrediction(model: Model, table: Table): Float64Array {
  return trainerOfModel(model).predict(model, encodeFeatures(table, model.features));
}

/**
 * Trains `spec` on `table` and measures the ONNX file on the test rows; `core` is what the ML core
 * predicts for those rows, which the ONNX scores must match.
 */
async function trainAndEvaluate(table: Table, spec: TrainingSpec) {
  const { model, onnx } = trainCandidate({ table, spec });
  const result = await evaluateOnTestSet({ onnx, table, spec });
  return { result, core: corePrediction(model, table.take(result.testRows)) };
}

/** ONNX computes in float32: metrics agree with the ML core's to about 5 digits. */
function expectMetricsClose(actual: TaskMetrics, expected: TaskMetrics): void {
  expect(Object.keys(actual).sort()).toEqual(Object.keys(expected).sort());
  for (const [key, value] of Object.entries(expected)) {
    const got: unknown = (actual as unknown as Record<string, unknown>)[key];
    if (typeof value === 'number') expect(got, key).toBeCloseTo(value, 4);
    else expect(got, key).toEqual(value);
  }
}

/** Why a champion is not comparable; fails the test when it is. */
function reasonOf(score: ChampionScore): string {
  if (score.comparable) throw new Error('expected the champion not to be comparable');
  return score.reason;
}

describe('evaluateOnTestSet', () => {
  it("measures the ONNX file on the spec's test rows as the ML core measures the model", async () => {
    const spec = specOf({});
    const { result, core } = await trainAndEvaluate(friedman, spec);
    expect(Array.from(result.testRows)).toEqual(Array.from({ length: 80 }, (_, i) => 320 + i));
    const testTable = friedman.take(result.testRows);
    expect(Array.from(result.y)).toEqual(Array.from(testTable.numeric('y').values));
    result.prediction.forEach((value, row) => expect(value).toBeCloseTo(core[row] as number, 4));
    expectMetricsClose(result.metrics, regressionMetrics(result.y, core));
    expect(result.metrics).toMatchObject({ count: 80 });
    expect(result.classLabels).toBeUndefined();
  });

  it('agrees with the ML core for a linear model whose test rows hold an unseen category', async () => {
    const spec = specOf({
      target: 'cutSeconds',
      features: PART_FEATURES,
      trainer: { kind: 'linear', params: { l2: 1 } },
    });
    const { result, core } = await trainAndEvaluate(partsTable(300, 20), spec);
    expectMetricsClose(result.metrics, regressionMetrics(result.y, core));
    // A line through material and thickness explains the cut time well.
    expect((result.metrics as { r2: number }).r2).toBeGreaterThan(0.8);
  });

  it("scores a binary classifier: class 1's probability, classes by the model's labels", async () => {
    const spec = specOf({
      task: 'binary',
      target: 'scrapped',
      features: PART_FEATURES,
      split: { kind: 'random', testFraction: 0.25, seed: 4 },
    });
    const table = partsTable(400);
    const { result, core } = await trainAndEvaluate(table, spec);
    expect(result.classLabels).toEqual(['good', 'scrap']);
    const labels = Array.from(result.testRows, (row) => table.value('scrapped', row));
    expect(Array.from(result.y)).toEqual(labels.map((label) => (label === 'scrap' ? 1 : 0)));
    expect(result.prediction).toHaveLength(100);
    expect(result.prediction.every((p) => p >= 0 && p <= 1)).toBe(true);
    expectMetricsClose(result.metrics, binaryMetrics(result.y, core));
    expect((result.metrics as { auc: number }).auc).toBeGreaterThan(0.7);
  });

  it('scores a multiclass classifier as rows x classes probabilities', async () => {
    const spec = specOf({
      task: 'multiclass',
      target: 'band',
      trainer: { kind: 'gbdt', params: { iterations: 15 } },
    });
    const { result, core } = await trainAndEvaluate(friedman, spec);
    expect(result.classLabels).toEqual(['high', 'low', 'mid']);
    expect(result.prediction).toHaveLength(80 * 3);
    expectMetricsClose(result.metrics, multiclassMetrics(result.y, core, 3));
  });

  it('refuses bytes that are not a Kerf model, and a model of another task', async () => {
    const spec = specOf({});
    await expect(evaluateOnTestSet({ onnx: Uint8Array.of(1, 2, 3), table: friedman, spec })).rejects.toThrow(
      EvaluationError,
    );
    const { onnx } = trainCandidate({
      table: friedman,
      spec: specOf({ trainer: { kind: 'linear', params: {} } }),
    });
    await expect(
      evaluateOnTestSet({ onnx, table: friedman, spec: { ...spec, task: 'binary', target: 'band' } }),
    ).rejects.toThrow("it is a regression model but the spec's task is binary");
  });
});

describe('scoreOnnx', () => {
  it('returns one probability per row for a binary model', async () => {
    const spec = specOf({ task: 'binary', target: 'scrapped', features: PART_FEATURES });
    const table = partsTable(200);
    const { model, onnx } = trainCandidate({ table, spec });
    const scores = await scoreOnnx(onnx, table);
    expect(scores).toHaveLength(200);
    const expected = corePrediction(model, table);
    scores.forEach((p, row) => expect(p).toBeCloseTo(expected[row] as number, 5));
  });
});

describe('scoreChampion', () => {
  it("scores the champion on the candidate's test rows", async () => {
    const spec = specOf({});
    const champion = trainCandidate({
      table: friedman,
      spec: specOf({ trainer: { kind: 'gbdt', params: { iterations: 5 } } }),
    });
    const candidate = trainCandidate({ table: friedman, spec });
    const evaluated = await evaluateOnTestSet({ onnx: candidate.onnx, table: friedman, spec });
    const score = await scoreChampion({
      onnx: champion.onnx,
      table: friedman,
      spec,
      testRows: evaluated.testRows,
    });
    if (!score.comparable) throw new Error(`expected a comparable champion: ${score.reason}`);
    const alone = await evaluateOnTestSet({ onnx: champion.onnx, table: friedman, spec });
    expect(score.metrics).toEqual(alone.metrics);
    expect(Array.from(score.y)).toEqual(Array.from(evaluated.y));
    // Five rounds at learning rate 0.1 have barely left the mean: the candidate is far better.
    const rmse = (metrics: TaskMetrics) => (metrics as { rmse: number }).rmse;
    expect(rmse(score.metrics)).toBeGreaterThan(rmse(evaluated.metrics));
  });

  it('is not comparable when the champion takes a column the spec dropped', async () => {
    const older = specOf({
      features: [...FRIEDMAN_FEATURES, 'x8'].map((name) => ({ name, kind: 'numeric' })),
      trainer: { kind: 'gbdt', params: { iterations: 5 } },
    });
    const champion = trainCandidate({ table: friedman, spec: older });
    const table = friedman.select([...FRIEDMAN_FEATURES, 'y']);
    const testRows = splitLabelledRows(table, 'y', older.split).test;
    const score = await scoreChampion({ onnx: champion.onnx, table, spec: specOf({}), testRows });
    expect(score).toEqual({
      comparable: false,
      reason: expect.stringContaining('it takes column "x8", which the snapshot does not hold') as unknown,
    });
  });

  it('is not comparable when the task changed or the test rows hold a class it does not know', async () => {
    const spec = specOf({ task: 'multiclass', target: 'band', trainer: { kind: 'linear', params: {} } });
    const testRows = splitLabelledRows(friedman, 'band', spec.split).test;
    const regression = trainCandidate({
      table: friedman,
      spec: specOf({ trainer: { kind: 'linear', params: {} } }),
    });
    const asRegression = await scoreChampion({ onnx: regression.onnx, table: friedman, spec, testRows });
    expect(reasonOf(asRegression)).toContain("it is a regression model but the spec's task is multiclass");

    const champion = trainCandidate({ table: friedman, spec });
    const bands = Array.from({ length: friedman.rowCount }, (_, row) =>
      row >= 390 ? 'extreme' : (friedman.value('band', row) as string),
    );
    const widened = new Table([
      ...friedman.columns.filter((column) => column.name !== 'band'),
      categoricalFromLabels('band', bands),
    ]);
    const score = await scoreChampion({ onnx: champion.onnx, table: widened, spec, testRows });
    expect(reasonOf(score)).toContain('"extreme", which the champion does not know');
  });

  it('is not comparable when a binary champion has other classes, so class 1 would differ', async () => {
    const spec = specOf({ task: 'binary', target: 'scrapped', features: PART_FEATURES });
    const table = partsTable(200);
    const champion = trainCandidate({ table, spec });
    // The new data's classes are good/rework; its test rows happen to be all good.
    const relabelled = new Table([
      ...table.columns.filter((column) => column.name !== 'scrapped'),
      categoricalFromLabels(
        'scrapped',
        Array.from({ length: 200 }, (_, row) => (row < 100 && row % 2 === 0 ? 'rework' : 'good')),
      ),
    ]);
    const testRows = splitLabelledRows(relabelled, 'scrapped', spec.split).test;
    const score = await scoreChampion({ onnx: champion.onnx, table: relabelled, spec, testRows });
    expect(reasonOf(score)).toContain(
      'The champion\'s classes are "good", "scrap" but the data\'s are "good", "rework"',
    );
  });
});

describe('evaluateOnTestSet: the baseline floor', () => {
  it("scores the training mean on the same test rows, through onnxruntime, as the candidate's floor", async () => {
    const spec = specOf({});
    const { onnx } = trainCandidate({ table: friedman, spec });
    const result = await evaluateOnTestSet({ onnx, table: friedman, spec });
    const rows = splitLabelledRows(friedman, 'y', spec.split);
    const train = friedman.numeric('y').values;
    let sum = 0;
    for (const row of rows.train) sum += train[row] as number;
    const mean = sum / rows.train.length;
    expect(result.floor.kind).toBe('baseline');
    expectMetricsClose(
      result.floor.metrics,
      regressionMetrics(result.y, new Float64Array(result.y.length).fill(mean)),
    );
    // A GBDT on learnable data clears the floor in the quality gate.
    const verdict = evaluateQualityGate({
      task: 'regression',
      challenger: result.metrics,
      champion: undefined,
      gate: qualityGateSchema.parse({}),
      floor: { ...result.floor, candidateKind: spec.trainer.kind },
    });
    expect(verdict.checks.find((check) => check.name === 'beats-baseline-floor:rmse')).toMatchObject({
      passed: true,
      judged: true,
    });
  });

  it('predicts the training class frequencies as the multiclass floor', async () => {
    const spec = specOf({ task: 'multiclass', target: 'band', trainer: { kind: 'linear', params: {} } });
    const { onnx } = trainCandidate({ table: friedman, spec });
    const result = await evaluateOnTestSet({ onnx, table: friedman, spec });
    const labels = result.classLabels ?? [];
    const { train } = splitLabelledRows(friedman, 'band', spec.split);
    const shares = labels.map(
      (label) =>
        Array.from(train).filter((row) => friedman.value('band', row) === label).length / train.length,
    );
    const prior = Float64Array.from(
      { length: result.y.length * labels.length },
      (_, i) => shares[i % labels.length] as number,
    );
    expectMetricsClose(result.floor.metrics, multiclassMetrics(result.y, prior, labels.length));
  });
});
