/**
 * `npm run bench -- score-batch [case]`: batch scoring end to end through the `batchScoring` workflow
 * (a `kerf worker` process polling the run's light and heavy queues, on the running stack: start it
 * first with `npx kerf stack up`) against the physical floors measured in the same run, on the same
 * rows, in a database of its own that is dropped afterwards:
 *
 * - `copy_out`: the query's rows read as the spec reader with binary COPY and thrown away (what
 *   PostgreSQL and the wire can hand over at best);
 * - `onnx`: the same rows, already in typed arrays, scored by onnxruntime alone (one thread, batches
 *   of `BATCH_ROWS`, as a chunk scores them);
 * - `copy_in`: as many result rows (run, key, prediction, version, prediction id, scored_at) written
 *   with binary COPY into a table with the result table's primary key.
 *
 * Each is measured before and after the run (the machine's load drifts) and reported in rows per
 * second of their mean, with the workflow's ratio to it; `serial_floor` is the three one after the
 * other. `load_average` is the machine's 1-minute load before and after. One JSON line per case.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { PassThrough, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Client } from '@temporalio/client';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { OnnxScorer } from '../ml/onnx';
import type { CategoricalColumn, NumericColumn } from '../ml/table';
import { Table } from '../ml/table';
import { connectTemporalClient } from '../platform/temporalConnection';
import { BATCH_ROWS } from '../serving/batch/chunk';
import { copyHeader, copyTrailer } from '../serving/batch/copyFormat';
import { encodeScoredRows } from '../serving/batch/copyWriter';
import { startBatchScoring } from '../workflows/client/batchScoringRuns';
import { testConfig, uniqueName } from '../test/helpers';
import { killWorkerProcesses, startWorkerProcess } from '../test/lifecycleProcesses';
import { createServingWorld, modelName, registerVersion } from '../test/servingFixtures';
import { trustWorkerSigningKey } from '../test/trustedKeys';
import { type CaseLine, peakRssMb, round, runCaseWhenStarted } from './caseLine';

export const CASES: Record<string, { rows: number; chunkRows: number; parallelChunks: number }> = {
  // Kerf's defaults: chunks of 100,000 rows, three at once.
  '1m': { rows: 1_000_000, chunkRows: 100_000, parallelChunks: 3 },
  '1m-two-at-once': { rows: 1_000_000, chunkRows: 100_000, parallelChunks: 2 },
  '200k': { rows: 200_000, chunkRows: 50_000, parallelChunks: 3 },
};

/** Boosting rounds of the bench's model (trees of at most 15 leaves, 4 inputs, 2 of them categorical). */
const TREES = 50;
const MATERIALS = ['mild_steel', 'stainless_steel', 'aluminium'];
const LASERS = ['LAS-1', 'LAS-2'];
const progress = (line: string) => process.stderr.write(`score-batch: ${line}\n`);

async function timed<T>(work: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const started = performance.now();
  const value = await work();
  return { seconds: (performance.now() - started) / 1000, value };
}

/** Reads the query's rows as the reader with binary COPY into nothing. */
async function copyOutFloor(readerUrl: string, query: string): Promise<number> {
  const reader = new pg.Client({ connectionString: readerUrl });
  await reader.connect();
  try {
    await reader.query('BEGIN READ ONLY');
    const { seconds } = await timed(() =>
      pipeline(
        reader.query(copyTo(`COPY (${query}) TO STDOUT (FORMAT binary)`)),
        new Writable({ write: (_piece, _encoding, done) => done() }),
      ),
    );
    await reader.query('ROLLBACK');
    return seconds;
  } finally {
    await reader.end();
  }
}

/** The bench's rows as columns, as a chunk decodes them. */
function columnsOf(rows: number): { numbers: NumericColumn[]; texts: CategoricalColumn[] } {
  const thickness = new Float64Array(rows);
  const length = new Float64Array(rows);
  const material = new Int32Array(rows);
  const laser = new Int32Array(rows);
  for (let row = 0; row < rows; row++) {
    const g = row + 1;
    thickness[row] = 1 + ((g * 37) % 191) / 10;
    length[row] = 100 + ((g * 7919) % 4900);
    material[row] = g % 3;
    laser[row] = g % 2;
  }
  return {
    numbers: [
      { kind: 'numeric', name: 'thickness_mm', values: thickness },
      { kind: 'numeric', name: 'cut_length_mm', values: length },
    ],
    texts: [
      { kind: 'categorical', name: 'material_family', codes: material, dictionary: MATERIALS },
      { kind: 'categorical', name: 'machine_id', codes: laser, dictionary: LASERS },
    ],
  };
}

