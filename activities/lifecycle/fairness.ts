/**
 * The fairness stage: the candidate's test predictions judged per slice of the spec's segments. A
 * failed gate rejects the version, with an audit row of the failed checks, and stops the run.
 */
import { gateRegistry } from '../../lifecycle/gates/registry';
import { type CategoricalColumn, categoricalFromLabels } from '../../ml/table';
import { artifactKeys } from '../../registry/artifactKeys';
import type { EvaluationOutcome, FairnessOutcome, StageInput } from '../../workflows/lifecycleTypes';
import type { ActivityDeps } from '../deps';
import { loadStageTable } from './stageTable';
import { specOf } from './runSpec';
import { rejectForGate, stageVerdicts, type StoredPredictions } from './evaluate';

export function createFairnessActivities({ pool, objectStore }: ActivityDeps) {
  /**
   * The segment columns of the tested rows: the snapshot's test rows, or for a forecast the series
   * keys of the backtest's points (they are no rows of the snapshot).
   */
  const segmentsOf = async (
    names: readonly string[],
    predictions: StoredPredictions,
    input: StageInput,
  ): Promise<Record<string, CategoricalColumn>> => {
    const stored = predictions.segments;
    if (stored) {
      return Object.fromEntries(names.map((name) => [name, categoricalFromLabels(name, stored[name] ?? [])]));
    }
    const loaded = await loadStageTable(objectStore, input);
    const testTable = loaded.table.take(Uint32Array.from(predictions.testRows));
    return Object.fromEntries(names.map((name) => [name, testTable.categorical(name)]));
  };
  return {
    async checkFairness(input: StageInput & { evaluation: EvaluationOutcome }): Promise<FairnessOutcome> {
      const spec = await specOf(objectStore, input);
      const { version } = input;
      const predictions = await objectStore.getJson<StoredPredictions>(input.evaluation.predictionsKey);
      const segments = await segmentsOf(spec.segments, predictions, input);
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
