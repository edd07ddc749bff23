/**
 * What makes a new model version: the spec fields that change the model (where the rows come from,
 * what is predicted from which columns, how the rows are split and the model is trained) hash to
 * its `modelHash`; the rest (its description, the slices it is judged on, the gates, who approves,
 * how it deploys, how it is watched) are recorded as spec revisions of the version, which apply
 * without retraining.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from './load';
import type { PipelineSpec } from './schema';

/** Spec fields that change the model: an edit to any of them makes a new version. */
export const MODEL_FIELDS = [
  'name',
  'task',
  'source',
  'target',
  'forecast',
  'features',
  'derived',
  'history',
  'timeColumn',
  'split',
  'trainer',
  'tuning',
] as const;

/**
 * Spec fields that do not change the model: an edit to these is a revision of the version it
 * applies to. Every other field (one added later included) is hashed, so a field nobody classified
 * makes a new version rather than silently reusing a model it may change.
 */
export const REVISION_FIELDS = [
  'description',
  'segments',
  'gates',
  'approval',
  'deploy',
  'monitoring',
  'outcomes',
  'scoring',
] as const;

/**
 * The fields of `deploy`, revisions with it: how a version is rolled out, how its canary is judged
 * (`canaryMaxErrorRatio`, `canaryMinOutcomes`) and how its shadow is compared (`shadowTolerance`)
 * never change the model, so an edit applies from the next nightly check without retraining. Listed
 * so that a field added to `deploy` is classified on purpose (a unit test holds the schema to it).
 */
export const DEPLOY_REVISION_FIELDS = [
  'strategy',
  'canaryShare',
  'canaryMaxErrorRatio',
  'canaryMinOutcomes',
  'shadowTolerance',
] as const;

const revision = new Set<string>(REVISION_FIELDS);

/** The spec without its revision fields: what the model is made from. */
function modelPart(spec: PipelineSpec): Record<string, unknown> {
  return Object.fromEntries(Object.entries(spec).filter(([key]) => !revision.has(key)));
}

/** SHA-256 (hex) of the canonical JSON of the spec's model fields: equal for specs that make the same model. */
export function modelHash(spec: PipelineSpec): string {
  return createHash('sha256')
    .update(canonicalJson(modelPart(spec)))
    .digest('hex');
}

/** The top-level fields whose values differ between two specs, in the later spec's order, then removed ones. */
export function changedFields(before: PipelineSpec, after: PipelineSpec): string[] {
  const earlier = before as unknown as Record<string, unknown>;
  const later = after as unknown as Record<string, unknown>;
  const keys = [...Object.keys(later), ...Object.keys(earlier).filter((key) => !(key in later))];
  return keys.filter((key) => canonicalJson(earlier[key]) !== canonicalJson(later[key]));
}
