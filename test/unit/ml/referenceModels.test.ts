/**
 * The ML core's acceptance on the real data sets: accuracy, ONNX parity (rows with unseen
 * categories and missing values included) and byte-identical exports for the same seed.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { prepareDataLike, prepareTrainingData, type TrainingData } from '../../../ml/dataset';
import { predictGbdtTable, trainGbdt } from '../../../ml/gbdt';
import { predictLinearTable, trainLinear } from '../../../ml/linear';
import { auc, rmse } from '../../../ml/metrics';
import type { LinearModel, Model } from '../../../ml/model';
import { exportOnnx, scoreOnnx } from '../../../ml/onnx';
import {
  loadAi4i,
  loadSteelEnergy,
  REFERENCE_GBDT_OPTIONS,
  type ReferenceDataset,
} from '../../../ml/referenceDatasets';
import { categoricalFromLabels, Table, type Column } from '../../../ml/table';
import { sharedData as dataDir } from '../../sharedData';

/**
 * The test rows, then the same rows again with every third categorical value replaced by a label
 * the model never saw and every fifth numeric value missing: a shop's new material, a blank field.
 */
function withUnseenAndMissing(table: Table): Table {
  const columns = table.columns.map((column): Column => {
    if (column.kind === 'numeric') {
      const values = column.values.slice();
      for (let row = 0; row < values.length; row += 5) values[row] = Number.NaN;
      return { ...column, values };
    }
    const labels = Array.from(column.codes, (code, row) =>
      row % 3 === 0 ? 'titanium-never-seen' : code < 0 ? null : (column.dictionary[code] ?? null),
    );
    return categoricalFromLabels(column.name, labels);
  });
  return new Table(columns);
}

/** Model output as one flat array: the value (regression) or the probability of class 1 (binary). */
function predictTable(model: Model, table: Table): Float64Array {
  return model.type === 'gbdt'
    ? predictGbdtTable(model, table)
    : predictLinearTable(model as LinearModel, table);
}

/** Within 1e-5 relative, with a 1e-6 absolute floor for values near zero. */
function expectParity(onnx: Float64Array, typescript: Float64Array): void {
  expect(onnx.length).toBe(typescript.length);
  let worst = 0;
  for (let row = 0; row < onnx.length; row++) {
    const a = onnx[row] as number;
    const b = typescript[row] as number;
    const excess = Math.abs(a - b) - (1e-5 * Math.max(Math.abs(a), Math.abs(b)) + 1e-6);
    worst = Math.max(worst, excess);
    if (excess > 0) expect.fail(`row ${row}: onnxruntime ${a} vs TypeScript ${b}`);
  }
  expect(worst).toBeLessThanOrEqual(0);
}

describe.each([
  { load: loadSteelEnergy, options: REFERENCE_GBDT_OPTIONS.steelEnergy, metric: 'rmse', bound: 1.1 },
  { load: loadAi4i, options: REFERENCE_GBDT_OPTIONS.ai4i, metric: 'auc', bound: 0.96 },
] as const)('$load.name', ({ load, options, metric, bound }) => {
  let dataset: ReferenceDataset;
  let train: TrainingData;
  let test: TrainingData;
  let gbdt: Model;
  let linear: Model;

  beforeAll(async () => {
    dataset = await load(dataDir);
    train = prepareTrainingData(dataset.train, dataset);
    test = prepareDataLike(dataset.test, train, dataset.target);
    gbdt = trainGbdt(train, options);
    linear = trainLinear(train);
  });

  it(`boosted trees reach the reference ${metric}`, () => {
    const predicted = predictTable(gbdt, dataset.test);
    if (metric === 'rmse') expect(rmse(test.target, predicted)).toBeLessThanOrEqual(bound);
    else expect(auc(test.target, predicted)).toBeGreaterThanOrEqual(bound);
  });

  it.each(['gbdt', 'linear'] as const)(
    'the %s model scores the same through onnxruntime, unseen categories and gaps included',
    async (kind) => {
      const model = kind === 'gbdt' ? gbdt : linear;
      const rows = withUnseenAndMissing(dataset.test.select(dataset.features));
      expectParity(await scoreOnnx(exportOnnx(model), rows), predictTable(model, rows));
      expectParity(await scoreOnnx(exportOnnx(model), dataset.test), predictTable(model, dataset.test));
    },
  );

  it('the same seed on the same data gives a byte-identical ONNX file', () => {
    const again = exportOnnx(trainGbdt(train, options));
    expect(Buffer.from(again).equals(Buffer.from(exportOnnx(gbdt)))).toBe(true);
  });
});
