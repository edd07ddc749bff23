/**
 * `npm run bench -- ingest [case]`: the ingest stage's snapshot of the cut-time query over a
 * generated shop against its physical floor, measured in the same run on the same rows: the same
 * SELECT the snapshot streams (its columns, casts and time order) read as the spec reader with
 * `COPY (...) TO STDOUT (FORMAT binary)` and counted in Node, before and after the snapshot (the
 * machine's load drifts; their mean is the floor). `100k` reads the shop once, `1m` ten times over
 * (each copy of a row a year later, so the rows differ), in a database of its own, dropped afterwards.
 * The shop is generated, and COPY's reads are made, in child processes, so the case's peak RSS is
 * the ingest's.
 *
 * Prints one JSON line per case: rows, rows/s of each, the ratio (goal: >= 0.66 at 1M rows), and
 * the snapshot's memory (goal: the same at 100k and 1M rows): the process's RSS just before it and
 * at its peak (sampled every 20 ms while it runs), the most ArrayBuffer memory (batches, parts, and
 * the garbage of both not yet collected) and the heap still used after a full collection at its end;
 * `peak_rss_mb` is the whole process's, COPY's reads included. `3m` (thirty copies, minutes) runs
 * when named: with it, the suite's last line compares the peaks of the cases run (`bench/run.ts`).
 * Needs the running stack (`npx kerf stack up`).
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { takeSnapshot } from '../lifecycle/ingest';
import { planColumns, snapshotQuery } from '../lifecycle/ingest/plan';
import { parsePipelineSpec, type PipelineSpec } from '../lifecycle/spec';
import { checkSpecSource } from '../lifecycle/spec/sourceCheck';
import { createPool, createReaderPool } from '../platform/database';
import { ObjectStore } from '../platform/objectStore';
import { repoRoot } from '../platform/paths';
import { generateShop } from '../shop/load';
import { createOwnDatabase, testConfig, uniqueName } from '../test/helpers';
import { shippedSpecInput } from '../test/specBuilder';
import { type CaseLine, peakRssMb, round, runCaseWhenStarted } from './caseLine';

export const CASES: Record<string, { jobs: number; copies: number }> = {
  // About 0.96 laser cuts per job: 105,000 jobs give about 100,000 rows.
  '100k': { jobs: 105_000, copies: 1 },
  '1m': { jobs: 105_000, copies: 10 },
  '3m': { jobs: 105_000, copies: 30 },
};

/** The cases `npm run bench -- ingest` runs when none is named. */
export const DEFAULT_CASES = ['100k', '1m'];

/** A full garbage collection, so the heap measured is what is still used. */
v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc') as () => void;

/** The process's memory while `work` runs, sampled every 20 ms, in MB. */
async function watchMemory<T>(work: () => Promise<T>): Promise<{ result: T; memory: CaseLine }> {
  collectGarbage();
  const before = process.memoryUsage();
  const peak = { rss: before.rss, arrayBuffers: before.arrayBuffers };
  const sample = () => {
    const now = process.memoryUsage();
    peak.rss = Math.max(peak.rss, now.rss);
    peak.arrayBuffers = Math.max(peak.arrayBuffers, now.arrayBuffers);
  };
  const sampler = setInterval(sample, 20);
  try {
    const result = await work();
    sample();
    collectGarbage();
    const after = process.memoryUsage();
    // MiB, as `peakRssMb` counts.
    const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);
    return {
      result,
      memory: {
        rss_before_mb: mb(before.rss),
        snapshot_peak_rss_mb: mb(peak.rss),
        snapshot_rss_growth_mb: mb(peak.rss - before.rss),
        peak_array_buffers_mb: mb(peak.arrayBuffers),
        heap_after_gc_mb: [mb(before.heapUsed), mb(after.heapUsed)],
      },
    };
  } finally {
    clearInterval(sampler);
  }
}

/**
 * The suite's closing line when it ran more than one case: each case's snapshot peak RSS and growth,
 * and their ratios to the smallest case's.
 */
export function summarizeCases(lines: readonly CaseLine[]): CaseLine | undefined {
  const cases = lines.filter((line) => typeof line.snapshot_peak_rss_mb === 'number');
  const first = cases[0];
  if (!first || cases.length < 2) return undefined;
  const byCase = (figure: string) =>
    Object.fromEntries(cases.map((line) => [String(line.case), line[figure] as number]));
  const ratios = (figure: string) =>
    Object.fromEntries(
      cases
        .slice(1)
        .map((line) => [
          `${String(line.case)}_to_${String(first.case)}`,
          round((line[figure] as number) / (first[figure] as number), 3),
        ]),
    );
  return {
    bench: 'ingest',
    case: 'memory',
    snapshot_peak_rss_mb: byCase('snapshot_peak_rss_mb'),
    peak_rss_ratio: ratios('snapshot_peak_rss_mb'),
    snapshot_rss_growth_mb: byCase('snapshot_rss_growth_mb'),
    peak_array_buffers_mb: byCase('peak_array_buffers_mb'),
  };
}

const progress = (line: string) => process.stderr.write(`ingest: ${line}\n`);

/** The cut-time query's columns, in the shipped spec's order. */
const COLUMNS = [
  'cut_seconds_per_part',
  'thickness_mm',
  'sheet_area_m2',
  'cut_length_mm',
  'pierce_count',
  'hole_count',
  'material_family',
  'material_id',
  'machine_id',
  'laser_power_kw',
  'quantity',
  'shift',
];

