/**
 * The features stage: the spec's derived features computed over the snapshot's rows
 * (`lifecycle/features/table.ts`) and the result written once, content-addressed, at
 * `features/<pipeline>/<sha256>.arrow`, in the snapshot's format; later stages read it instead of
 * the snapshot. Deterministic, so a retried attempt writes the same bytes to the same key.
 */
import { createHash } from 'node:crypto';
import { SNAPSHOT_CONTENT_TYPE } from '../../lifecycle/ingest';
import { encodeSnapshot } from '../../lifecycle/ingest/arrow';
import { FeatureBuildError } from '../../lifecycle/features/build';
import { buildFeatureTable } from '../../lifecycle/features/table';
import { ExpressionError } from '../../lifecycle/features/expression';
import { featureTableKey } from '../../registry/artifactKeys';
import type { BuiltFeaturesRef, StageInput } from '../../workflows/lifecycleTypes';
import type { ActivityDeps } from '../deps';
import { stopRun } from './errors';
import { specOf } from './runSpec';
import { featureBuildRequest } from '../../lifecycle/spec/history';
import { loadStageTable } from './stageTable';

export function createFeaturesActivities({ objectStore }: ActivityDeps) {
  return {
    /** Builds the spec's derived and history features over the snapshot and stores the table once per content. */
    async buildFeatures(input: StageInput): Promise<BuiltFeaturesRef> {
      const spec = await specOf(objectStore, input);
      const loaded = await loadStageTable(objectStore, { snapshot: input.snapshot });
      let built: ReturnType<typeof buildFeatureTable>;
      try {
        built = buildFeatureTable(loaded, featureBuildRequest(spec));
      } catch (error) {
        if (error instanceof FeatureBuildError || error instanceof ExpressionError) {
          throw stopRun(
            'DataValidationError',
            `Building the features of ${spec.name} v${input.version} cannot work: ${error.message}`,
          );
        }
        throw error;
      }
      const bytes = encodeSnapshot(built.table, built.fields, built.timeColumn);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const key = featureTableKey(spec.name, sha256);
      await objectStore.putOnce(key, bytes, SNAPSHOT_CONTENT_TYPE);
      return { key, sha256, rows: built.table.rowCount, definitionSha256: built.build.sha256 };
    },
  };
}
