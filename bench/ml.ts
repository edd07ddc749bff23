/**
 * ML core benchmark: one case per process (so peak memory belongs to that case), printing one
 * JSON line: the test metric, fit time, onnxruntime scoring throughput and peak RSS.
 *
 *   npm run bench -- ml              every case
 *   npx tsx bench/ml.ts steel-energy/gbdt
 */
import { performance } from 'node:perf_hooks';
import { prepareDataLike, prepareTrainingData } from '../ml/dataset';
import type { GbdtOptions } from '../ml/gbdt';
import { auc, logLoss, rmse } from '../ml/metrics';
import { exportOnnx, OnnxScorer } from '../ml/onnx';
import {
  friedman1,
  loadAi4i,
  loadSteelEnergy,
  REFERENCE_GBDT_OPTIONS,
  referenceDataDir,
  type ReferenceDataset,
} from '../ml/referenceDatasets';
import { type AnyTrainer, trainers } from '../ml/trainers';
import { repoRoot } from '../platform/paths';
import { type CaseLine, peakRssMb, round, runCaseWhenStarted } from './caseLine';

interface BenchCase {
  dataset: () => Promise<ReferenceDataset> | ReferenceDataset;
  trainer: AnyTrainer;
  /** The trainer's parameters; each missing one takes its default. */
  params?: GbdtOptions;
}

// The repository's data/reference unless KERF_SHARED_DATA overrides it; resolved when a case needs
// it, so a missing folder names itself instead of failing at import.
const dataDir = () => referenceDataDir(repoRoot, process.env.KERF_SHARED_DATA);
/** The budgets the issue sets: 200 trees, learning rate 0.1, up to 31 leaves on steel-energy. */
export const GBDT_STEEL: GbdtOptions = { iterations: 200, learningRate: 0.1, maxLeaves: 31 };
export const GBDT_AI4I: GbdtOptions = {
  iterations: 300,
  learningRate: 0.05,
  maxLeaves: 15,
  minSamplesLeaf: 10,
};
export const GBDT_FRIEDMAN: GbdtOptions = { iterations: 200, learningRate: 0.1, maxLeaves: 31 };

export const CASES: Record<string, BenchCase> = {
  'steel-energy/gbdt': {
    dataset: () => loadSteelEnergy(dataDir()),
    trainer: trainers.gbdt,
    params: REFERENCE_GBDT_OPTIONS.steelEnergy,
  },
  'steel-energy/linear': { dataset: () => loadSteelEnergy(dataDir()), trainer: trainers.linear },
  'ai4i2020/gbdt': {
    dataset: () => loadAi4i(dataDir()),
    trainer: trainers.gbdt,
    params: REFERENCE_GBDT_OPTIONS.ai4i,
  },
  'ai4i2020/linear': { dataset: () => loadAi4i(dataDir()), trainer: trainers.linear },
  'friedman1-100k/gbdt': {
    dataset: () => friedman1(100_000),
    trainer: trainers.gbdt,
    params: REFERENCE_GBDT_OPTIONS.friedman1,
  },
  'friedman1-1m/gbdt': {
    dataset: () => friedman1(1_000_000),
    trainer: trainers.gbdt,
    params: REFERENCE_GBDT_OPTIONS.friedman1,
  },
};

async function scoringRowsPerSecond(
  model: Parameters<AnyTrainer['predict']>[0],
  dataset: ReferenceDataset,
): Promise<number> {
  const scorer = await OnnxScorer.load(exportOnnx(model));
  try {
    const started = performance.now();
    let rows = 0;
    // At least half a second of batch scoring, for a stable rate.
    while (performance.now() - started < 500) {
      await scorer.scoreTable(dataset.test);
      rows += dataset.test.rowCount;
    }
    return Math.round(rows / ((performance.now() - started) / 1000));
  } finally {
    await scorer.release();
  }
}

export async function runCase(name: string): Promise<CaseLine> {
  const benchCase = CASES[name];
  if (!benchCase) throw new Error(`Unknown case "${name}"; cases: ${Object.keys(CASES).join(', ')}`);
  const dataset = await benchCase.dataset();
  const train = prepareTrainingData(dataset.train, dataset);
  const test = prepareDataLike(dataset.test, train, dataset.target);
  const started = performance.now();
  const { trainer } = benchCase;
  const { model } = trainer.train(train, trainer.params.parse(benchCase.params ?? {}));
  const fitSeconds = (performance.now() - started) / 1000;
  const predicted = trainer.predict(model, test);
  const quality =
    dataset.task === 'regression'
      ? { rmse: round(rmse(test.target, predicted), 4) }
      : { auc: round(auc(test.target, predicted), 4), log_loss: round(logLoss(test.target, predicted), 4) };
  return {
    bench: 'ml',
    dataset: dataset.name,
    model: trainer.kind,
    train_rows: train.rowCount,
    test_rows: test.rowCount,
    ...quality,
    fit_s: round(fitSeconds, 3),
    ...trainer.size?.(model),
    score_rows_per_s: await scoringRowsPerSecond(model, dataset),
    peak_rss_mb: peakRssMb(),
  };
}

runCaseWhenStarted('ml.ts', runCase);
