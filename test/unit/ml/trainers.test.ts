import { describe, expect, it } from 'vitest';
import { fitBaseline } from '../../../ml/baseline/trainer';
import { encodeFeatures, prepareTrainingData, type TrainingData } from '../../../ml/dataset';
import type { TaskKind } from '../../../ml/model';
import { exportOnnx, readMetadata, scoreOnnx } from '../../../ml/onnx';
import { Random } from '../../../ml/random';
import { categoricalFromLabels, numericFromValues, Table } from '../../../ml/table';
import { TRAINER_KINDS, trainerOf } from '../../../ml/trainers';

/** A small shop table: thickness and material drive the cut time; the band and the late flag follow it. */
function shopTable(rows = 120): Table {
  const random = new Random(7);
  const materials = ['steel', 'aluminium', 'stainless'];
  const thickness: (number | null)[] = [];
  const material: (string | null)[] = [];
  const seconds: number[] = [];
  for (let i = 0; i < rows; i++) {
    const t = Math.round(random.next() * 80) / 10 + 0.5;
    const m = materials[i % 3] as string;
    thickness.push(i % 17 === 0 ? null : t);
    material.push(i % 23 === 0 ? null : m);
    seconds.push(20 + 9 * t + (m === 'stainless' ? 30 : 0) + random.next() * 5);
  }
  return new Table([
    numericFromValues('thickness', thickness),
    categoricalFromLabels('material', material),
    numericFromValues('seconds', seconds),
    categoricalFromLabels(
      'late',
      seconds.map((value) => (value > 70 ? 'yes' : 'no')),
    ),
    categoricalFromLabels(
      'band',
      seconds.map((value) => (value < 50 ? 'short' : value < 90 ? 'medium' : 'long')),
    ),
  ]);
}

const TARGETS: Record<TaskKind, string> = { regression: 'seconds', binary: 'late', multiclass: 'band' };

function dataOf(table: Table, task: TaskKind): TrainingData {
  return prepareTrainingData(table, { target: TARGETS[task], features: ['thickness', 'material'], task });
}

/** Within 1e-6, relative for values above 1 (the graph's output is float32). */
function expectParity(actual: Float64Array, expected: Float64Array): void {
  expect(actual.length).toBe(expected.length);
  expected.forEach((value, i) => {
    const tolerance = Math.max(1e-6, 1e-6 * Math.abs(value));
    expect(Math.abs((actual[i] as number) - value), `element ${i}`).toBeLessThanOrEqual(tolerance);
  });
}

describe('the trainer registry', () => {
  const table = shopTable();

  it('knows gbdt, linear and baseline, each entry naming its own kind', () => {
    expect(TRAINER_KINDS).toEqual(['gbdt', 'linear', 'baseline']);
    for (const kind of TRAINER_KINDS) expect(trainerOf(kind).kind).toBe(kind);
  });

  for (const kind of TRAINER_KINDS) {
    for (const task of ['regression', 'binary', 'multiclass'] as const) {
      it(`${kind} trains on a ${task} table, exports, and onnxruntime scores it as predict does`, async () => {
        const trainer = trainerOf(kind);
        const data = dataOf(table, task);
        const { model, summary } = trainer.train(data, trainer.params.parse({}));
        expect(model.type).toBe(kind);
        expect(summary.featureImportance.map((feature) => feature.name).sort()).toEqual([
          'material',
          'thickness',
        ]);
        const onnx = exportOnnx(model);
        expect(readMetadata(onnx)).toMatchObject({ type: kind, task });
        const expected = trainer.predict(model, encodeFeatures(table, model.features));
        expect(expected.length).toBe(table.rowCount * (task === 'multiclass' ? 3 : 1));
        expectParity(await scoreOnnx(onnx, table), expected);
      });
    }
  }

  it('gbdt and linear learn more than the baseline does on learnable data', () => {
    const data = dataOf(table, 'regression');
    const errorOf = (kind: (typeof TRAINER_KINDS)[number]) => {
      const trainer = trainerOf(kind);
      const { model } = trainer.train(data, trainer.params.parse({}));
      const prediction = trainer.predict(model, data);
      return Math.sqrt(
        prediction.reduce((sum, value, i) => sum + (value - (data.target[i] as number)) ** 2, 0) /
          data.rowCount,
      );
    };
    const floor = errorOf('baseline');
    expect(errorOf('gbdt')).toBeLessThan(floor / 2);
    expect(errorOf('linear')).toBeLessThan(floor / 2);
  });
});

describe('the baseline', () => {
  const features = [{ kind: 'numeric' as const, name: 'thickness' }];
  const data = (task: TaskKind, target: number[], classLabels?: string[]): TrainingData => ({
    task,
    features,
    columns: [Float64Array.from(target, () => 1)],
    rowCount: target.length,
    target: Float64Array.from(target),
    ...(classLabels ? { classLabels } : {}),
  });

  it('predicts the training mean by default and the median when asked (regression)', () => {
    const cutSeconds = [10, 20, 30, 100];
    expect(fitBaseline(data('regression', cutSeconds), { statistic: 'mean' }).values).toEqual([40]);
    expect(fitBaseline(data('regression', cutSeconds), { statistic: 'median' }).values).toEqual([25]);
    expect(fitBaseline(data('regression', [3, 1, 2]), { statistic: 'median' }).values).toEqual([2]);
    expect(trainerOf('baseline').params.parse({})).toEqual({ statistic: 'mean' });
  });

  it('predicts the training class frequencies for binary and multiclass targets', () => {
    const binary = fitBaseline(data('binary', [0, 1, 1, 1], ['on time', 'late']), { statistic: 'mean' });
    expect(binary).toMatchObject({
      statistic: 'prior',
      values: [0.25, 0.75],
      classLabels: ['on time', 'late'],
    });
    const multiclass = fitBaseline(data('multiclass', [0, 2, 2, 1, 2], ['short', 'medium', 'long']), {
      statistic: 'mean',
    });
    expect(multiclass.values).toEqual([0.2, 0.2, 0.6]);
    const rows = { features, columns: [new Float64Array(2)], rowCount: 2 };
    expect(Array.from(trainerOf('baseline').predict(binary, rows))).toEqual([0.75, 0.75]);
    expect(Array.from(trainerOf('baseline').predict(multiclass, rows))).toEqual([
      0.2, 0.2, 0.6, 0.2, 0.2, 0.6,
    ]);
  });

  it('scores the same constant through onnxruntime, one row per input row', async () => {
    const model = fitBaseline(data('multiclass', [0, 2, 2, 1, 2], ['short', 'medium', 'long']), {
      statistic: 'mean',
    });
    const rows = new Table([numericFromValues('thickness', [1, null, 3])]);
    expectParity(
      await scoreOnnx(exportOnnx(model), rows),
      Float64Array.from([0.2, 0.2, 0.6, 0.2, 0.2, 0.6, 0.2, 0.2, 0.6]),
    );
  });
});
