/**
 * The ingest stage: the spec's source into a content-addressed snapshot, its record beside it. A
 * source with personal data is refused before anything is written, and audited.
 */
import { Context, log } from '@temporalio/activity';
import { SnapshotError, takeSnapshot } from '../../lifecycle/ingest';
import { appendAudit } from '../../registry';
import type { SnapshotRef, SpecRef } from '../../workflows/lifecycleTypes';
import type { ActivityDeps } from '../deps';
import { stoppingOn } from './errors';
import { snapshotRecordKey } from '../../registry/artifactKeys';
import { runActor, runIdOf } from './register';
import { specOf } from './runSpec';

export function createIngestActivities({ pool, readerPool, objectStore }: ActivityDeps) {
  return {
    /** Reads the spec's source into an Arrow snapshot in S3 (once per content) and keeps its record beside it. */
    async ingestSnapshot(input: { pipeline: string } & SpecRef): Promise<SnapshotRef> {
      const spec = await specOf(objectStore, input);
      return stoppingOn(async () => {
        const record = await takeSnapshot({
          // The spec's SQL runs as the reader role, never with the application role's grants.
          pool: readerPool,
          store: objectStore,
          pipeline: input.pipeline,
          spec,
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
        // Named by the snapshot's hash and made from it alone: written once, like the snapshot.
        await objectStore.putOnce(recordKey, JSON.stringify(record), 'application/json');
        log.info('snapshot taken', { key: record.key, rows: record.rows });
        return { key: record.key, sha256: record.sha256, rows: record.rows, recordKey };
      });
    },
  };
}
