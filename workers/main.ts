/** Worker entry point: `kerf worker [--queues all|light|heavy]` or `npm run worker`. Stops cleanly on SIGINT/SIGTERM. */
import { loadConfig } from '../platform/config';
import { defaultPaths } from '../platform/paths';
import { prepareStorage } from '../platform/prepare';
import { createKerfWorker, type WorkerQueues } from './kerfWorker';

export async function runWorker(options: { queues?: WorkerQueues } = {}): Promise<void> {
  const config = loadConfig(process.env, defaultPaths);
  await prepareStorage(config);
  const kerfWorker = await createKerfWorker(config, { queues: options.queues });
  const stop = () => void kerfWorker.shutdown();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const { light, heavy } = kerfWorker.taskQueues;
  // One line per queue; tests wait for the first (test/lifecycleProcesses.ts).
  if (light) {
    console.log(
      `Kerf worker polling task queue "${light}" (light: workflows and I/O, ${config.temporal.lightConcurrency} activities at once) on ${config.temporal.address}`,
    );
  }
  if (heavy) {
    console.log(
      `Kerf worker polling task queue "${heavy}" (heavy: training and evaluation, ${config.temporal.heavyConcurrency} at once) on ${config.temporal.address}`,
    );
  }
  await kerfWorker.run();
}
