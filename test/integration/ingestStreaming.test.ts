/**
 * The streaming ingest on the real PostgreSQL and S3: the same table as the whole-table encoding
 * (`encodeSnapshot` of the cursor read) on the same rows, with the same statistics; parts uploaded
 * while rows are still being read, with memory that follows the batch; a failed ingest leaving
 * nothing under the snapshots' folder nor its staging folder; and garbage collection's staging sweep
 * clearing what a killed one left there.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkSpecSource } from '../../lifecycle/spec/sourceCheck';
import { loadSnapshot, takeSnapshot, type SnapshotStore } from '../../lifecycle/ingest';
import { decodeSnapshot, encodeSnapshot } from '../../lifecycle/ingest/arrow';
import { planColumns } from '../../lifecycle/ingest/plan';
import { stagingKey, stagingPrefix } from '../../lifecycle/ingest/upload';
import { readColumns } from '../../lifecycle/ingest/read';
import { summarizeColumns } from '../../lifecycle/ingest/summary';
import type { Table } from '../../ml/table';
import { MIN_PART_BYTES, ObjectStore, type MultipartUpload } from '../../platform/objectStore';
import { STAGING_MAX_AGE_HOURS, sweepStaging } from '../../retention/staging';
import { createOwnDatabase, testConfig, uniqueName, type OwnDatabase } from '../helpers';
import { expectSameStatistics } from '../snapshotStatistics';
import { buildSpec, features } from '../specBuilder';

let database: OwnDatabase;
let pool: pg.Pool;
const store = ObjectStore.fromConfig(testConfig().s3);
const keyPrefix = `test/${uniqueName('streaming')}/snapshots`;

/** Cuts with every kind of value a snapshot meets, categories arriving batch after batch. */
const CUTS = `
  CREATE TABLE cuts AS
  SELECT timestamp '2024-01-01' + (i % 5000) * interval '1 minute' AS started_at,
         CASE WHEN i % 13 = 0 THEN NULL ELSE (i % 97) * 0.25 - 3 END AS cut_seconds,
         CASE WHEN i % 17 = 0 THEN 'Infinity'::float8 WHEN i % 19 = 0 THEN 'NaN'::float8
              WHEN i % 23 = 0 THEN '-0'::float8 ELSE i::float8 / 7 END AS odd_values,
         CASE WHEN i % 11 = 0 THEN NULL WHEN i % 29 = 0 THEN '' ELSE 'mat-' || (i / 400) END AS material,
         (i % 3 = 0) AS rush
    FROM generate_series(1, 9000) AS i`;

const cutsSpec = buildSpec({
  source: { kind: 'table', table: 'cuts' },
  target: 'cut_seconds',
  features: features({ odd_values: 'numeric', material: 'categorical', rush: 'categorical' }),
  segments: [],
  timeColumn: 'started_at',
});

beforeAll(async () => {
  database = await createOwnDatabase('kerf_test_streaming');
  pool = database.ownerPool;
  await pool.query(CUTS);
});

afterAll(async () => {
  for (const prefix of [`${keyPrefix}/`, `${keyPrefix}-staging/`]) {
    for (const object of await store.list(prefix)) await store.delete(object.key);
  }
  store.destroy();
  await database.drop();
});

/** Every cell of a table, NaN and missing categories included, for toEqual. */
function cells(table: Table): unknown[] {
  return table.columns.map((column) =>
    column.kind === 'numeric'
      ? {
          name: column.name,
          values: Array.from(column.values, (value) => (Object.is(value, -0) ? 0 : value)),
        }
      : { name: column.name, codes: Array.from(column.codes), dictionary: column.dictionary },
  );
}

/**
 * A full garbage collection, so what memory holds is what is still used. Twice: V8 frees the
 * ArrayBuffers a collection found dead on another thread, after it, and `arrayBuffers` counts them
 * until then (the COPY stream's pieces of a whole batch, some 10 MB, at times); the second
 * collection first finishes freeing what the first found.
 */
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const collectGarbage = () => {
  gc();
  gc();
};

/** Multipart uploads of the bucket still open under a prefix. */
async function openUploads(prefix: string): Promise<number> {
  const listed = await store.client.send(
    new ListMultipartUploadsCommand({ Bucket: store.bucket, Prefix: prefix }),
  );
  return listed.Uploads?.length ?? 0;
}

