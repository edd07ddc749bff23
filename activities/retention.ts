/**
 * The nightly check's retention (`retention/`): the model's rejected, superseded and failed versions'
 * objects older than KERF_GC_AFTER_DAYS go from the store, and the prediction log's months older than
 * KERF_PREDICTION_RETENTION_MONTHS are dropped (all models share the log; one night's several checks
 * take turns, the later ones finding nothing left to do). Each decision is a line in the worker's log
 * and each removal an audit row.
 */
import { Context, log } from '@temporalio/activity';
import { DEFAULT_RETENTION } from '../platform/config';
import { retentionLines, runRetention } from '../retention';
import type { RetentionSummary } from '../workflows/monitoringTypes';
import type { ActivityDeps } from './deps';

export function createRetentionActivities({ pool, objectStore, retention }: ActivityDeps) {
  return {
    /** Applies the retention to one model's objects and to the prediction log. */
    async applyRetention(input: { model: string; runId: string }): Promise<RetentionSummary> {
      const context = Context.current();
      const report = await runRetention(
        { pool, objectStore },
        {
          retention: retention ?? DEFAULT_RETENTION,
          actor: `run:${input.runId}`,
          dryRun: false,
          models: [input.model],
          partitions: true,
          onProgress: () => context.heartbeat(),
        },
      );
      for (const line of retentionLines(report)) log.info(line, { model: input.model });
      return {
        objects: report.removed.length,
        bytes: report.removed.reduce((sum, removal) => sum + removal.bytes, 0),
        versions: report.versions.map((entry) => entry.version),
        partitionsCreated: report.partitions
          .filter((action) => action.action === 'create')
          .map((action) => action.partition),
        partitionsDropped: report.partitions
          .filter((action) => action.action === 'drop')
          .map((action) => action.partition),
        rowsExpired: report.partitions
          .filter((action) => action.action === 'expire')
          .reduce((sum, action) => sum + action.rows, 0),
      };
    },
  };
}
