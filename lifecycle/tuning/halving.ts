/**
 * Successive halving, the tune stage's strategy: all trials start on a small share of the budget
 * (boosting rounds, or rows for a trainer without rounds), the best `1/reduction` of each rung go on
 * with `reduction` times more, and the last rung trains with the whole budget. The workflow ranks each
 * rung (`workflows/tuningRanking.ts`); the rungs and the trials' shapes are here.
 */

/** A trial's parameters: the trainer's, the drawn ones in place of the spec's. */
export type TrialParams = Record<string, number | string | boolean>;

/** One drawn trial; trial 0 is the spec's own parameters. */
export interface TrialPlan {
  trial: number;
  params: TrialParams;
}

/** One rung: how many trials it trains and on what share of the budget. */
export interface Rung {
  rung: number;
  trials: number;
  /** Share of the boosting rounds (or rows) each of its trials trains with, in (0, 1]. */
  fraction: number;
}

/** What one trial on one rung measured. */
export interface TrialResult {
  trial: number;
  rung: number;
  fraction: number;
  params: TrialParams;
  /** Mean of the fold scores; absent when the trial stopped before scoring every fold. */
  score?: number;
  /** The tuning metric on each fold's scoring rows. */
  foldScores: number[];
  /** Boosting rounds a fold trained with (trainers with rounds). */
  rounds?: number;
  /** Training rows of the largest fold. */
  rows: number;
  seconds: number;
  /** Why it has no score: the budget ran out, or the trainer refused these parameters. */
  stopped?: 'budget' | 'failed';
  reason?: string;
}

/**
 * The rungs of a search: `rungs` of them at most, fewer when the trials run out (each rung keeps at
 * least one trial and fewer than the rung before). Random search is one rung with the whole budget.
 */
export function rungsOf(options: {
  trials: number;
  strategy: 'successive-halving' | 'random';
  reduction: number;
  rungs: number;
}): Rung[] {
  if (options.strategy === 'random') return [{ rung: 0, trials: options.trials, fraction: 1 }];
  const counts: number[] = [];
  for (let rung = 0; rung < options.rungs; rung++) {
    const count = Math.ceil(options.trials / options.reduction ** rung);
    if (rung > 0 && count >= (counts[rung - 1] ?? 0)) break;
    counts.push(count);
    if (count === 1) break;
  }
  const last = counts.length - 1;
  return counts.map((trials, rung) => ({ rung, trials, fraction: options.reduction ** (rung - last) }));
}
