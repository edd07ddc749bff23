/**
 * The fairness stage: the candidate's test predictions judged per slice of the spec's segments. A
 * failed gate rejects the version, with an audit row of the failed checks, and stops the run.
 */
import { gateRegistry } from '../../lifecycle/gates/registry';
import { loadSnapshot } from '../../lifecycle/ingest';
import { artifactKeys } from '../../registry/artifactKeys';
import type { EvaluationOutcome, FairnessOutcome, StageInput } from '../../workflows/lifecycleTypes';
import type { ActivityDeps } from '../deps';
import { stoppingOn } from './errors';
import { specOf } from './runSpec';
import { rejectForGate, stageVerdicts, type StoredPredictions } from './evaluate';

export function createFairnessActivities({ pool, objectStore }: ActivityDeps) {
  return {
    async checkFairness(input: StageInput & { evaluation: EvaluationOutcome }): Promise<FairnessOutcome> {
      const spec = await specOf(objectStore, input);
      const { version } = input;
      const predictions = await objectStore.getJson<StoredPredictions>(input.evaluation.predictionsKey);
      const loaded = await stoppingOn(() => loadSnapshot(objectStore, input.snapshot.key));
      const testTable = loaded.table.take(Uint32Array.from(predictions.testRows));
      const segments = Object.fromEntries(spec.segments.map((name) => [name, testTable.categorical(name)]));
      // Every gate of the fairness stage; their reports (the fairness gate's slice table) go to the card.
      const gates = gateRegistry.runStage('fairness', {
        spec,
        segments,
        y: predictions.y,
        prediction: predictions.prediction,
        k: predictions.classLabels?.length,
      });
      const slicesKey = artifactKeys(spec.name, version).slices;
      await objectStore.put(slicesKey, JSON.stringify(gates.reports), 'application/json');
      if (gates.failed) await rejectForGate(pool, spec, version, gates.failed);
      return { ...stageVerdicts(gates.verdicts), slicesKey };
    },
  };
}
