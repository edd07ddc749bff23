/** Starting the prediction API on a port, once the deployed models are loaded. */
import { buildServingApp, type ServingApp, type ServingOptions } from './app';
import { maintainPredictionPartitions } from './predictionPartitions';

export interface StartServingOptions extends ServingOptions {
  /**
   * The TCP port; 0 picks a free one (see `url`).
   * @default 8080
   */
  port?: number;
  /**
   * The address to listen on; `0.0.0.0` to be reachable from other machines.
   * @default '127.0.0.1'
   */
  host?: string;
}

export interface RunningServing extends ServingApp {
  /** Where the API answers, e.g. `http://127.0.0.1:8080`. */
  url: string;
  port: number;
}

/**
 * Builds the API, makes the prediction log's month partitions ahead, waits until the deployed models
 * are loaded (or refused), and listens.
 *
 * @throws when PostgreSQL cannot be reached, or the port is taken (naming the port)
 */
export async function startServing(options: StartServingOptions): Promise<RunningServing> {
  const port = options.port ?? 8080;
  const host = options.host ?? '127.0.0.1';
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new Error(`port must be a TCP port number (0 to 65535), got ${port}`);
  }
  const serving = buildServingApp(options);
  try {
    // The prediction log's month partitions ahead; until they exist rows land in the DEFAULT one,
    // so serving starts even when this fails (the nightly check makes them too).
    await maintainPredictionPartitions(options.pool, {
      retentionMonths: null,
      actor: 'kerf-serving',
      dryRun: false,
    }).catch((error: unknown) => {
      serving.app.log.warn({ err: error }, 'could not make the prediction log partitions ahead');
    });
    await serving.models.ready();
    await serving.app.listen({ port, host });
  } catch (error) {
    await serving.close().catch(() => undefined);
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new Error(
        `Port ${port} on ${host} is already taken: stop what listens there or choose another port`,
        {
          cause: error,
        },
      );
    }
    throw new Error(`The prediction API could not start: ${(error as Error).message}`, { cause: error });
  }
  const address = serving.app.server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return { ...serving, url: `http://${urlHost}:${actualPort}`, port: actualPort };
}
