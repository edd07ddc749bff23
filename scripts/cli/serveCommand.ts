/**
 * `kerf serve`: only the prediction API, for a machine or container that runs no worker and no
 * embedded stack (Temporal is not needed: serving reads the registry in PostgreSQL and S3).
 */
import type { Command } from 'commander';
import { loadConfig } from '../../platform/config';
import { createPool } from '../../platform/database';
import { ObjectStore } from '../../platform/objectStore';
import { defaultPaths } from '../../platform/paths';
import { mappingsFromRegistry } from '../../monitoring/categoryMappings';
import { apiToken } from '../../serving/apiToken';
import { startServing } from '../../serving';

/** Runs the prediction API until SIGINT or SIGTERM, then closes it and its connections. */
export async function runServe(report: (line: string) => void): Promise<void> {
  const config = loadConfig(process.env, defaultPaths);
  const pool = createPool(config.postgres, { applicationName: 'kerf-serving' });
  const objectStore = ObjectStore.fromConfig(config.s3);
  try {
    const { token, source } = await apiToken(config);
    const serving = await startServing({
      pool,
      objectStore,
      token,
      port: config.api.port,
      host: config.api.host,
      categoryMappings: mappingsFromRegistry(pool),
      // A service manager (systemd, Compose) collects standard output: one JSON line per request.
      logger: true,
    });
    report(
      `Prediction API: ${serving.url} (bearer token ${source === 'file' ? `in ${config.api.tokenFile}` : 'from KERF_API_TOKEN'})`,
    );
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    report('Stopping the prediction API...');
    await serving.close();
  } finally {
    objectStore.destroy();
    await pool.end().catch(() => undefined);
  }
}

export function registerServeCommand(program: Command, report: (line: string) => void): void {
  program
    .command('serve')
    .description(
      'run only the prediction API (no worker, no embedded stack) until Ctrl-C; KERF_API_HOST and KERF_API_PORT say where',
    )
    .action(async () => {
      await runServe(report);
    });
}
