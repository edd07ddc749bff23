/** The nightly evaluation's activities. */
import type { ActivityDeps } from '../deps';
import { createDeploymentCheckActivities } from './deployments';
import { createMonitorActivities } from './monitor';
import { createOutcomeActivities } from './outcomes';
import { createRetrainingActivities } from './retraining';

export function createMonitoringActivities(deps: ActivityDeps) {
  return {
    ...createOutcomeActivities(deps),
    ...createMonitorActivities(deps),
    ...createDeploymentCheckActivities(deps),
    ...createRetrainingActivities(deps),
  };
}
