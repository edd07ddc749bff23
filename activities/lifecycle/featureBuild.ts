/**
 * A version's feature build as its manifest pins it: the definition the features stage built with
 * (derived features and their inputs' types, read again from the built table), its hash, and the
 * built table itself.
 */
import { featureBuildHash } from '../../lifecycle/features/build';
import { featureBuildDefinitionOf } from '../../lifecycle/features/table';
import type { LoadedSnapshot } from '../../lifecycle/ingest';
import type { ModelManifest } from '../../lifecycle/manifest';
import type { PipelineSpec } from '../../lifecycle/spec';
import type { BuiltFeaturesRef } from '../../workflows/lifecycleTypes';
import { stopRun } from './errors';
import { buildsFeatures, featureBuildRequest } from '../../lifecycle/spec/history';

/**
 * The manifest's `featureBuild`, or undefined for a run without a features stage.
 *
 * @param loaded the built table (`loadStageTable`)
 * @throws a non-retryable failure when the definition is not the one the table was built with
 */
export function featureBuildOf(
  spec: PipelineSpec,
  loaded: LoadedSnapshot,
  built: BuiltFeaturesRef | undefined,
): ModelManifest['featureBuild'] {
  if (!built || !buildsFeatures(spec)) return undefined;
  const definition = featureBuildDefinitionOf(featureBuildRequest(spec), loaded.columns);
  const sha256 = featureBuildHash(definition);
  if (sha256 !== built.definitionSha256) {
    throw stopRun(
      'TamperedArtifactError',
      `${built.key} was built with the feature definition ${built.definitionSha256}, not the spec's ${sha256}: build the features again`,
      { reason: 'feature-build-mismatch' },
    );
  }
  return { ...definition, sha256, table: { key: built.key, hash: built.sha256, rows: built.rows } };
}
