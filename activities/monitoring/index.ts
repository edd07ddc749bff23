/** The nightly evaluation's activities. */
import type { ActivityDeps } from '../deps';
import { createMonitorActivities } from './monitor';
import { createRetrainingActivities } from './retraining';

export function createMonitoringActivities(deps: ActivityDeps) {
  return {
    ...createMonitorActivities(deps),
    ...createRetrainingActivities(deps),
  };
}
