/**
 * The validate stage: the snapshot checked on its own and against the snapshot of the pipeline's
 * latest version made from other data.
 */
import type { SnapshotRecord } from '../../lifecycle/ingest';
import {
  assertNoHardAnomalies,
  formatAnomaly,
  validateSnapshot as checkSnapshot,
} from '../../lifecycle/validate';
import { ObjectNotFoundError } from '../../platform/objectStore';
import { listVersions } from '../../registry';
import { snapshotRecordKey } from '../../registry/artifactKeys';
import type { SnapshotRef, SpecRef } from '../../workflows/lifecycleTypes';
import type { ActivityDeps } from '../deps';
import { stoppingOn } from './errors';
import { specOf } from './runSpec';

export function createValidateActivities({ pool, objectStore }: ActivityDeps) {
  async function readRecord(pipeline: string, sha256: string): Promise<SnapshotRecord | undefined> {
    try {
      return await objectStore.getJson<SnapshotRecord>(snapshotRecordKey(pipeline, sha256));
    } catch (error) {
      if (error instanceof ObjectNotFoundError) return undefined;
      throw error;
    }
  }

  return {
    /**
     * Checks the snapshot on its own and against the snapshot of the pipeline's latest version made
     * from other data. Hard anomalies stop the run; soft ones come back as warnings for the report.
     */
    async validateSnapshot(
      input: { pipeline: string; snapshot: SnapshotRef } & SpecRef,
    ): Promise<{ warnings: string[]; comparedWith?: string }> {
      const spec = await specOf(objectStore, input);
      return stoppingOn(async () => {
        const current = await readRecord(input.pipeline, input.snapshot.sha256);
        if (!current)
          throw new Error(`The record of snapshot ${input.snapshot.key} is missing; ingest again.`);
        const versions = await listVersions(pool, input.pipeline).catch(() => []);
        const earlier = versions
          .filter((version) => version.snapshotHash !== input.snapshot.sha256)
          .sort((a, b) => b.version - a.version)[0];
        const previous = earlier ? await readRecord(input.pipeline, earlier.snapshotHash) : undefined;
        const report = checkSnapshot({ current, previous, spec });
        assertNoHardAnomalies(report, input.snapshot.key);
        return { warnings: report.soft.map(formatAnomaly), comparedWith: previous?.key };
      });
    },
  };
}
