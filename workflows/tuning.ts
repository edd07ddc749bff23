/**
 * The tune stage inside the lifecycle run: the plan comes from an activity (so it is in the history),
 * each rung's trials run at once as heavy activities, and the best `1/reduction` of a rung go on to
 * the next. The budget's end is the run's own clock: no rung starts after it, and trials still
 * training then stop between two rounds. Finished trials are in the history, so a killed worker
 * costs only the trials it was running.
 */
import type { proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import type { TrialPlan, TrialResult } from '../lifecycle/tuning/halving';
import { ranked } from './tuningRanking';
import type { StageInput, TuningProgress, TuningRef } from './lifecycleTypes';

type Activities = ReturnType<typeof createActivities>;

export interface TuneStageOptions {
  io: ReturnType<typeof proxyActivities<Pick<Activities, 'planTuning' | 'recordTuning'>>>;
  heavy: ReturnType<typeof proxyActivities<Pick<Activities, 'tuneTrial'>>>;
  stage: StageInput;
  /** Called as rungs start and trials finish, with the progress so far. */
  onProgress: (progress: TuningProgress) => void;
}

export async function tuneStage({ io, heavy, stage, onProgress }: TuneStageOptions): Promise<TuningRef> {
  const started = Date.now();
  const plan = await io.planTuning(stage);
  const stopAt = started + plan.budgetMs;
  const results: TrialResult[] = [];
  const progress: TuningProgress = {
    trials: plan.trials.length,
    rungs: plan.rungs.length,
    rung: 0,
    finished: 0,
  };
  const better = (a: number, b: number) => (plan.lowerIsBetter ? a < b : a > b);
  let alive: TrialPlan[] = plan.trials;
  for (const rung of plan.rungs) {
    if (Date.now() >= stopAt || alive.length === 0) break;
    progress.rung = rung.rung;
    onProgress(progress);
    const outcomes = await Promise.all(
      alive.map(async (trial) => {
        const result = await heavy.tuneTrial({
          ...stage,
          trial,
          rung: { rung: rung.rung, fraction: rung.fraction },
          folds: plan.folds,
          seed: plan.seed,
          metric: plan.metric,
          stopAt,
        });
        progress.finished += 1;
        const { best } = progress;
        if (
          result.score !== undefined &&
          (!best ||
            result.rung > best.rung ||
            (result.rung === best.rung && better(result.score, best.score)))
        ) {
          progress.best = { trial: result.trial, score: result.score, rung: result.rung };
        }
        onProgress(progress);
        return result;
      }),
    );
    results.push(...outcomes);
    const next = plan.rungs[rung.rung + 1];
    if (!next) break;
    alive = ranked(outcomes, plan.lowerIsBetter)
      .slice(0, next.trials)
      .map((result) => plan.trials[result.trial])
      .filter((trial): trial is TrialPlan => trial !== undefined);
  }
  const chosen = await io.recordTuning({
    ...stage,
    plan,
    results,
    startedAt: new Date(started).toISOString(),
    seconds: (Date.now() - started) / 1000,
  });
  progress.chosen = chosen;
  onProgress(progress);
  return chosen;
}
