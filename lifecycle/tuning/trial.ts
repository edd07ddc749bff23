/**
 * One tuning trial as a plain function: the stage's table, the spec and a trial's parameters in, the
 * tuning metric on each fold out. Each fold trains the spec's trainer on its training rows (with a
 * share of the boosting rounds, or of the rows, as its rung gives) and is scored on the rows after
 * them; nothing is stored. A trial past the search's deadline stops between two rounds and reports
 * so; parameters the trainer refuses make a failed trial, not a failed run.
 */
import type { TrainerProgress } from '../../ml/trainer';
import { trainerOf } from '../../ml/trainers';
import type { Table } from '../../ml/table';
import { metricsOf } from '../evaluate';
import { LOWER_IS_BETTER, modelTaskOf, type QualityMetric } from '../spec/metrics';
import type { PipelineSpec } from '../spec/schema';
import { frameData, trainingData, type TrainingSpec, trainingFrame } from '../train';
import { rowsFor, tuningFolds } from './folds';
import type { TrialParams, TrialResult } from './halving';

export interface TrialInput {
  table: Table;
  spec: TrainingSpec & Pick<PipelineSpec, 'timeColumn'>;
  trial: number;
  rung: number;
  fraction: number;
  params: TrialParams;
  folds: number;
  seed: number;
  metric: QualityMetric;
  /** Epoch ms after which the trial stops between two rounds. */
  stopAt: number;
  onProgress?: (progress: TrialProgress) => void;
  /** @default Date.now */
  now?: () => number;
}

export interface TrialProgress extends Partial<TrainerProgress> {
  fold: number;
  folds: number;
}

/** The search's deadline passed while the trial trained. */
class BudgetSpent extends Error {}

/** Whether the rows are in time order: a time column, or an ordered split of rows in source order. */
export function orderedRows(spec: Pick<PipelineSpec, 'timeColumn' | 'split'>): boolean {
  return spec.timeColumn !== undefined || spec.split.kind === 'ordered';
}

export function metricIsLowerBetter(metric: QualityMetric): boolean {
  return LOWER_IS_BETTER.includes(metric);
}

export function runTrial(input: TrialInput): TrialResult {
  const started = performance.now();
  const now = input.now ?? Date.now;
  const { spec, params } = input;
  const entry = trainerOf(spec.trainer.kind);
  const base = {
    trial: input.trial,
    rung: input.rung,
    fraction: input.fraction,
    params,
  };
  const seconds = () => Math.round(performance.now() - started) / 1000;
  const parsed = entry.params.safeParse({ ...spec.trainer.params, ...params });
  if (!parsed.success) {
    const reason = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    return { ...base, foldScores: [], rows: 0, seconds: seconds(), stopped: 'failed', reason };
  }
  const resolved = entry.resolveParams
    ? entry.resolveParams(parsed.data, modelTaskOf(spec.task))
    : parsed.data;
  const trialParams = { ...(resolved as Record<string, unknown>) };
  const roundsParam = entry.roundsParam;
  let rounds: number | undefined;
  if (roundsParam !== undefined && typeof trialParams[roundsParam] === 'number') {
    rounds = Math.max(1, Math.round(trialParams[roundsParam] * input.fraction));
    trialParams[roundsParam] = rounds;
  }

  const frame = trainingFrame(input.table, spec);
  const ordered = orderedRows(spec);
  const folds = tuningFolds(frame.rows.train, input.folds, ordered, input.seed);
  const foldScores: number[] = [];
  let rows = 0;
  try {
    folds.forEach((fold, index) => {
      const trainRows = roundsParam === undefined ? rowsFor(fold.train, input.fraction, ordered) : fold.train;
      rows = Math.max(rows, trainRows.length);
      const trainData = trainingData(frame, spec, trainRows);
      const scoreData = frameData(frame, spec, fold.score, trainData.features);
      if (now() >= input.stopAt) throw new BudgetSpent();
      const trained = entry.train(trainData, trialParams, {
        // Early stopping (when the parameters ask for it) watches the fold's scoring rows.
        validation: scoreData,
        onProgress: (progress: TrainerProgress) => {
          if (now() >= input.stopAt) throw new BudgetSpent();
          input.onProgress?.({ ...progress, fold: index + 1, folds: folds.length });
        },
      });
      const prediction = entry.predict(trained.model, scoreData);
      const classes = frame.classLabels?.length ?? 1;
      const metrics = metricsOf(
        modelTaskOf(spec.task),
        scoreData.target,
        prediction,
        classes,
      ) as unknown as Record<string, number>;
      const score = metrics[input.metric];
      if (score === undefined || !Number.isFinite(score)) {
        throw new Error(`the fold's ${input.metric} is not a number (${String(score)})`);
      }
      foldScores.push(score);
    });
  } catch (error) {
    const measured = { ...base, foldScores, ...(rounds ? { rounds } : {}), rows, seconds: seconds() };
    if (error instanceof BudgetSpent) return { ...measured, stopped: 'budget' };
    return { ...measured, stopped: 'failed', reason: error instanceof Error ? error.message : String(error) };
  }
  const score = foldScores.reduce((sum, value) => sum + value, 0) / foldScores.length;
  return { ...base, score, foldScores, ...(rounds ? { rounds } : {}), rows, seconds: seconds() };
}
