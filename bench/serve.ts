/**
 * `npm run bench -- serve [case]`: Kerf's prediction API against the HTTP stack's limit, in the same
 * run: a bare fastify route that parses the same body and answers a constant. Kerf serves a deployed
 * version on the running stack (start it first with `npx kerf stack up`) as `npm start` runs it:
 * warnings to a log file, taught category mappings read from the registry, predictions logged to
 * PostgreSQL. Each server runs alone in a process of its own (`bench/serveServer.ts`), and the load
 * comes from `bench/serveLoad.ts` in another.
 *
 * - `single`, `batch-100`: closed-loop saturation with 32 connections, one row or 100 rows a request;
 * - `open-500`, `open-2000`: one row a request at a constant rate, latency measured from each
 *   request's scheduled time (no coordinated omission).
 *
 * Each case measures bare fastify, then Kerf, and prints one JSON line with both and their ratios
 * (Kerf/bare: req/s and each percentile), and how many of Kerf's predictions reached the log. Each
 * side also reports its server's event-loop utilisation second by second: under a closed loop, a
 * second below 1 is time the server waited for requests rather than being what limited them.
 * With KERF_BENCH_CPU_PROF=<folder>, each server process writes its V8 CPU profile there.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../platform/paths';
import {
  createServingWorld,
  inputRows,
  modelName,
  registerVersion,
  SERVING_TOKEN,
} from '../test/servingFixtures';
import { type CaseLine, round, runCaseWhenStarted } from './caseLine';
import type { LoadPlan, LoadResult } from './serveLoad';
import type { ServerReport } from './serveServer';

interface ServeCase {
  mode: 'closed' | 'open';
  /** Rows per request. */
  rows: number;
  /** Requests per second (open loop). */
  rate?: number;
  connections: number;
  warmupSeconds: number;
  seconds: number;
  /** The goal for this case, printed with the result. */
  goal: string;
}

export const CASES: Record<string, ServeCase> = {
  single: {
    mode: 'closed',
    rows: 1,
    connections: 32,
    warmupSeconds: 3,
    seconds: 10,
    goal: 'req/s >= 0.5x bare',
  },
  'batch-100': {
    mode: 'closed',
    rows: 100,
    connections: 32,
    warmupSeconds: 3,
    seconds: 10,
    goal: 'none set',
  },
  'open-500': {
    mode: 'open',
    rows: 1,
    rate: 500,
    connections: 32,
    warmupSeconds: 3,
    seconds: 15,
    goal: 'p99 <= 2x bare',
  },
  'open-2000': {
    mode: 'open',
    rows: 1,
    rate: 2000,
    connections: 32,
    warmupSeconds: 3,
    seconds: 15,
    goal: 'p99 < 5 ms',
  },
};

/** Boosting rounds of the served model (trees of at most 15 leaves, 4 inputs, 2 of them categorical). */
const TREES = 200;
const progress = (line: string) => process.stderr.write(`serve: ${line}\n`);

/** What the load generator measured, the server's CPU time per answer and how its event loop kept up. */
type Measured = LoadResult & { serverCpuUsPerRequest: number } & Pick<
    ServerReport,
    'loopDelay' | 'gc' | 'loopUtilization'
  >;

/** A server process of the bench (`bench/serveServer.ts`), listening. */
interface ServerProcess {
  port: number;
  /** Closes it and returns its report (CPU time since it listened, Kerf's log counts). */
  stop(): Promise<ServerReport>;
}

function startServer(
  kind: 'kerf' | 'bare',
  logFile: string,
  env: Record<string, string>,
): Promise<ServerProcess> {
  const child = spawn(
    process.execPath,
    [
      ...(process.env.KERF_BENCH_CPU_PROF
        ? ['--cpu-prof', '--cpu-prof-dir', process.env.KERF_BENCH_CPU_PROF]
        : []),
      '--import',
      'tsx',
      path.join(repoRoot, 'bench/serveServer.ts'),
      kind,
      logFile,
    ],
    { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const lines: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  let buffered = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    for (let end = buffered.indexOf('\n'); end >= 0; end = buffered.indexOf('\n')) {
      const line = buffered.slice(0, end);
      buffered = buffered.slice(end + 1);
      const next = waiting.shift();
      if (next) next(line);
      else lines.push(line);
    }
  });
  const exited = new Promise<never>((_resolve, reject) =>
    child.once('exit', (code) => reject(new Error(`the ${kind} server exited (code ${code})`))),
  );
  const nextLine = () =>
    Promise.race([
      new Promise<string>((resolve) => {
        const line = lines.shift();
        if (line === undefined) waiting.push(resolve);
        else resolve(line);
      }),
      exited,
    ]);
  return nextLine().then((line) => ({
    port: (JSON.parse(line) as { port: number }).port,
    stop: async () => {
      child.stdin.end();
      return JSON.parse(await nextLine()) as ServerReport;
    },
  }));
}

/**
 * Runs the load generator against a server process started for it and returns what it measured,
 * with the server's CPU time per answer over the whole run (warm-up included).
 */
