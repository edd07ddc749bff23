/**
 * Starts the embedded stack once for the whole test run, or uses the one already running, and stops
 * at the end only what it started. Every test then owns its names (task queues, keys, databases).
 */
import { loadConfig } from '../platform/config';
import { dropAwsNodeVersionNotice } from '../platform/nodeWarnings';
import { defaultPaths } from '../platform/paths';
import { stackDown, stackUp } from '../scripts/stack/control';

export default async function setup(): Promise<() => Promise<void>> {
  dropAwsNodeVersionNotice();
  const config = loadConfig(process.env, defaultPaths);
  const report = (line: string) => console.log(`[stack] ${line}`);
  const { started } = await stackUp(config, report);
  return async () => {
    if (started) await stackDown(config, report);
  };
}
