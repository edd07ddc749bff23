/**
 * The tune stage's activities: the search's plan (drawn once, kept in the run's history), one trial
 * (a heavy activity: its folds train in a worker thread while it heartbeats), and the record of every
 * trial, stored next to the version's other artifacts for the model card and the lineage.
 *
 * A killed worker loses only the trials it was running: Temporal starts them again elsewhere, and the
 * finished ones are already in the history. A trial is deterministic, so a repeat measures the same.
 */
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Context, log } from '@temporalio/activity';
import { trainerOf } from '../../ml/trainers';
import type { TrialRequest } from '../../lifecycle/tuning/trialThread';
import type { TrialPlan, TrialResult } from '../../lifecycle/tuning/halving';
import { bestTrial } from '../../workflows/tuningRanking';
import type { TrialProgress } from '../../lifecycle/tuning/trial';
import { type TuningPlan, tuningPlanOf, type TuningRecord } from '../../lifecycle/tuning/plan';
import { ThreadError, ThreadPool } from '../../platform/threads';
import { artifactKeys } from '../../registry/artifactKeys';
import { HEARTBEAT_THROTTLE_SECONDS } from '../../workflows/activityProfiles';
import type { StageInput, TuningRef } from '../../workflows/lifecycleTypes';
import type { ActivityDeps } from '../deps';
import { stopRun } from './errors';
import { specOf } from './runSpec';
import { stageTableKey } from './stageTable';

const TRIAL_THREAD = new URL('../../lifecycle/tuning/trialThread.ts', import.meta.url);

export type TrialInput = StageInput & {
  trial: TrialPlan;
  rung: { rung: number; fraction: number };
  /** The plan's fold and metric settings. */
  folds: number;
  seed: number;
  metric: TuningPlan['metric'];
  /** Epoch ms at which the search's budget ends. */
  stopAt: number;
};

export function createTuneActivities({ objectStore }: ActivityDeps) {
  // Trial threads stay for the next trial: one per trial a worker runs at once is kept idle.
  const threads = new ThreadPool(TRIAL_THREAD, availableParallelism());
  return {
    async planTuning(input: StageInput): Promise<TuningPlan> {
      const spec = await specOf(objectStore, input);
      const plan = tuningPlanOf(spec);
      if (!plan)
        throw stopRun('SourceError', `${spec.name} has no tuning: the tune stage has nothing to search`);
      return plan;
    },

    async tuneTrial(input: TrialInput): Promise<TrialResult> {
      const context = Context.current();
      const { attempt } = context.info;
      if (attempt > 1) {
        log.info('trial again', { trial: input.trial.trial, rung: input.rung.rung, attempt });
      }
      const spec = await specOf(objectStore, input);
      // A trial that waited in the queue past the budget stops before it loads anything.
      if (Date.now() >= input.stopAt) {
        return {
          trial: input.trial.trial,
          rung: input.rung.rung,
          fraction: input.rung.fraction,
          params: input.trial.params,
          foldScores: [],
          rows: 0,
          seconds: 0,
          stopped: 'budget',
        };
      }
      const tableKey = stageTableKey(input);
      const tableBytes = await objectStore.get(tableKey);
      const data: TrialRequest = {
        tableKey,
        tableBytes,
        spec,
        trial: input.trial.trial,
        rung: input.rung.rung,
        fraction: input.rung.fraction,
        params: input.trial.params,
        folds: input.folds,
        seed: input.seed,
        metric: input.metric,
        stopAt: input.stopAt,
      };
      let latest: Partial<TrialProgress> & { attempt: number; trial: number; rung: number } = {
        attempt,
        trial: input.trial.trial,
        rung: input.rung.rung,
      };
      context.heartbeat(latest);
      const alive = setInterval(() => context.heartbeat(latest), (HEARTBEAT_THROTTLE_SECONDS * 1000) / 2);
      try {
        return await threads.run<TrialResult>(data, {
          onProgress: (progress) => {
            latest = {
              ...(progress as TrialProgress),
              attempt,
              trial: input.trial.trial,
              rung: input.rung.rung,
            };
          },
          signal: context.cancellationSignal,
          transfer: [tableBytes.buffer as ArrayBuffer],
        });
      } catch (error) {
        if (error instanceof ThreadError && error.nonRetryable) {
          throw stopRun(
            'DataValidationError',
            `Tuning ${spec.name} v${input.version} cannot work: ${error.message}`,
          );
        }
        throw error;
      } finally {
        clearInterval(alive);
      }
    },

    async recordTuning(
      input: StageInput & { plan: TuningPlan; results: TrialResult[]; startedAt: string; seconds: number },
    ): Promise<TuningRef> {
      const spec = await specOf(objectStore, input);
      const { plan, results } = input;
      const chosen = bestTrial(results, plan.lowerIsBetter) ?? null;
      // Without any scored trial the spec's own parameters train the model, and the card says so.
      const params = trainerOf(spec.trainer.kind).params.parse({
        ...spec.trainer.params,
        ...(chosen?.params ?? {}),
      }) as Record<string, unknown>;
      const { trials, ...settings } = plan;
      const record: TuningRecord = {
        model: spec.name,
        version: input.version,
        plan: { ...settings, trials: trials.length },
        startedAt: input.startedAt,
        seconds: input.seconds,
        results,
        chosen,
        params,
      };
      const key = artifactKeys(spec.name, input.version).tuning;
      const json = JSON.stringify(record);
      await objectStore.put(key, json, 'application/json');
      return {
        key,
        sha256: createHash('sha256').update(json).digest('hex'),
        metric: plan.metric,
        trials: trials.length,
        trialsRun: results.length,
        stoppedByBudget: results.filter((result) => result.stopped === 'budget').length,
        failed: results.filter((result) => result.stopped === 'failed').length,
        seconds: input.seconds,
        ...(chosen ? { chosenTrial: chosen.trial, score: chosen.score as number } : {}),
        params,
      };
    },
  };
}
