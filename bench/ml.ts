/**
 * ML core benchmark: one case per process (so peak memory belongs to that case), printing one
 * JSON line: the test metric, fit time, onnxruntime scoring throughput and peak RSS. The GBDT cases
 * also fit LightGBM, XGBoost and scikit-learn's HistGradientBoosting (bench/peers/gbdt.py, each in
 * a Python process of its own, so its peak memory is its own) on the same rows with the same budget,
 * and give Kerf's ratios to each from the same run: `fit_time_ratio` and `memory_ratio` are Kerf's
 * over the peer's, `*_diff` are Kerf's metric minus the peer's. Without Python (or with
 * KERF_BENCH_PEERS=off) the line says why in `peers_skipped`.
 *
 *   npm run bench -- ml              every case
 *   npx tsx bench/ml.ts steel-energy/gbdt
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { prepareDataLike, prepareTrainingData, type TrainingData } from '../ml/dataset';
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
import { garmentStyle, plateStyle } from './heldOutDatasets';
import { encodedColumns, writeArrowFile } from './peerData';
import { peersSwitchedOff, pythonPeers, runPeerScript } from './pythonPeers';

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
  // Held-out shapes (heldOutDatasets.ts): the defaults were not chosen on them.
  'plate-style/gbdt': {
    dataset: () => plateStyle(20_000, 1),
    trainer: trainers.gbdt,
    params: REFERENCE_GBDT_OPTIONS.steelEnergy,
  },
  'garment-style/gbdt': {
    dataset: () => garmentStyle(3_000, 1),
    trainer: trainers.gbdt,
    params: REFERENCE_GBDT_OPTIONS.steelEnergy,
  },
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

/**
 * The peers of a GBDT case, in the order they run. `lightgbm_codes` runs only on data with
 * categorical features: LightGBM reading each category as a number, its label's rank in
 * alphabetical order, with no categorical handling. That is how the steel-energy baseline
 * (RMSE 1.0018) read the categories; LightGBM's own categorical handling is the `lightgbm` peer.
 */
const GBDT_PEERS = ['lightgbm', 'xgboost', 'sklearn', 'lightgbm_codes'] as const;

/** What one peer reported, and Kerf's ratios to it. */
type PeerFigures = Record<string, unknown>;

/** The GBDT budget the peers get: the case's, with Kerf's defaults for what it leaves out. */
function peerBudget(params: GbdtOptions | undefined): {
  iterations: number;
  learningRate: number;
  maxLeaves: number;
} {
  return {
    iterations: params?.iterations ?? 100,
    learningRate: params?.learningRate ?? 0.1,
    maxLeaves: params?.maxLeaves ?? 31,
  };
}

/**
 * Fits each GBDT peer on `train` and scores `test` (the rows Kerf used, as Kerf's trainer saw them)
 * in a Python process per peer; `kerf` holds Kerf's figures for the ratios.
 */
async function gbdtPeers(
  dataset: ReferenceDataset,
  train: TrainingData,
  test: TrainingData,
  params: GbdtOptions | undefined,
  kerf: { fitSeconds: number; peakRssMb: number; quality: Record<string, number> },
): Promise<{ peers: Record<string, PeerFigures> } | { peers_skipped: string }> {
  if (peersSwitchedOff(process.env)) return { peers_skipped: 'KERF_BENCH_PEERS=off' };
  const python = await pythonPeers();
  if (!python.available) return { peers_skipped: python.reason };
  const dir = await mkdtemp(path.join(tmpdir(), 'kerf-bench-ml-'));
  try {
    const trainFile = path.join(dir, 'train.arrow');
    const testFile = path.join(dir, 'test.arrow');
    await writeArrowFile(trainFile, encodedColumns(train, train.target, dataset.target));
    await writeArrowFile(testFile, encodedColumns(test, test.target, dataset.target));
    const budget = peerBudget(params);
    const caseFile = path.join(dir, 'case.json');
    await writeFile(
      caseFile,
      JSON.stringify({
        train: trainFile,
        train_rows: train.rowCount,
        test: testFile,
        test_rows: test.rowCount,
        target: dataset.target,
        task: dataset.task,
        features: train.features.map((feature) => feature.name),
        categorical: train.features
          .filter((feature) => feature.kind === 'categorical')
          .map((feature) => feature.name),
        // Each categorical feature's labels by code, for lightgbm_codes.
        category_labels: Object.fromEntries(
          train.features.flatMap((feature) =>
            feature.kind === 'categorical' ? [[feature.name, feature.categories]] : [],
          ),
        ),
        iterations: budget.iterations,
        learning_rate: budget.learningRate,
        max_leaves: budget.maxLeaves,
        // The threads Kerf may use (it trains small data on one of them).
        threads: Math.min(4, availableParallelism()),
      }),
    );
    const peers: Record<string, PeerFigures> = {};
    const hasCategories = train.features.some((feature) => feature.kind === 'categorical');
    for (const peer of GBDT_PEERS) {
      if (peer === 'lightgbm_codes' && !hasCategories) continue;
      process.stderr.write(`ml: ${dataset.name} ${peer}\n`);
      const line = await runPeerScript(python.python, 'gbdt.py', [caseFile, peer], {
        OMP_NUM_THREADS: String(Math.min(4, availableParallelism())),
      });
      const fitSeconds = Number(line.fit_s);
      const peakMb = Number(line.peak_rss_mb);
      const figures: PeerFigures = { version: line.version };
      const diffs: Record<string, number> = {};
      for (const [metric, value] of Object.entries(kerf.quality)) {
        const theirs = Number(line[metric]);
        figures[metric] = round(theirs, 4);
        diffs[`${metric}_diff`] = round(value - theirs, 4);
      }
      peers[peer] = {
        ...figures,
        fit_s: round(fitSeconds, 3),
        peak_rss_mb: Math.round(peakMb),
        fit_time_ratio: round(kerf.fitSeconds / fitSeconds, 2),
        memory_ratio: round(kerf.peakRssMb / peakMb, 2),
        ...diffs,
      };
    }
    return { peers };
  } finally {
    await rm(dir, { recursive: true, force: true });
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
  const quality: Record<string, number> =
    dataset.task === 'regression'
      ? { rmse: round(rmse(test.target, predicted), 4) }
      : { auc: round(auc(test.target, predicted), 4), log_loss: round(logLoss(test.target, predicted), 4) };
  // Kerf's peak through fitting and predicting, before scoring and the peers' files add theirs.
  const fitPeakRssMb = peakRssMb();
  const scoreRowsPerSecond = await scoringRowsPerSecond(model, dataset);
  const scoredPeakRssMb = peakRssMb();
  const peers =
    trainer.kind === 'gbdt'
      ? await gbdtPeers(dataset, train, test, benchCase.params, {
          fitSeconds,
          peakRssMb: fitPeakRssMb,
          quality,
        })
      : {};
  return {
    bench: 'ml',
    dataset: dataset.name,
    model: trainer.kind,
    train_rows: train.rowCount,
    test_rows: test.rowCount,
    ...quality,
    fit_s: round(fitSeconds, 3),
    ...trainer.size?.(model),
    score_rows_per_s: scoreRowsPerSecond,
    fit_peak_rss_mb: fitPeakRssMb,
    peak_rss_mb: scoredPeakRssMb,
    ...peers,
  };
}

runCaseWhenStarted('ml.ts', runCase);
