/**
 * The prediction API (fastify): predictions from the registry's deployed versions, verified before
 * they load and swapped without dropping a request; canary and shadow; outcomes joined later; a
 * bearer token; Prometheus metrics.
 */
export { buildServingApp, type ServingApp, type ServingOptions } from './app';
export { startServing, type RunningServing, type StartServingOptions } from './start';
export { checkServingToken, MIN_TOKEN_LENGTH } from './auth';
export type { CategoryMappings, PredictionWarning } from './contract';
export type { ErrorBody, FieldIssue } from './errors';
export { ModelLoadRefusedError, type LoadedVersion, type RefusalReason } from './loadVersion';
export { ServingMetrics } from './metrics';
export {
  recordOutcomesFromQuery,
  OutcomeQueryError,
  type OutcomeQueryOptions,
  type RecordedOutcomes,
} from './outcomeQuery';
export { recordOutcomes, type OutcomeInput } from './outcomes';
export type {
  PredictionOutput,
  PredictionLogOptions,
  PredictionLogStatus,
  PredictionRecord,
} from './predictionLog';
export type { CategoryMappingsHook, Prediction, PredictionValue, PredictResponse } from './predictionService';
export type { LoadRefusal, ServedModels, ServedModelStatus, ServedModelsStatus } from './servedModels';