/** onnxruntime alone on the rows, one thread, a batch at a time. */
async function onnxFloor(onnx: Uint8Array, rows: number): Promise<number> {
  const scorer = await OnnxScorer.load(onnx, { intraOpNumThreads: 1 });
  const { numbers, texts } = columnsOf(rows);
  try {
    const { seconds } = await timed(async () => {
      for (let start = 0; start < rows; start += BATCH_ROWS) {
        const end = Math.min(rows, start + BATCH_ROWS);
        const batch = new Table([
          ...numbers.map((column) => ({ ...column, values: column.values.subarray(start, end) })),
          ...texts.map((column) => ({ ...column, codes: column.codes.subarray(start, end) })),
        ]);
        await scorer.scoreTable(batch);
      }
    });
    return seconds;
  } finally {
    await scorer.release();
  }
}

/** As many result rows written with binary COPY into a table keyed like a result table. */
async function copyInFloor(pool: pg.Pool, rows: number): Promise<number> {
  const table = `scoring.${uniqueName('floor')}`;
  await pool.query(
    `CREATE TABLE ${table} (run bigint NOT NULL, part_id integer NOT NULL, prediction double precision NOT NULL,
       version integer NOT NULL, prediction_id uuid NOT NULL, scored_at timestamptz NOT NULL, PRIMARY KEY (run, part_id))`,
  );
  // The key fields as a chunk carries them: int4 part ids on the wire.
  const batches: Buffer[] = [];
  for (let start = 0; start < rows; start += BATCH_ROWS) {
    const count = Math.min(BATCH_ROWS, rows - start);
    const keyBytes = Buffer.alloc(count * 8);
    const keyOffsets = new Uint32Array(count + 1);
    for (let row = 0; row < count; row++) {
      keyBytes.writeInt32BE(4, row * 8);
      keyBytes.writeInt32BE(start + row + 1, row * 8 + 4);
      keyOffsets[row + 1] = (row + 1) * 8;
    }
    batches.push(
      encodeScoredRows(
        { rowCount: count, keyBytes, keyOffsets },
        1,
        { kind: 'value', values: new Float64Array(count).fill(1.5) },
        { run: 1, version: 1, scoredAt: new Date() },
      ),
    );
  }
  const client = await pool.connect();
  try {
    const { seconds } = await timed(async () => {
      await client.query('BEGIN');
      const out = new PassThrough();
      const writing = pipeline(out, client.query(copyFrom(`COPY ${table} FROM STDIN (FORMAT binary)`)));
      out.write(copyHeader());
      for (const batch of batches)
        if (!out.write(batch)) await new Promise((resolve) => out.once('drain', resolve));
      out.end(copyTrailer());
      await writing;
      await client.query('COMMIT');
    });
    return seconds;
  } finally {
    client.release();
    await pool.query(`DROP TABLE ${table}`);
  }
}

