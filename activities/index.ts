/** Every activity of the Kerf worker, built from the worker's dependencies. */
import { createAnnouncementActivities } from './announcements';
import type { ActivityDeps } from './deps';
import { createLifecycleActivities } from './lifecycle';
import { createMonitoringActivities } from './monitoring';
import { createRetentionActivities } from './retention';
import { createScoringActivities } from './scoring';
import { createSmokeActivities } from './smoke';

export type { ActivityDeps } from './deps';

export function createActivities(deps: ActivityDeps) {
  return {
    ...createSmokeActivities(deps),
    ...createLifecycleActivities(deps),
    ...createMonitoringActivities(deps),
    ...createAnnouncementActivities(deps),
    ...createScoringActivities(deps),
    ...createRetentionActivities(deps),
  };
}
