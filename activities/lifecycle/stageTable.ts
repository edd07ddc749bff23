/**
 * The table the stages after the features stage work from: the built table when the run built one
 * (the snapshot's rows with the derived features), the snapshot otherwise. Train, evaluate, fairness
 * and security read it only through here, so they all see the same columns.
 */
import { type LoadedSnapshot, loadSnapshot } from '../../lifecycle/ingest';
import type { ObjectStore } from '../../platform/objectStore';
import type { StageInput } from '../../workflows/lifecycleTypes';
import { stoppingOn } from './errors';

/** The key of the stage's table: the built table's, or the snapshot's. */
export function stageTableKey(input: Pick<StageInput, 'snapshot' | 'features'>): string {
  return input.features?.key ?? input.snapshot.key;
}

/**
 * Reads the stage's table and checks its bytes against the hash in its key.
 *
 * @throws a non-retryable failure when it is missing, damaged or not in the snapshot format
 */
export function loadStageTable(
  objectStore: Pick<ObjectStore, 'get'>,
  input: Pick<StageInput, 'snapshot' | 'features'>,
): Promise<LoadedSnapshot> {
  return stoppingOn(() => loadSnapshot(objectStore, stageTableKey(input)));
}