async function measure(
  server: ServerProcess,
  plan: LoadPlan,
): Promise<{ measured: Measured; report: ServerReport }> {
  const result = await loadProcess(plan);
  const report = await server.stop();
  const answered = (result.requests * (plan.warmupSeconds + plan.seconds)) / plan.seconds;
  return {
    measured: {
      ...result,
      serverCpuUsPerRequest: Math.round(report.cpuUs / Math.max(1, answered)),
      loopDelay: report.loopDelay,
      loopUtilization: report.loopUtilization,
      gc: report.gc,
    },
    report,
  };
}

function loadProcess(plan: LoadPlan): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(repoRoot, 'bench/serveLoad.ts'), JSON.stringify(plan)],
      { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0) resolve(JSON.parse(stdout) as LoadResult);
      else reject(new Error(`the load generator failed (exit code ${code ?? signal})`));
    });
  });
}

/** The figures of one server in the JSON line. */
function figures(result: Measured, rowsPerRequest: number) {
  return {
    req_per_s: result.reqPerSec,
    rows_per_s: result.reqPerSec * rowsPerRequest,
    p50_ms: result.p50Ms,
    p99_ms: result.p99Ms,
    p999_ms: result.p999Ms,
    max_ms: result.maxMs,
    requests: result.requests,
    errors: result.errors,
    ...(result.unanswered > 0 ? { unanswered: result.unanswered } : {}),
    server_cpu_us_per_request: result.serverCpuUsPerRequest,
    client_cpu_us_per_request: result.clientCpuUsPerRequest,
    // The server's event loop over the whole run (warm-up included): where p99's stalls come from.
    server_loop_delay_ms: result.loopDelay,
    server_gc: result.gc,
    // Near 1 when the server's thread is what limits a closed loop; lower, it waited for something.
    server_loop_utilization: result.loopUtilization,
  };
}

export async function runCase(name: string): Promise<CaseLine> {
  const benchCase = CASES[name];
  if (!benchCase) throw new Error(`Unknown case "${name}"; cases: ${Object.keys(CASES).join(', ')}`);
  const rows = inputRows(benchCase.rows, 17);
  const body = JSON.stringify(benchCase.rows === 1 ? { row: rows[0] } : { rows });
  const plan = (port: number, pathName: string): LoadPlan => ({
    host: '127.0.0.1',
    port,
    method: 'POST',
    path: pathName,
    headers: { authorization: `Bearer ${SERVING_TOKEN}`, 'content-type': 'application/json' },
    body,
    connections: benchCase.connections,
    mode: benchCase.mode,
    ...(benchCase.rate === undefined ? {} : { rate: benchCase.rate }),
    warmupSeconds: benchCase.warmupSeconds,
    seconds: benchCase.seconds,
  });

  const logDir = await mkdtemp(path.join(os.tmpdir(), 'kerf-bench-serve-'));
  const logFile = path.join(logDir, 'api.log');
  progress(`${name}: bare fastify`);
  const bareServer = await startServer('bare', logFile, {});
  const { measured: bare } = await measure(bareServer, plan(bareServer.port, '/predict'));

  const world = await createServingWorld('bench_serve');
  try {
    const model = modelName('bench-serve');
    progress(`${name}: training and deploying ${model} (${TREES} trees)`);
    await registerVersion(world, { model, iterations: TREES, alias: 'production' });
    progress(`${name}: Kerf`);
    const kerfServer = await startServer('kerf', logFile, {
      ...world.db.env,
      KERF_API_TOKEN: SERVING_TOKEN,
    });
    const { measured: kerf, report } = await measure(
      kerfServer,
      plan(kerfServer.port, `/v1/models/${model}/predict`),
    );
    const logged = report.log ?? { written: 0, dropped: 0 };
    const { rows: counted } = await world.db.pool.query<{ count: string }>(
      'SELECT count(*) FROM serving.predictions WHERE model = $1',
      [model],
    );
    const ratio = (kerfValue: number, bareValue: number) => round(kerfValue / bareValue, 3);
    return {
      bench: 'serve',
      case: name,
      mode: benchCase.mode === 'closed' ? `closed loop, ${benchCase.connections} connections` : 'open loop',
      ...(benchCase.rate === undefined ? {} : { rate_req_per_s: benchCase.rate }),
      rows_per_request: benchCase.rows,
      seconds: benchCase.seconds,
      model: `gbdt, ${TREES} trees of at most 15 leaves, 4 inputs (2 categorical)`,
      kerf: figures(kerf, benchCase.rows),
      bare: figures(bare, benchCase.rows),
      ratio_kerf_to_bare: {
        req_per_s: ratio(kerf.reqPerSec, bare.reqPerSec),
        p50: ratio(kerf.p50Ms, bare.p50Ms),
        p99: ratio(kerf.p99Ms, bare.p99Ms),
        p999: ratio(kerf.p999Ms, bare.p999Ms),
      },
      goal: benchCase.goal,
      // Every answered row (warm-up included) must be in serving.predictions.
      prediction_log: { ...logged, rows_in_table: Number(counted[0]?.count ?? 0) },
      load_average: round(os.loadavg()[0] ?? 0, 2),
    };
  } finally {
    await world.close();
    await rm(logDir, { recursive: true, force: true });
  }
}

runCaseWhenStarted('serve.ts', runCase);
