/**
 * The `serve` bench's server process: Kerf's prediction API as `npm start` runs it (its own pool and
 * object store from the environment, warnings to a log file, taught category mappings from the
 * registry), or the bare fastify route (`bare`), alone in a process with a heap of its own, as a
 * server runs in production. It prints `{"port": n}` once it listens; when its standard input ends it
 * closes (Kerf writes its buffered predictions) and prints its CPU time since listening, how its
 * event loop kept up (the delays of a timer due every 2 ms, and the garbage collector's pauses:
 * the stalls an open-loop p99 meets; its utilisation each second) and, for Kerf, the prediction
 * log's counts.
 */
import { constants, monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks';
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
  /** The event loop's delays since listening, in milliseconds. */
  loopDelay: { p50Ms: number; p99Ms: number; maxMs: number };
  /** Garbage collections since listening: scavenges (minor) and the others (mark-compact). */
  gc: { minor: GcPauses; major: GcPauses };
  /**
   * The share of each second since listening that the event loop ran code rather than waiting for
   * I/O (`performance.eventLoopUtilization`): near 1 in the seconds the server's thread was what
   * limited the load.
   */
  loopUtilization: number[];
  log?: { written: number; dropped: number };
}

interface GcPauses {
  count: number;
  totalMs: number;
  maxMs: number;
}

const round2 = (value: number) => Math.round(value * 100) / 100;

/**
 * Starts watching the event loop (its delays and the collector's pauses); the returned function
 * stops and reports.
 */
function watchEventLoop(): () => Pick<ServerReport, 'loopDelay' | 'gc' | 'loopUtilization'> {
  const seconds: number[] = [];
  let last = performance.eventLoopUtilization();
  const everySecond = setInterval(() => {
    const now = performance.eventLoopUtilization();
    seconds.push(round2(performance.eventLoopUtilization(now, last).utilization));
    last = now;
  }, 1000);
  everySecond.unref();
  const delay = monitorEventLoopDelay({ resolution: 2 });
  const gc = { minor: { count: 0, totalMs: 0, maxMs: 0 }, major: { count: 0, totalMs: 0, maxMs: 0 } };
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as { detail?: { kind?: number } }).detail?.kind;
      const pauses = kind === constants.NODE_PERFORMANCE_GC_MINOR ? gc.minor : gc.major;
      pauses.count += 1;
      pauses.totalMs += entry.duration;
      pauses.maxMs = Math.max(pauses.maxMs, entry.duration);
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  delay.enable();
  return () => {
    clearInterval(everySecond);
    delay.disable();
    observer.disconnect();
    const ms = (nanoseconds: number) => round2(nanoseconds / 1e6);
    const rounded = (pauses: GcPauses) => ({
      count: pauses.count,
      totalMs: round2(pauses.totalMs),
      maxMs: round2(pauses.maxMs),
    });
    return {
      loopDelay: { p50Ms: ms(delay.percentile(50)), p99Ms: ms(delay.percentile(99)), maxMs: ms(delay.max) },
      gc: { minor: rounded(gc.minor), major: rounded(gc.major) },
      loopUtilization: seconds,
    };
  };
}

async function serve(kind: string, logFile: string): Promise<() => Promise<ServerReport>> {
  if (kind === 'bare') {
    const app = Fastify({ logger: false });
    app.post('/predict', (_request, reply) => reply.send({ ok: true }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    console.log(JSON.stringify({ port: (app.server.address() as { port: number }).port }));
    const cpu = process.cpuUsage();
    const watched = watchEventLoop();
    return async () => {
      const used = process.cpuUsage(cpu);
      const loop = watched();
      await app.close();
      return { cpuUs: used.user + used.system, ...loop };
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
  const watched = watchEventLoop();
  return async () => {
    const used = process.cpuUsage(cpu);
    const loop = watched();
    await serving.close();
    const { written, dropped } = serving.predictionLog.status();
    objectStore.destroy();
    await pool.end();
    return { cpuUs: used.user + used.system, ...loop, log: { written, dropped } };
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
