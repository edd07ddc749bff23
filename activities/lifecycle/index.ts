/** The lifecycle's activities: each stage of `modelLifecycle`, built from the worker's dependencies. */
import type { ActivityDeps } from '../deps';
import { createDataActivities } from './data';
import { createDecisionActivities } from './decisions';
import { createDeployActivities } from './deploy';
import { createEvaluationActivities } from './evaluate';
import { createPackagingActivities } from './package';
import { createRegistrationActivities } from './registration';
import { createTrainingActivities } from './train';

export function createLifecycleActivities(deps: ActivityDeps) {
  return {
    ...createDataActivities(deps),
    ...createRegistrationActivities(deps),
    ...createTrainingActivities(deps),
    ...createEvaluationActivities(deps),
    ...createPackagingActivities(deps),
    ...createDeployActivities(deps),
    ...createDecisionActivities(deps),
  };
}
