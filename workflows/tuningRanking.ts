/**
 * Ranking a rung's trial results: the lifecycle workflow promotes the best of each rung with it, and
 * the tune stage's record names the winner with it, so both agree. Deterministic and free of I/O.
 */
import type { TrialResult } from '../lifecycle/tuning/halving';

/**
 * The scored results best first (ties: the lower trial number, so the order never depends on timing);
 * results without a score are left out.
 */
export function ranked(results: readonly TrialResult[], lowerIsBetter: boolean): TrialResult[] {
  return results
    .filter((result) => result.score !== undefined && Number.isFinite(result.score))
    .sort((a, b) => {
      const difference = (a.score as number) - (b.score as number);
      if (difference !== 0) return lowerIsBetter ? difference : -difference;
      return a.trial - b.trial;
    });
}

/**
 * The winner: the best scored trial of the highest rung that scored any (a trial scored on more of
 * the budget is better evidence than one that looked good on a little of it).
 */
export function bestTrial(results: readonly TrialResult[], lowerIsBetter: boolean): TrialResult | undefined {
  const scored = ranked(results, lowerIsBetter);
  let top = -1;
  for (const result of scored) top = Math.max(top, result.rung);
  return scored.find((result) => result.rung === top);
}