/** The shipped cut-time spec over `copies` copies of the shop's cuts. */
function benchSpec(copies: number): PipelineSpec {
  const shipped = shippedSpecInput('cut-time.json') as { source: { query: string | string[] } };
  const query = [shipped.source.query].flat().join('\n');
  const repeated =
    copies === 1
      ? query
      : `SELECT cuts.job_id * ${copies} + copy AS job_id,
                cuts.released_at + copy * interval '1 year' AS released_at,
                ${COLUMNS.map((column) => `cuts.${column}`).join(', ')}
           FROM (${query}) AS cuts CROSS JOIN generate_series(0, ${copies - 1}) AS copy`;
  return parsePipelineSpec({ ...shipped, name: 'cut-time-bench', source: { kind: 'sql', query: repeated } });
}

/** Reads the query's rows as the reader with binary COPY, counting the bytes in Node. */
async function copyFloor(readerUrl: string, sql: string): Promise<{ seconds: number; bytes: number }> {
  const reader = new pg.Client({ connectionString: readerUrl });
  await reader.connect();
  try {
    await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    let bytes = 0;
    const started = performance.now();
    await pipeline(
      reader.query(copyTo(`COPY (${sql}) TO STDOUT (FORMAT binary)`)),
      new Writable({
        write: (piece: Buffer, _encoding, done) => {
          bytes += piece.length;
          done();
        },
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    await reader.query('ROLLBACK');
    return { seconds, bytes };
  } finally {
    await reader.end();
  }
}

/**
 * Runs one of this script's helper modes in a child process, so its memory is not the case's: the
 * shop's generation, and COPY's reads (155 MB at 1M rows, whose buffers would otherwise stay in this
 * process's RSS before the snapshot starts). Resolves with the child's JSON line.
 */
function inChild(mode: 'generate-shop' | 'copy-floor', env: Record<string, string>): Promise<CaseLine> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', `${repoRoot}/bench/ingest.ts`, mode], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as CaseLine)
        : reject(new Error(`bench/ingest.ts ${mode} exited ${code}`)),
    );
  });
}

/** `copyFloor` in a child process. */
async function copyFloorInChild(readerUrl: string, sql: string): Promise<{ seconds: number; bytes: number }> {
  const line = await inChild('copy-floor', { KERF_BENCH_READER_URL: readerUrl, KERF_BENCH_SQL: sql });
  return { seconds: Number(line.seconds), bytes: Number(line.bytes) };
}

export async function runCase(name: string): Promise<CaseLine> {
  if (name === 'generate-shop') {
    const pool = createPool({ url: process.env.KERF_BENCH_OWNER_URL ?? '' }, { max: 2 });
    try {
      await generateShop(pool, { jobs: Number(process.env.KERF_BENCH_JOBS), seed: 1 });
    } finally {
      await pool.end();
    }
    return {};
  }
  if (name === 'copy-floor') {
    return copyFloor(process.env.KERF_BENCH_READER_URL ?? '', process.env.KERF_BENCH_SQL ?? '');
  }
  const benchCase = CASES[name];
  if (!benchCase) throw new Error(`Unknown case "${name}"; cases: ${Object.keys(CASES).join(', ')}`);
  const database = await createOwnDatabase('bench_ingest');
  const store = ObjectStore.fromConfig(testConfig().s3);
  const keyPrefix = `bench/${uniqueName('ingest')}/snapshots`;
  const readerPool = createReaderPool({ readerUrl: database.readerUrl }, { statementTimeoutMs: 600_000 });
  try {
    progress(`generating a shop of ${benchCase.jobs} jobs`);
    await inChild('generate-shop', {
      KERF_BENCH_OWNER_URL: database.ownerUrl,
      KERF_BENCH_JOBS: String(benchCase.jobs),
    });
    const spec = benchSpec(benchCase.copies);
    const plans = planColumns(spec, await checkSpecSource(readerPool, spec));
    const sql = snapshotQuery(spec.source, plans, spec.timeColumn);
    // A first read warms PostgreSQL's caches for both, and a first request the S3 client (a worker
    // that takes snapshots has sent requests before).
    await copyFloorInChild(database.readerUrl, sql);
    await store.list(`${keyPrefix}/`);
    const loadBefore = os.loadavg()[0] ?? 0;
    progress('COPY before');
    const before = await copyFloorInChild(database.readerUrl, sql);
    progress('snapshot');
    let snapshotSeconds = 0;
    const { result: record, memory } = await watchMemory(async () => {
      const started = performance.now();
      const taken = await takeSnapshot({ pool: readerPool, store, pipeline: spec.name, spec, keyPrefix });
      snapshotSeconds = (performance.now() - started) / 1000;
      return taken;
    });
    progress('COPY after');
    const after = await copyFloorInChild(database.readerUrl, sql);
    const copySeconds = (before.seconds + after.seconds) / 2;
    const rows = record.rows;
    return {
      bench: 'ingest',
      case: name,
      rows,
      snapshot_mb: round(record.bytes / 1e6, 1),
      copy_mb: round(before.bytes / 1e6, 1),
      snapshot_s: round(snapshotSeconds, 2),
      copy_s: round(copySeconds, 2),
      copy_s_before_after: [round(before.seconds, 2), round(after.seconds, 2)],
      snapshot_rows_per_s: Math.round(rows / snapshotSeconds),
      copy_rows_per_s: Math.round(rows / copySeconds),
      ratio_to_copy: round(copySeconds / snapshotSeconds, 3),
      ...memory,
      peak_rss_mb: peakRssMb(),
      load_average: [round(loadBefore, 2), round(os.loadavg()[0] ?? 0, 2)],
    };
  } finally {
    for (const object of await store.list(`${keyPrefix}/`)) await store.delete(object.key);
    store.destroy();
    await readerPool.end();
    await database.drop();
  }
}

runCaseWhenStarted('ingest.ts', runCase);
