/** The smoke check's activity: one row in PostgreSQL and one object in S3, keyed by workflow id. */
import { Context } from '@temporalio/activity';
import type { ActivityDeps } from './deps';

export interface RecordSmokeCheckInput {
  note: string;
}

export function createSmokeActivities({ pool, objectStore }: ActivityDeps) {
  return {
    async recordSmokeCheck(input: RecordSmokeCheckInput): Promise<{ rowId: string; objectKey: string }> {
      const { workflowExecution } = Context.current().info;
      if (!workflowExecution)
        throw new Error('recordSmokeCheck must run inside a workflow: it is keyed by workflow id');
      const objectKey = `smoke/${workflowExecution.workflowId}.json`;
      const body = JSON.stringify({
        workflowId: workflowExecution.workflowId,
        runId: workflowExecution.runId,
        note: input.note,
        recordedAt: new Date().toISOString(),
      });
      await objectStore.put(objectKey, body, 'application/json');
      // Upsert by workflow id: a retried activity updates the same row rather than adding another.
      const { rows } = await pool.query<{ id: string }>(
        `INSERT INTO smoke_checks (workflow_id, note, object_key) VALUES ($1, $2, $3)
         ON CONFLICT (workflow_id) DO UPDATE SET note = EXCLUDED.note, object_key = EXCLUDED.object_key
         RETURNING id`,
        [workflowExecution.workflowId, input.note, objectKey],
      );
      const rowId = rows[0]?.id;
      if (rowId === undefined) throw new Error('INSERT ... RETURNING gave no row for the smoke check');
      return { rowId, objectKey };
    },
  };
}
