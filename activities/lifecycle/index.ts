/**
 * The lifecycle's activities, one file per stage of `modelLifecycle`: ingest, validate, register,
 * features, tune, train, evaluate, fairness, security, approve, deploy; and the run's spec, read by its hash (`runSpec`). The activity names inside each file are the
 * ones recorded in workflow histories, so they stay as they are.
 */
import type { ActivityDeps } from '../deps';
import { createApproveActivities } from './approve';
import { createDeployActivities } from './deploy';
import { createEvaluateActivities } from './evaluate';
import { createFairnessActivities } from './fairness';
import { createFeaturesActivities } from './features';
import { createIngestActivities } from './ingest';
import { createRegisterActivities } from './register';
import { createSupersedeActivities } from './supersede';
import { createRunSpecActivities } from './runSpec';
import { createSecurityActivities } from './security';
import { createTrainActivities } from './train';
import { createTuneActivities } from './tune';
import { createValidateActivities } from './validate';

export function createLifecycleActivities(deps: ActivityDeps) {
  return {
    ...createRunSpecActivities(deps),
    ...createIngestActivities(deps),
    ...createValidateActivities(deps),
    ...createRegisterActivities(deps),
    ...createFeaturesActivities(deps),
    ...createTuneActivities(deps),
    ...createTrainActivities(deps),
    ...createEvaluateActivities(deps),
    ...createFairnessActivities(deps),
    ...createSecurityActivities(deps),
    ...createApproveActivities(deps),
    ...createSupersedeActivities(deps),
    ...createDeployActivities(deps),
  };
}
