/** Batch scoring's activities: a query's rows scored by a verified version into a result table. */
import type { ActivityDeps } from '../deps';
import { createBatchScoringActivities } from './batchScoring';

export function createScoringActivities(deps: ActivityDeps) {
  return createBatchScoringActivities(deps);
}
