/**
 * `kerf serve`: only the prediction API, for a machine or container that runs no worker and no
 * embedded stack (Temporal is not needed: serving reads the registry in PostgreSQL and S3).
 */
import type { Command } from 'commander';
import { loadConfig, type KerfConfig } from '../../platform/config';
import { createPool } from '../../platform/database';
import { ObjectStore } from '../../platform/objectStore';
import { defaultPaths } from '../../platform/paths';
import { mappingsFromRegistry } from '../../monitoring/categoryMappings';
import { apiToken } from '../../serving/apiToken';
import { startServing, type ServingOptions } from '../../serving';

/** A running prediction API with its own pool and object store; `close` stops all three. */
export interface PredictionApi {
  close(): Promise<void>;
}

/**
 * Starts the prediction API on its own pool and object store and reports where it answers: what
 * `kerf serve` runs alone and `npm start` runs beside the worker.
 */
export async function startPredictionApi(
  config: KerfConfig,
  logger: ServingOptions['logger'],
  report: (line: string) => void,
): Promise<PredictionApi> {
  const pool = createPool(config.postgres, { applicationName: 'kerf-serving' });
  const objectStore = ObjectStore.fromConfig(config.s3);
  const release = async () => {
    objectStore.destroy();
    await pool.end().catch(() => undefined);
  };
  try {
    const { token, source } = await apiToken(config);
    const serving = await startServing({
      pool,
      objectStore,
      token,
      port: config.api.port,
      host: config.api.host,
      categoryMappings: mappingsFromRegistry(pool),
      logger,
    });
    report(
      `Prediction API: ${serving.url} (bearer token ${source === 'file' ? `in ${config.api.tokenFile}` : 'from KERF_API_TOKEN'})`,
    );
    return {
      async close() {
        await serving.close().catch(() => undefined);
        await release();
      },
    };
  } catch (error) {
    await release();
    throw error;
  }
}

/** Runs the prediction API until SIGINT or SIGTERM, then closes it and its connections. */
export async function runServe(report: (line: string) => void): Promise<void> {
  const config = loadConfig(process.env, defaultPaths);
  // A service manager (systemd, Compose) collects standard output: one JSON line per request.
  const api = await startPredictionApi(config, true, report);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  report('Stopping the prediction API...');
  await api.close();
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