export async function runCase(name: string): Promise<CaseLine> {
  const benchCase = CASES[name];
  if (!benchCase) throw new Error(`Unknown case "${name}"; cases: ${Object.keys(CASES).join(', ')}`);
  const { rows } = benchCase;
  const world = await createServingWorld('bench_score');
  try {
    const model = modelName('bench-score');
    const version = await registerVersion(world, { model, iterations: TREES, alias: 'production' });
    const source = uniqueName('parts');
    progress(`loading ${rows} rows`);
    await world.db.ownerPool.query(
      `CREATE TABLE imported.${source} AS
       SELECT g AS part_id,
              (1 + (g * 37 % 191) / 10.0)::float8 AS thickness_mm,
              (100 + (g::bigint * 7919 % 4900))::float8 AS cut_length_mm,
              (ARRAY['mild_steel', 'stainless_steel', 'aluminium'])[1 + g % 3] AS material_family,
              (ARRAY['LAS-1', 'LAS-2'])[1 + g % 2] AS machine_id
         FROM generate_series(1, ${rows}) AS g`,
    );
    await world.db.ownerPool.query(`ALTER TABLE imported.${source} ADD PRIMARY KEY (part_id)`);
    await world.db.ownerPool.query(`VACUUM ANALYZE imported.${source}`);
    const query = `SELECT part_id, thickness_mm, cut_length_mm, material_family, machine_id FROM imported.${source}`;

    const taskQueue = uniqueName('bench_score');
    const config = testConfig({ ...world.db.env, TEMPORAL_TASK_QUEUE: taskQueue });
    await trustWorkerSigningKey(world.db.ownerPool, config);
    progress('starting a kerf worker');
    await startWorkerProcess({ ...world.db.env, TEMPORAL_TASK_QUEUE: taskQueue });
    const connection = await connectTemporalClient(config.temporal);
    const client = new Client({ connection, namespace: config.temporal.namespace });
    try {
      // A small run first, in as many chunks at once, so the worker has verified the version and
      // started its scoring threads (about a second each, once per worker and version).
      const warm = await startBatchScoring(
        client,
        config,
        {
          model,
          query: `${query} WHERE part_id <= ${200 * benchCase.parallelChunks}`,
          into: 'bench_warm_up',
          chunkRows: 200,
          parallelChunks: benchCase.parallelChunks,
          startedBy: 'bench',
        },
        { taskQueue, workflowId: `score-bench-warm-${randomUUID()}` },
      );
      await warm.result();

      // The floors before and after the run, averaged: the machine's load drifts while it goes.
      const floors = async () => ({
        copyOut: await copyOutFloor(world.db.readerUrl, query),
        onnx: await onnxFloor(version.onnx, rows),
        copyIn: await copyInFloor(world.db.pool, rows),
      });
      const loadBefore = os.loadavg()[0] ?? 0;
      progress('measuring the floors: COPY out, onnxruntime alone, COPY in');
      const before = await floors();
      progress(`scoring ${rows} rows through the workflow`);
      const run = await timed(async () => {
        const handle = await startBatchScoring(
          client,
          config,
          {
            model,
            query,
            into: 'bench_parts',
            chunkRows: benchCase.chunkRows,
            parallelChunks: benchCase.parallelChunks,
            startedBy: 'bench',
          },
          { taskQueue },
        );
        return handle.result();
      });
      if (run.value.rows !== rows) throw new Error(`the run scored ${run.value.rows} rows, not ${rows}`);
      progress('measuring the floors again');
      const after = await floors();
      const loadAfter = os.loadavg()[0] ?? 0;

      const rate = (seconds: number) => Math.round(rows / seconds);
      const workflowRate = rate(run.seconds);
      const floor = (pick: (measured: typeof before) => number) => {
        const seconds = (pick(before) + pick(after)) / 2;
        return {
          seconds: [round(pick(before), 2), round(pick(after), 2)],
          rows_per_s: rate(seconds),
          ratio: round(workflowRate / rate(seconds), 3),
        };
      };
      return {
        bench: 'score-batch',
        case: name,
        rows,
        chunk_rows: benchCase.chunkRows,
        parallel_chunks: benchCase.parallelChunks,
        model: `gbdt, ${TREES} trees of at most 15 leaves, 4 inputs (2 categorical)`,
        workflow: {
          seconds: round(run.seconds, 2),
          workflow_seconds: round(run.value.seconds, 2),
          rows_per_s: workflowRate,
        },
        copy_out: floor((measured) => measured.copyOut),
        onnx: floor((measured) => measured.onnx),
        copy_in: floor((measured) => measured.copyIn),
        serial_floor: floor((measured) => measured.copyOut + measured.onnx + measured.copyIn),
        load_average: [round(loadBefore, 2), round(loadAfter, 2)],
        goal_rows_per_s: 200_000,
        peak_rss_mb: peakRssMb(),
      };
    } finally {
      await killWorkerProcesses();
      await connection.close();
    }
  } finally {
    await world.close();
  }
}

runCaseWhenStarted('scoreBatch.ts', runCase);
