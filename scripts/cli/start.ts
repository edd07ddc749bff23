/** `npm start`: the main job on the embedded default stack. */
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { KerfConfig } from '../../platform/config';
import { createKerfWorker } from '../../workers/kerfWorker';
import type { smokeCheck } from '../../workflows/smoke';
import { stackDown, stackUp, type Reporter } from '../stack/control';

/** The Web UI page of one workflow execution. */
export function workflowUiUrl(config: KerfConfig, workflowId: string): string {
  const { uiUrl, namespace } = config.temporal;
  return `${uiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

/**
 * Brings the stack up, starts the worker, runs the smoke workflow and keeps the worker running until
 * Ctrl-C (or stops right away with `once`). What this call started, it stops.
 */
export async function runMainJob(
  config: KerfConfig,
  options: { once: boolean; report: Reporter },
): Promise<void> {
  const { report } = options;
  // The worker's bundler and state changes are detail for `kerf worker`; here the smoke result matters.
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const { started } = await stackUp(config, report);
  const kerfWorker = await createKerfWorker(config);
  const workerDone = kerfWorker.run();
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address: config.temporal.address });
    const client = new Client({ connection, namespace: config.temporal.namespace });
    const workflowId = `smoke-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    report(`Running the smoke workflow ${workflowId}...`);
    const result = await client.workflow.execute<typeof smokeCheck>('smokeCheck', {
      taskQueue: config.temporal.taskQueue,
      workflowId,
      args: [{ note: 'npm start' }],
    });
    report(
      `Smoke workflow completed: smoke_checks row ${result.rowId}, object s3://${config.s3.bucket}/${result.objectKey}`,
    );
    report(`Temporal Web UI: ${config.temporal.uiUrl}`);
    report(`This run: ${workflowUiUrl(config, workflowId)}`);
    if (!options.once) {
      report(`Worker running on task queue "${config.temporal.taskQueue}". Press Ctrl-C to stop.`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      report('Stopping...');
    }
  } finally {
    await connection?.close().catch(() => undefined);
    await kerfWorker.shutdown();
    await workerDone.catch(() => undefined);
    if (started) await stackDown(config, report);
  }
}
