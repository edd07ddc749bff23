/**
 * The ingest and validate stages: the source into a content-addressed snapshot, checked against the
 * last one. A source with personal data is refused before anything is written, and audited.
 */
import { Context, log } from '@temporalio/activity';
import {
  assertNoHardAnomalies,
  formatAnomaly,
  validateSnapshot as checkSnapshot,
} from '../../lifecycle/dataValidation';
import { SnapshotError, type SnapshotRecord, takeSnapshot } from '../../lifecycle/snapshot';
import { ObjectNotFoundError } from '../../platform/objectStore';
import type { PipelineSpec } from '../../platform/pipelineSpec';
import { appendAudit, listVersions } from '../../registry';
import type { SnapshotRef } from '../../workflows/lifecycleTypes';
import type { ActivityDeps } from '../deps';
import { stoppingOn } from './errors';
import { snapshotRecordKey } from './keys';
import { runActor, runIdOf } from './registration';

export function createDataActivities({ pool, readerPool, objectStore }: ActivityDeps) {
  async function readRecord(pipeline: string, sha256: string): Promise<SnapshotRecord | undefined> {
    try {
      return await objectStore.getJson<SnapshotRecord>(snapshotRecordKey(pipeline, sha256));
    } catch (error) {
      if (error instanceof ObjectNotFoundError) return undefined;
      throw error;
    }
  }

  return {
    /** Reads the spec's source into an Arrow snapshot in S3 (once per content) and keeps its record beside it. */
    async ingestSnapshot(input: { pipeline: string; spec: PipelineSpec }): Promise<SnapshotRef> {
      return stoppingOn(async () => {
        const record = await takeSnapshot({
          // The spec's SQL runs as the reader role, never with the application role's grants.
          pool: readerPool,
          store: objectStore,
          pipeline: input.pipeline,
          spec: input.spec,
          onProgress: (rowsRead) => Context.current().heartbeat({ rowsRead }),
        }).catch(async (error: unknown) => {
          if (error instanceof SnapshotError && error.failure === 'personal_data') {
            // Nothing reached S3; the refusal itself is a decision worth a row in the audit log. (No
            // model column: the model is registered only after ingest, and may never be.)
            await appendAudit(pool, {
              actor: runActor(runIdOf()),
              action: 'personal-data-refused',
              details: { stage: 'ingest', pipeline: input.pipeline, message: error.message },
            });
          }
          throw error;
        });
        const recordKey = snapshotRecordKey(input.pipeline, record.sha256);
        await objectStore.put(recordKey, JSON.stringify(record), 'application/json');
        log.info('snapshot taken', { key: record.key, rows: record.rows });
        return { key: record.key, sha256: record.sha256, rows: record.rows, recordKey };
      });
    },

    /**
     * Checks the snapshot on its own and against the snapshot of the pipeline's latest version made
     * from other data. Hard anomalies stop the run; soft ones come back as warnings for the report.
     */
    async validateSnapshot(input: {
      pipeline: string;
      spec: PipelineSpec;
      snapshot: SnapshotRef;
    }): Promise<{ warnings: string[]; comparedWith?: string }> {
      return stoppingOn(async () => {
        const current = await readRecord(input.pipeline, input.snapshot.sha256);
        if (!current)
          throw new Error(`The record of snapshot ${input.snapshot.key} is missing; ingest again.`);
        const versions = await listVersions(pool, input.pipeline).catch(() => []);
        const earlier = versions
          .filter((version) => version.snapshotHash !== input.snapshot.sha256)
          .sort((a, b) => b.version - a.version)[0];
        const previous = earlier ? await readRecord(input.pipeline, earlier.snapshotHash) : undefined;
        const report = checkSnapshot({ current, previous, spec: input.spec });
        assertNoHardAnomalies(report, input.snapshot.key);
        return { warnings: report.soft.map(formatAnomaly), comparedWith: previous?.key };
      });
    },
  };
}
