/**
 * The `serve` bench's server process: Kerf's prediction API as `npm start` runs it (its own pool and
 * object store from the environment, warnings to a log file, taught category mappings from the
 * registry), or the bare fastify route (`bare`), alone in a process with a heap of its own, as a
 * server runs in production. It prints `{"port": n}` once it listens; when its standard input ends it
 * closes (Kerf writes its buffered predictions) and prints its CPU time since listening and, for
 * Kerf, the prediction log's counts.
 */
import Fastify from 'fastify';
import { mappingsFromRegistry } from '../monitoring/categoryMappings';
import { loadConfig } from '../platform/config';
import { createPool } from '../platform/database';
import { ObjectStore } from '../platform/objectStore';
import { defaultPaths } from '../platform/paths';
import { startServing } from '../serving';

/** What the server printed when it stopped. */
export interface ServerReport {
  cpuUs: number;
  log?: { written: number; dropped: number };
}

async function serve(kind: string, logFile: string): Promise<() => Promise<ServerReport>> {
  if (kind === 'bare') {
    const app = Fastify({ logger: false });
    app.post('/predict', (_request, reply) => reply.send({ ok: true }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    console.log(JSON.stringify({ port: (app.server.address() as { port: number }).port }));
    const cpu = process.cpuUsage();
    return async () => {
      const used = process.cpuUsage(cpu);
      await app.close();
      return { cpuUs: used.user + used.system };
    };
  }
  const config = loadConfig(process.env, defaultPaths);
  // The token comes as KERF_API_TOKEN, never on the command line.
  const token = config.api.token;
  if (!token) throw new Error('KERF_API_TOKEN is not set');
  const pool = createPool(config.postgres, { applicationName: 'kerf-serving' });
  const objectStore = ObjectStore.fromConfig(config.s3);
  const serving = await startServing({
    pool,
    objectStore,
    token,
    port: 0,
    categoryMappings: mappingsFromRegistry(pool),
    logger: { level: 'warn', file: logFile },
  });
  console.log(JSON.stringify({ port: serving.port }));
  const cpu = process.cpuUsage();
  return async () => {
    const used = process.cpuUsage(cpu);
    await serving.close();
    const { written, dropped } = serving.predictionLog.status();
    objectStore.destroy();
    await pool.end();
    return { cpuUs: used.user + used.system, log: { written, dropped } };
  };
}

async function main(): Promise<void> {
  const [kind, logFile] = process.argv.slice(2);
  if (!kind || !logFile)
    throw new Error('usage: serveServer.ts kerf|bare LOG_FILE (KERF_API_TOKEN for kerf)');
  const stop = await serve(kind, logFile);
  process.stdin.resume();
  await new Promise((resolve) => process.stdin.once('end', resolve));
  console.log(JSON.stringify(await stop()));
  process.exit(0);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
