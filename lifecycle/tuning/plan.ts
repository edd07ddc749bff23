/**
 * A search's plan, made once by the tune stage from the spec: the drawn trials, the rungs, the budget
 * and the metric. The workflow keeps it in its history, so a replay (or a changed draw in a later
 * Kerf) never changes a search that already ran.
 */
import type { PipelineSpec } from '../spec/schema';
import { tuningBudgetMs } from '../spec/tuning';
import type { QualityMetric } from '../spec/metrics';
import { drawTrials } from './draw';
import { type Rung, rungsOf, type TrialParams, type TrialPlan, type TrialResult } from './halving';
import { metricIsLowerBetter, orderedRows } from './trial';

export interface TuningPlan {
  trials: TrialPlan[];
  rungs: Rung[];
  budgetMs: number;
  /** The quality gate's primary metric: what the trials are ranked by. */
  metric: QualityMetric;
  lowerIsBetter: boolean;
  folds: number;
  /** Folds over time (expanding window) or a seeded k-fold. */
  ordered: boolean;
  seed: number;
  strategy: 'successive-halving' | 'random';
  reduction: number;
  /** The parameters searched (the space's names, sorted). */
  tuned: string[];
}

/** The tune stage's record (`models/<m>/v<N>/tuning.json`): the plan, every trial run and the winner. */
export interface TuningRecord {
  model: string;
  version: number;
  plan: Omit<TuningPlan, 'trials'> & { trials: number };
  startedAt: string;
  seconds: number;
  results: TrialResult[];
  chosen: TrialResult | null;
  /** The trainer's parameters the model trains with, every default filled in. */
  params: Record<string, unknown>;
}

/** The plan of a spec with `tuning`; undefined without. */
export function tuningPlanOf(spec: PipelineSpec): TuningPlan | undefined {
  const tuning = spec.tuning;
  if (!tuning) return undefined;
  const metric = spec.gates.quality.primaryMetric;
  const base = spec.trainer.params as unknown as TrialParams;
  return {
    trials: drawTrials(tuning.space, base, tuning.trials, tuning.seed),
    rungs: rungsOf(tuning),
    budgetMs: tuningBudgetMs(tuning),
    metric,
    lowerIsBetter: metricIsLowerBetter(metric),
    folds: tuning.folds,
    ordered: orderedRows(spec),
    seed: tuning.seed,
    strategy: tuning.strategy,
    reduction: tuning.reduction,
    tuned: Object.keys(tuning.space).sort(),
  };
}
