/** Worker entry point: `kerf worker` or `npm run worker`. Stops cleanly on SIGINT/SIGTERM. */
import { loadConfig } from '../platform/config';
import { defaultPaths } from '../platform/paths';
import { prepareStorage } from '../platform/prepare';
import { createKerfWorker } from './kerfWorker';

export async function runWorker(): Promise<void> {
  const config = loadConfig(process.env, defaultPaths);
  await prepareStorage(config);
  const kerfWorker = await createKerfWorker(config);
  const stop = () => void kerfWorker.shutdown();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  console.log(`Kerf worker polling task queue "${config.temporal.taskQueue}" on ${config.temporal.address}`);
  await kerfWorker.run();
}
