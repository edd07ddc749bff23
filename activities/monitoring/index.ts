/** The nightly evaluation's activities. */
import type { ActivityDeps } from '../deps';
import { createCheckActivities } from './check';
import { createRetrainingActivities } from './retraining';

export function createMonitoringActivities(deps: ActivityDeps) {
  return {
    ...createCheckActivities(deps),
    ...createRetrainingActivities(deps),
  };
}
