/**
 * The train stage: the candidate is trained in a worker thread while this activity heartbeats its
 * progress (iteration, losses). A retried attempt reads the last heartbeat of the one before, so it
 * knows how far that got; training is deterministic, so it starts again and makes the same model,
 * written to the same keys.
 */
import { createHash } from 'node:crypto';
import { Context, log } from '@temporalio/activity';
import type { TrainingThreadData, TrainingThreadResult } from '../../lifecycle/trainThread';
import type { CandidateProgress } from '../../lifecycle/train';
import { runInThread, ThreadError } from '../../platform/threads';
import { HEARTBEAT_THROTTLE_SECONDS } from '../../workflows/activityProfiles';
import type { StageInput, StoredCandidate, TuningRef } from '../../workflows/lifecycleTypes';
import type { PipelineSpec } from '../../lifecycle/spec';
import { trainerOf } from '../../ml/trainers';
import type { ActivityDeps } from '../deps';
import { stopRun } from './errors';
import { specOf } from './runSpec';
import { artifactKeys } from '../../registry/artifactKeys';
import { stageTableKey } from './stageTable';

const TRAINING_THREAD = new URL('../../lifecycle/trainThread.ts', import.meta.url);

/** What the training heartbeats carry; the CLI shows it as progress. */
export interface TrainingHeartbeat extends Partial<CandidateProgress> {
  attempt: number;
  /** How far the attempt before this one got, when this is a retry. */
  previousAttemptIteration?: number;
}

export function createTrainActivities({ objectStore }: ActivityDeps) {
  return {
    async trainModel(input: StageInput & { tuning?: TuningRef }): Promise<StoredCandidate> {
      const context = Context.current();
      const attempt = context.info.attempt;
      const before = context.info.heartbeatDetails as TrainingHeartbeat | undefined;
      const previousAttemptIteration = before?.iteration;
      if (attempt > 1) {
        log.info('training again', {
          attempt,
          previousAttemptIteration: previousAttemptIteration ?? null,
          note: 'the same data, spec and seed give the same model, written to the same keys',
        });
      }
      context.heartbeat({ attempt, previousAttemptIteration } satisfies TrainingHeartbeat);

      const specAsWritten = await specOf(objectStore, input);
      // The tune stage's choice replaces the spec's parameters, checked again by the trainer's schema.
      const spec = input.tuning ? withTunedParams(specAsWritten, input.tuning) : specAsWritten;
      // The built table when the run has a features stage; the thread checks it against its key's hash.
      const tableKey = stageTableKey(input);
      const snapshotBytes = await objectStore.get(tableKey);
      const data: TrainingThreadData = {
        snapshotKey: tableKey,
        snapshotBytes,
        spec,
        version: input.version,
      };
      let latest: TrainingHeartbeat = { attempt, previousAttemptIteration };
      // The trainer may go longer than the heartbeat timeout between two progress reports (building
      // features, one slow iteration, the ONNX export): beat from this thread, which stays free while
      // the worker thread computes, so only a dead worker misses its heartbeats.
      const alive = setInterval(() => context.heartbeat(latest), (HEARTBEAT_THROTTLE_SECONDS * 1000) / 2);
      let result: TrainingThreadResult;
      try {
        result = await runInThread<TrainingThreadResult>(
          TRAINING_THREAD,
          { ...data },
          {
            onProgress: (progress) => {
              latest = {
                ...(progress as CandidateProgress),
                attempt,
                previousAttemptIteration,
              } satisfies TrainingHeartbeat;
              context.heartbeat(latest);
            },
            signal: context.cancellationSignal,
            transfer: [snapshotBytes.buffer as ArrayBuffer],
          },
        );
      } catch (error) {
        if (error instanceof ThreadError && error.nonRetryable) {
          throw stopRun(
            'DataValidationError',
            `Training ${spec.name} v${input.version} cannot work: ${error.message}`,
          );
        }
        throw error;
      } finally {
        clearInterval(alive);
      }

      const keys = artifactKeys(spec.name, input.version);
      const onnxSha256 = createHash('sha256').update(result.onnx).digest('hex');
      await objectStore.put(keys.model, result.modelJson, 'application/json');
      await objectStore.put(keys.onnx, result.onnx, 'application/octet-stream');
      let forecastState: StoredCandidate['forecastState'];
      if (result.forecastStateJson !== undefined) {
        await objectStore.put(keys.forecastState, result.forecastStateJson, 'application/json');
        const sha256 = createHash('sha256').update(result.forecastStateJson).digest('hex');
        forecastState = { key: keys.forecastState, sha256 };
      }
      await objectStore.put(
        keys.training,
        JSON.stringify({
          ...result.summary,
          attempt,
          previousAttemptIteration: previousAttemptIteration ?? null,
        }),
        'application/json',
      );
      return {
        modelKey: keys.model,
        onnxKey: keys.onnx,
        onnxSha256,
        onnxBytes: result.onnx.byteLength,
        summary: result.summary,
        ...(forecastState ? { forecastState } : {}),
        ...(input.tuning ? { tuning: input.tuning } : {}),
      };
    },
  };
}

/**
 * The spec with the tune stage's parameters in `trainer.params`.
 *
 * @throws a non-retryable failure when the trainer refuses them (a tuning record that was tampered with)
 */
export function withTunedParams(spec: PipelineSpec, tuning: TuningRef): PipelineSpec {
  const parsed = trainerOf(spec.trainer.kind).params.safeParse(tuning.params);
  if (!parsed.success) {
    throw stopRun(
      'DataValidationError',
      `The tuned parameters of ${spec.name} are not the ${spec.trainer.kind} trainer's: ${parsed.error.issues[0]?.message ?? 'refused'}; run the lifecycle again.`,
    );
  }
  return { ...spec, trainer: { ...spec.trainer, params: parsed.data } as PipelineSpec['trainer'] };
}
