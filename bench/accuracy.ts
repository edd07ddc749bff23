/**
 * `npm run bench -- accuracy [case]`: what the trees' categorical handling and defaults do to
 * accuracy, on the data sets they are measured on and on held-out ones (heldOutDatasets.ts) they
 * were not chosen on. Every run trains the gradient-boosted trees twice at the same budget, in the
 * same process: as before issue 16 (categories coded in order of first appearance and split like
 * numbers, L2 1 for every loss) and as now (codes in target order, category splits, the loss's
 * DEFAULT_L2). A JSON line per case gives each run's test metric both ways, the change in percent
 * (positive = now worse) and the worst run.
 */
import path from 'node:path';
import { readCsvFile } from '../ml/csv';
import {
  describeFeatures,
  encodeFeatures,
  prepareDataLike,
  prepareTrainingData,
  type TrainingData,
} from '../ml/dataset';
import { type GbdtOptions, predictGbdt, trainGbdt } from '../ml/gbdt';
import { auc, rmse } from '../ml/metrics';
import {
  loadAi4i,
  REFERENCE_GBDT_OPTIONS,
  referenceDataDir,
  STEEL_ENERGY_CSV,
  type ReferenceDataset,
} from '../ml/referenceDatasets';
import { repoRoot } from '../platform/paths';
import { type CaseLine, round, runCaseWhenStarted } from './caseLine';
import { garmentStyle, plateStyle } from './heldOutDatasets';

interface AccuracyCase {
  /** The runs: each a train/test split. */
  datasets: () => Promise<ReferenceDataset[]>;
  params: GbdtOptions;
}

const dataDir = () => referenceDataDir(repoRoot, process.env.KERF_SHARED_DATA);

/** Steel-energy, time-ordered: train on the first `trainRows`, test on the 8,760 after them. */
async function steelWindows(trainRows: number[]): Promise<ReferenceDataset[]> {
  const table = await readCsvFile(path.join(dataDir(), STEEL_ENERGY_CSV));
  const target = 'Usage_kWh';
  const features = table.columnNames.filter((name) => ![target, 'date', 'CO2(tCO2)'].includes(name));
  return trainRows.map((rows) => ({
    name: `steel-energy-${rows}`,
    task: 'regression',
    target,
    features,
    train: table.slice(0, rows),
    test: table.slice(rows, rows + 8_760),
  }));
}

export const CASES: Record<string, AccuracyCase> = {
  // The agreed split (26,280 / 8,760) and two earlier windows of the same year.
  'steel-energy': {
    datasets: () => steelWindows([26_280, 17_520, 8_760]),
    params: REFERENCE_GBDT_OPTIONS.steelEnergy,
  },
  ai4i2020: { datasets: async () => [await loadAi4i(dataDir())], params: REFERENCE_GBDT_OPTIONS.ai4i },
  'plate-style': {
    datasets: () => Promise.resolve([1, 2, 3].map((seed) => plateStyle(20_000, seed))),
    params: REFERENCE_GBDT_OPTIONS.steelEnergy,
  },
  'garment-style': {
    datasets: () => Promise.resolve([1, 2, 3, 4, 5].map((seed) => garmentStyle(3_000, seed))),
    params: REFERENCE_GBDT_OPTIONS.steelEnergy,
  },
};

/** How the trees were trained before issue 16: on first-seen codes, with these options. */
const BEFORE: GbdtOptions = { categorySplits: false, l2: 1 };

/** The test metric (RMSE, or AUC for binary) of trees trained on `train`. */
function testMetric(dataset: ReferenceDataset, train: TrainingData, options: GbdtOptions): number {
  const test = prepareDataLike(dataset.test, train, dataset.target);
  const predicted = predictGbdt(trainGbdt(train, options), test);
  return dataset.task === 'regression' ? rmse(test.target, predicted) : auc(test.target, predicted);
}

export async function runCase(name: string): Promise<CaseLine> {
  const accuracyCase = CASES[name];
  if (!accuracyCase) throw new Error(`Unknown case "${name}"; cases: ${Object.keys(CASES).join(', ')}`);
  const runs = (await accuracyCase.datasets()).map((dataset) => {
    const now = prepareTrainingData(dataset.train, dataset);
    const firstSeen = {
      ...now,
      ...encodeFeatures(dataset.train, describeFeatures(dataset.train, dataset.features)),
    };
    const metric = dataset.task === 'regression' ? 'rmse' : 'auc';
    const before = testMetric(dataset, firstSeen, { ...accuracyCase.params, ...BEFORE });
    const after = testMetric(dataset, now, accuracyCase.params);
    // Positive: worse now (RMSE up, AUC down).
    const worse = metric === 'rmse' ? after / before - 1 : before / after - 1;
    return {
      data: dataset.name,
      metric,
      before: round(before, 4),
      now: round(after, 4),
      worse_pct: round(worse * 100, 2),
    };
  });
  return {
    bench: 'accuracy',
    case: name,
    runs,
    worst_pct: Math.max(...runs.map((run) => run.worse_pct)),
    mean_pct: round(runs.reduce((sum, run) => sum + run.worse_pct, 0) / runs.length, 2),
  };
}

runCaseWhenStarted('accuracy.ts', runCase);
