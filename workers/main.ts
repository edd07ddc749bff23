/**
 * Worker entry point: `kerf worker [--queues all|light|heavy]` or `npm run worker`. Prints a line per
 * stage and decision of the runs it hosts, keeps the full log in `kerf-worker.log` (KERF_LOG_DIR),
 * and stops cleanly on SIGINT/SIGTERM.
 */
import { loadConfig } from '../platform/config';
import { defaultPaths } from '../platform/paths';
import { prepareStorage } from '../platform/prepare';
import { createKerfWorker, type WorkerQueues } from './kerfWorker';
import { startTerminal } from './terminal';

export async function runWorker(options: { queues?: WorkerQueues } = {}): Promise<void> {
  const config = loadConfig(process.env, defaultPaths);
  const { log, activityInterceptors } = startTerminal(config, 'worker');
  try {
    await prepareStorage(config);
    const kerfWorker = await createKerfWorker(config, { queues: options.queues, activityInterceptors });
    const stop = () => void kerfWorker.shutdown();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    const { light, heavy } = kerfWorker.taskQueues;
    // One line per queue; tests wait for the first (test/lifecycleProcesses.ts).
    if (light) {
      log.info(
        `Kerf worker polling task queue "${light}" (light: workflows and I/O, ${config.temporal.lightConcurrency} activities at once) on ${config.temporal.address}`,
      );
    }
    if (heavy) {
      log.info(
        `Kerf worker polling task queue "${heavy}" (heavy: training and evaluation, ${config.temporal.heavyConcurrency} at once) on ${config.temporal.address}`,
      );
    }
    if (log.file) log.info(`Full log: ${log.file}`);
    await kerfWorker.run();
  } catch (error) {
    // The command line prints the error; the file keeps it with the run's other records.
    log.write({ level: 'error', message: 'the worker stopped', error, fileOnly: true });
    throw error;
  } finally {
    log.close();
  }
}