/** The store, telling at each part how many rows had been read by then. */
function watchedStore(rowsRead: () => number): { store: SnapshotStore; parts: number[]; started: string[] } {
  const parts: number[] = [];
  const started: string[] = [];
  const watched: SnapshotStore = {
    putOnce: (...args) => store.putOnce(...args),
    get: (key) => store.get(key),
    copyOnce: (source, target) => store.copyOnce(source, target),
    delete: (key) => store.delete(key),
    startUpload: async (key, contentType) => {
      started.push(key);
      const upload = await store.startUpload(key, contentType);
      const uploadPart = upload.uploadPart.bind(upload);
      upload.uploadPart = (body: Uint8Array) => {
        parts.push(rowsRead());
        return uploadPart(body);
      };
      return upload satisfies MultipartUpload;
    },
  };
  return { store: watched, parts, started };
}

describe('the streaming ingest', () => {
  it('decodes to the table and statistics the whole-table encoding gives for the same rows', async () => {
    const record = await takeSnapshot({
      pool,
      store,
      pipeline: 'cuts',
      spec: cutsSpec,
      keyPrefix,
      batchRows: 1000,
    });
    expect(record.rows).toBe(9000);

    // The encoding before streaming: the cursor read into a table, encoded whole.
    const plans = planColumns(cutsSpec, await checkSpecSource(pool, cutsSpec));
    const table = await readColumns(pool, cutsSpec, plans, { fetchSize: 10_000 });
    const fields = plans.map(({ name, role, kind, pgType }) => ({ name, role, kind, pgType }));
    const before = decodeSnapshot(encodeSnapshot(table, fields, cutsSpec.timeColumn), 'before');

    const loaded = await loadSnapshot(store, record.key);
    const after = decodeSnapshot(await store.get(record.key), record.key);
    expect(after.fields).toEqual(before.fields);
    expect(after.timeColumn).toBe(before.timeColumn);
    expect(cells(after.table)).toEqual(cells(before.table));
    expect(loaded.columns).toEqual(before.fields);
    // Categories keep their codes: dictionaries in order of first appearance over all batches.
    expect(after.table.categorical('material').dictionary.length).toBeGreaterThan(20);

    const expected = summarizeColumns(table, fields);
    expect(record.columns).toEqual(expected.columns);
    expectSameStatistics(record.statistics, expected.statistics);
  });

  it('uploads parts while rows are still read, in memory that follows the batch, not the rows', async () => {
    await pool.query(`CREATE TABLE big_cuts AS
      SELECT i AS job, (i % 1000) * 0.5 AS cut_seconds, (i % 37)::float8 AS thickness, sqrt(i) AS area,
             i * 1.5 AS perimeter, 'machine-' || (i % 12) AS machine
        FROM generate_series(1, 1000000) AS i`);
    const specOf = (rows: number) =>
      buildSpec({
        source: { kind: 'sql', query: `SELECT * FROM big_cuts WHERE job <= ${rows}` },
        target: 'cut_seconds',
        features: features({
          thickness: 'numeric',
          area: 'numeric',
          perimeter: 'numeric',
          machine: 'categorical',
        }),
        segments: [],
        timeColumn: 'job',
      });
    let rowsRead = 0;
    const watched = watchedStore(() => rowsRead);
    collectGarbage();
    const baseline = process.memoryUsage();
    /** Memory still in use after each batch, over what was in use before. */
    const growth: number[] = [];
    const record = await takeSnapshot({
      pool,
      store: watched.store,
      pipeline: 'big-cuts',
      spec: specOf(1_000_000),
      keyPrefix,
      onProgress: (rows) => {
        rowsRead = rows;
        collectGarbage();
        const now = process.memoryUsage();
        growth.push(now.heapUsed + now.arrayBuffers - baseline.heapUsed - baseline.arrayBuffers);
      },
    });
    expect(record.rows).toBe(1_000_000);
    // About 45 MB of file: the whole of it, or its columns, never sit in memory at once. The first
    // part goes up before a fifth of the rows is read, and parts keep going up as they come.
    expect(record.bytes).toBeGreaterThan(40e6);
    expect(watched.parts.length).toBeGreaterThanOrEqual(5);
    expect(watched.parts[0]).toBeLessThan(200_000);
    expect(watched.parts.at(-2)).toBeLessThan(1_000_000);
    // What stays in use is two part buffers (8 MiB each), a batch or two (65,536 rows: about 3 MB
    // each) and the statistics' buckets: it is reached within the first few batches and does not
    // grow with the rows read after them, and it is less than the file.
    expect(growth).toHaveLength(16);
    const firstHalf = Math.max(...growth.slice(0, 8));
    const secondHalf = Math.max(...growth.slice(8));
    expect(secondHalf).toBeLessThan(firstHalf + 6e6);
    expect(Math.max(firstHalf, secondHalf)).toBeLessThan(record.bytes);
    // The staging object is gone, the snapshot is whole at its content key.
    expect(watched.started[0]).toMatch(new RegExp(`^${keyPrefix}-staging/big-cuts/`));
    expect(await store.list(`${keyPrefix}-staging/`)).toEqual([]);
    const loaded = await loadSnapshot(store, record.key);
    expect(loaded.table.rowCount).toBe(1_000_000);
    expect(loaded.table.numeric('area').values[999_999]).toBe(Math.sqrt(1_000_000));
  }, 120_000);

  it('leaves nothing under the snapshots nor their staging when the read fails after parts went up', async () => {
    let rowsRead = 0;
    const watched = watchedStore(() => rowsRead);
    const failing = takeSnapshot({
      pool,
      store: watched.store,
      pipeline: 'failing-cuts',
      spec: buildSpec({
        source: {
          kind: 'sql',
          // No ORDER BY: the rows come in the table's order, and the division fails at row 600,000.
          query: 'SELECT job, cut_seconds, area, perimeter, 1 / (job - 600000) AS ratio FROM big_cuts',
        },
        target: 'cut_seconds',
        features: features({ area: 'numeric', perimeter: 'numeric', ratio: 'numeric' }),
        segments: [],
      }),
      keyPrefix,
      onProgress: (rows) => (rowsRead = rows),
    });
    await expect(failing).rejects.toMatchObject({ name: 'SnapshotError', failure: 'source' });
    await expect(failing).rejects.toThrow(/PostgreSQL says "division by zero"/);
    // Parts had gone up before the failure, and the upload was dropped with them.
    expect(watched.parts.length).toBeGreaterThan(0);
    expect(await store.list(`${keyPrefix}/failing-cuts/`)).toEqual([]);
    expect(await store.list(`${keyPrefix}-staging/`)).toEqual([]);
    expect(await openUploads(`${keyPrefix}-staging/failing-cuts/`)).toBe(0);
  }, 120_000);

  it('takes the same large snapshot twice into one object at the same key', async () => {
    const spec = buildSpec({
      source: {
        kind: 'sql',
        query: 'SELECT job, cut_seconds, area, perimeter FROM big_cuts WHERE job <= 400000',
      },
      target: 'cut_seconds',
      features: features({ area: 'numeric', perimeter: 'numeric' }),
      segments: [],
      timeColumn: 'job',
    });
    const first = await takeSnapshot({ pool, store, pipeline: 'twice', spec, keyPrefix });
    const second = await takeSnapshot({ pool, store, pipeline: 'twice', spec, keyPrefix });
    expect(second).toEqual(first);
    expect(first.bytes).toBeGreaterThan(8 * 1024 * 1024);
    expect((await store.list(`${keyPrefix}/twice/`)).map((object) => object.key)).toEqual([first.key]);
    expect(await store.list(`${keyPrefix}-staging/`)).toEqual([]);
  }, 120_000);

  it('has garbage collection abort the upload and remove the staging object a killed ingest left', async () => {
    // A killed process: an upload with a part and never completed, and a staged object never copied.
    const upload = await store.startUpload(stagingKey(keyPrefix, 'killed'));
    await upload.uploadPart(new Uint8Array(MIN_PART_BYTES));
    const leftKey = stagingKey(keyPrefix, 'killed');
    await store.put(leftKey, 'a staged snapshot never copied');
    const prefix = stagingPrefix(keyPrefix);
    const sweep = (hoursLater: number) =>
      sweepStaging(store, { now: new Date(Date.now() + hoursLater * 3_600_000), dryRun: false, prefix });

    // Young staging may be an ingest still running: it stays.
    expect(await sweep(0)).toEqual([]);
    expect(await openUploads(`${prefix}killed/`)).toBe(1);
    const removals = await sweep(STAGING_MAX_AGE_HOURS + 1);
    expect(removals.map(({ key, kind }) => ({ key, kind }))).toEqual([
      { key: upload.key, kind: 'open-upload' },
      { key: leftKey, kind: 'staging-object' },
    ]);
    expect(await openUploads(`${prefix}killed/`)).toBe(0);
    expect(await store.list(`${prefix}killed/`)).toEqual([]);
  }, 60_000);
});
