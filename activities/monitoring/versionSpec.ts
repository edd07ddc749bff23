/** The spec a served version is watched by, for the nightly check's activities. */
import type { PipelineSpec } from '../../lifecycle/spec';
import { currentSpecHash, getVersion } from '../../registry';
import { artifactKeys } from '../../registry/artifactKeys';
import type { ActivityDeps } from '../deps';
import { specOfVersion } from './retraining';

/**
 * The version's current spec: its latest revision's (so an edited monitoring, fairness or deploy
 * bound applies without retraining), else the copy stored beside it.
 */
export async function currentSpecOf(
  { pool, objectStore }: Pick<ActivityDeps, 'pool' | 'objectStore'>,
  model: string,
  version: number,
): Promise<PipelineSpec> {
  const record = await getVersion(pool, model, version);
  const current = await specOfVersion(objectStore, record, await currentSpecHash(pool, model, version));
  if (!('refused' in current)) return current.spec;
  return objectStore.getJson<PipelineSpec>(artifactKeys(model, version).spec);
}
