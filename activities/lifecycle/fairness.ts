/**
 * The fairness stage: the candidate's test predictions judged per slice of the spec's segments. A
 * failed gate rejects the version, with an audit row of the failed checks, and stops the run.
 */
import { evaluateFairnessGate } from '../../lifecycle/gates/fairness';
import { loadSnapshot } from '../../lifecycle/ingest';
import type { PipelineSpec } from '../../lifecycle/spec';
import { artifactKeys } from '../../registry/artifactKeys';
import type { EvaluationOutcome, FairnessOutcome, SnapshotRef } from '../../workflows/lifecycleTypes';
import type { ActivityDeps } from '../deps';
import { stoppingOn } from './errors';
import { rejectForGate, type StoredPredictions } from './evaluate';

export function createFairnessActivities({ pool, objectStore }: ActivityDeps) {
  return {
    async checkFairness(input: {
      spec: PipelineSpec;
      version: number;
      snapshot: SnapshotRef;
      evaluation: EvaluationOutcome;
    }): Promise<FairnessOutcome> {
      const { spec, version } = input;
      const predictions = await objectStore.getJson<StoredPredictions>(input.evaluation.predictionsKey);
      const loaded = await stoppingOn(() => loadSnapshot(objectStore, input.snapshot.key));
      const testTable = loaded.table.take(Uint32Array.from(predictions.testRows));
      const segments = Object.fromEntries(spec.segments.map((name) => [name, testTable.categorical(name)]));
      const result = evaluateFairnessGate({
        task: spec.task,
        segments,
        y: predictions.y,
        prediction: predictions.prediction,
        gate: spec.gates.fairness,
        k: predictions.classLabels?.length,
      });
      const slicesKey = artifactKeys(spec.name, version).slices;
      await objectStore.put(
        slicesKey,
        JSON.stringify({ overall: result.overall, slices: result.slices }),
        'application/json',
      );
      if (!result.verdict.passed) await rejectForGate(pool, spec, version, result.verdict);
      return { verdict: result.verdict, slicesKey };
    },
  };
}
