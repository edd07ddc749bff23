import { tableFromIPC, Type } from '@uwdata/flechette';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadSnapshot, SnapshotError, takeSnapshot } from '../../lifecycle/ingest';
import type { CategoricalColumn, Table } from '../../ml/table';
import { ObjectStore } from '../../platform/objectStore';
import { SpecSourceError } from '../../lifecycle/spec/sourceCheck';
import { createOwnDatabase, testConfig, uniqueName, type OwnDatabase } from '../helpers';
import { buildSpec, features, type SpecInput } from '../specBuilder';

// A database and an S3 prefix of this file's own: its tables and objects touch nobody else.
let database: OwnDatabase;
let pool: pg.Pool;
const store = ObjectStore.fromConfig(testConfig().s3);
const keyPrefix = `test/${uniqueName('snapshot')}/snapshots`;

/** Rows of `parts_cut`, inserted out of time order, with a tie on time and NULLs everywhere. */
const PARTS_CUT = `
  CREATE TABLE parts_cut (
    started_at timestamptz,
    cut_time_s double precision,
    thickness_mm numeric(6, 2),
    sheet_count integer,
    material text,
    machine_id integer,
    rush boolean,
    notes text
  );
  INSERT INTO parts_cut VALUES
    ('2024-03-01 08:00:00+00', 12.5, 1.50, 3, 'steel', 7, false, 'first in, tied on time'),
    ('2024-02-28 23:30:00+00', 8.25, NULL, 1, 'aluminium', 3, true, 'earliest'),
    ('2024-03-01 08:00:00+00', 10, 2.00, 2, NULL, 7, NULL, 'tied on time, shorter cut'),
    ('2024-03-02 06:15:30.5+00', NULL, 0.8, NULL, '', NULL, false, 'empty material'),
    (NULL, 99, 3, 5, 'steel', 3, true, 'no time: last');
`;

const cutTimeSpec = buildSpec({
  source: { kind: 'table', table: 'parts_cut' },
  target: 'cut_time_s',
  features: features({
    thickness_mm: 'numeric',
    sheet_count: 'numeric',
    material: 'categorical',
    machine_id: 'categorical',
    rush: 'categorical',
  }),
  segments: ['material'],
  timeColumn: 'started_at',
});

/** The cut-time spec with the parts a test changes. */
const cutTimeWith = (overrides: SpecInput) => buildSpec(overrides, cutTimeSpec);

beforeAll(async () => {
  database = await createOwnDatabase('kerf_test_snapshot');
  // The tests make tables: the owner role does (a spec reader may read them).
  pool = database.ownerPool;
  await pool.query(PARTS_CUT);
});

afterAll(async () => {
  for (const object of await store.list(`${keyPrefix}/`)) await store.delete(object.key);
  store.destroy();
  await database.drop();
});

/** Labels of a categorical column, undefined where missing. */
function labels(table: Table, name: string): (string | undefined)[] {
  const column = table.categorical(name);
  return Array.from(column.codes, (code) => (code < 0 ? undefined : column.dictionary[code]));
}

describe('takeSnapshot and loadSnapshot on the real PostgreSQL and S3', () => {
  it('snapshots a table in time order and loads back the same values, NULLs and categories', async () => {
    const record = await takeSnapshot({ pool, store, pipeline: 'cut-time', spec: cutTimeSpec, keyPrefix });

    expect(record.key).toBe(`${keyPrefix}/cut-time/${record.sha256}.arrow`);
    expect(record.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(record.rows).toBe(5);
    expect(record.timeColumn).toBe('started_at');
    expect(record.columns.map(({ name, role, kind, pgType }) => ({ name, role, kind, pgType }))).toEqual([
      { name: 'cut_time_s', role: 'target', kind: 'numeric', pgType: 'double precision' },
      { name: 'thickness_mm', role: 'feature', kind: 'numeric', pgType: 'numeric' },
      { name: 'sheet_count', role: 'feature', kind: 'numeric', pgType: 'integer' },
      { name: 'material', role: 'feature', kind: 'categorical', pgType: 'text' },
      { name: 'machine_id', role: 'feature', kind: 'categorical', pgType: 'integer' },
      { name: 'rush', role: 'feature', kind: 'categorical', pgType: 'boolean' },
      { name: 'started_at', role: 'time', kind: 'timestamp', pgType: 'timestamp with time zone' },
    ]);
    expect(record.columns.find((column) => column.name === 'material')?.categories).toEqual([
      'aluminium',
      'steel',
    ]);
    // The record is plain JSON: it survives a Temporal payload unchanged.
    expect(JSON.parse(JSON.stringify(record))).toEqual(record);

    const stats = Object.fromEntries(record.statistics.columns.map((column) => [column.name, column]));
    expect(stats.cut_time_s).toMatchObject({ kind: 'numeric', count: 4, missing: 1, min: 8.25, max: 99 });
    expect(stats.thickness_mm).toMatchObject({ count: 4, missing: 1, mean: (2 + 1.5 + 0.8 + 3) / 4 });
    expect(stats.material).toMatchObject({
      kind: 'categorical',
      count: 3,
      missing: 2,
      distinct: 2,
      frequencies: [
        { label: 'steel', count: 2 },
        { label: 'aluminium', count: 1 },
      ],
    });

    // Exactly the bytes that were hashed are in S3.
    const bytes = await store.get(record.key);
    expect(bytes.length).toBe(record.bytes);
    const arrow = tableFromIPC(bytes);
    expect(arrow.numRows).toBe(5);
    expect(arrow.schema.fields.map((field) => field.type.typeId)).toEqual([
      Type.Float,
      Type.Float,
      Type.Float,
      Type.Dictionary,
      Type.Dictionary,
      Type.Dictionary,
      Type.Float,
    ]);

    const loaded = await loadSnapshot(store, record.key);
    expect(loaded.sha256).toBe(record.sha256);
    const { table } = loaded;
    expect(table.columnNames).toEqual([
      'cut_time_s',
      'thickness_mm',
      'sheet_count',
      'material',
      'machine_id',
      'rush',
    ]);
    // Ordered by time (NULL last); the two rows at 08:00 by the next column, the cut time.
    expect(Array.from(loaded.time?.values ?? [])).toEqual([
      Date.UTC(2024, 1, 28, 23, 30),
      Date.UTC(2024, 2, 1, 8),
      Date.UTC(2024, 2, 1, 8),
      Date.UTC(2024, 2, 2, 6, 15, 30, 500),
      Number.NaN,
    ]);
    expect(loaded.time).toMatchObject({ name: 'started_at', kind: 'timestamp' });
    expect(Array.from(table.numeric('cut_time_s').values)).toEqual([8.25, 10, 12.5, Number.NaN, 99]);
    expect(Array.from(table.numeric('thickness_mm').values)).toEqual([Number.NaN, 2, 1.5, 0.8, 3]);
    expect(Array.from(table.numeric('sheet_count').values)).toEqual([1, 2, 3, Number.NaN, 5]);
    // NULL and the empty text are both missing.
    expect(labels(table, 'material')).toEqual(['aluminium', undefined, 'steel', undefined, 'steel']);
    // Integers and booleans used as categories become their text.
    expect(labels(table, 'machine_id')).toEqual(['3', '7', '7', undefined, '3']);
    expect(labels(table, 'rush')).toEqual(['true', undefined, 'false', 'false', 'true']);
    // Codes come back as they were built: dictionary in order of first appearance.
    expect((table.column('material') as CategoricalColumn).dictionary).toEqual(['aluminium', 'steel']);
    // The column the spec does not use was never read.
    expect(loaded.columns.map((column) => column.name)).not.toContain('notes');
  });

  it('gives the same SHA-256 and a single object for the same data, however it is stored', async () => {
    const first = await takeSnapshot({
      pool,
      store,
      pipeline: 'cut-time-again',
      spec: cutTimeSpec,
      keyPrefix,
    });
    // The second run finds the object in place and writes nothing.
    const put = vi.spyOn(store, 'put');
    let second;
    let puts: number;
    try {
      second = await takeSnapshot({ pool, store, pipeline: 'cut-time-again', spec: cutTimeSpec, keyPrefix });
      puts = put.mock.calls.length;
    } finally {
      put.mockRestore();
    }
    expect(puts).toBe(0);
    expect(second).toEqual(first);
    expect((await store.list(`${keyPrefix}/cut-time-again/`)).map((object) => object.key)).toEqual([
      first.key,
    ]);

    // The same rows in another physical order (inserted backwards) still give the same bytes.
    await pool.query(`CREATE TABLE parts_cut_backwards (LIKE parts_cut);
      INSERT INTO parts_cut_backwards SELECT * FROM parts_cut ORDER BY ctid DESC;`);
    const backwards = await takeSnapshot({
      pool,
      store,
      pipeline: 'cut-time-again',
      spec: cutTimeWith({ source: { kind: 'table', table: 'parts_cut_backwards' } }),
      keyPrefix,
    });
    expect(backwards.sha256).toBe(first.sha256);

    // Different data, different hash.
    await pool.query(`UPDATE parts_cut_backwards SET cut_time_s = 8.5 WHERE cut_time_s = 8.25`);
    const changed = await takeSnapshot({
      pool,
      store,
      pipeline: 'cut-time-again',
      spec: cutTimeWith({ source: { kind: 'table', table: 'parts_cut_backwards' } }),
      keyPrefix,
    });
    expect(changed.sha256).not.toBe(first.sha256);
    expect(await store.list(`${keyPrefix}/cut-time-again/`)).toHaveLength(2);
  });

  it('reads a sql source and keeps the order of its ORDER BY when there is no time column', async () => {
    const spec = buildSpec({
      task: 'multiclass',
      source: {
        kind: 'sql',
        query: `SELECT material, cut_time_s, thickness_mm * 10 AS thickness_tenths
                  FROM parts_cut WHERE cut_time_s IS NOT NULL
                 ORDER BY cut_time_s DESC; -- longest cuts first`,
      },
      target: 'material',
      features: features({ cut_time_s: 'numeric', thickness_tenths: 'numeric' }),
    });
    const record = await takeSnapshot({ pool, store, pipeline: 'material-from-sql', spec, keyPrefix });
    expect(record.rows).toBe(4);
    expect(record.timeColumn).toBeNull();
    expect(record.columns.map((column) => [column.name, column.role, column.kind])).toEqual([
      ['material', 'target', 'categorical'],
      ['cut_time_s', 'feature', 'numeric'],
      ['thickness_tenths', 'feature', 'numeric'],
    ]);
    const loaded = await loadSnapshot(store, record.key);
    expect(loaded.time).toBeUndefined();
    expect(Array.from(loaded.table.numeric('cut_time_s').values)).toEqual([99, 12.5, 10, 8.25]);
    expect(Array.from(loaded.table.numeric('thickness_tenths').values)).toEqual([30, 15, 20, Number.NaN]);
    expect(labels(loaded.table, 'material')).toEqual(['steel', 'steel', undefined, 'aluminium']);
  });

  it('streams in batches of batchRows rows and loads every row back in time order', async () => {
    // Rows inserted in a shuffled order; the snapshot must come out ordered by time.
    await pool.query(`CREATE TABLE energy_readings AS
      SELECT timestamp '2024-01-01' + i * interval '1 minute' AS read_at,
             i * 0.5 AS kwh,
             CASE WHEN i % 11 = 0 THEN NULL ELSE 'press-' || (i % 7) END AS press
        FROM generate_series(1, 2500) AS i ORDER BY random()`);
    const spec = buildSpec({
      source: { kind: 'table', table: 'energy_readings' },
      target: 'kwh',
      features: features({ press: 'categorical' }),
      timeColumn: 'read_at',
    });
    const progress: number[] = [];
    const record = await takeSnapshot({
      pool,
      store,
      pipeline: 'energy',
      spec,
      keyPrefix,
      batchRows: 100,
      onProgress: (rowsRead) => progress.push(rowsRead),
    });
    // 25 batches, each reported as it was read, and each one record batch of the file.
    expect(progress).toEqual(Array.from({ length: 25 }, (_, index) => (index + 1) * 100));
    const arrow = tableFromIPC(await store.get(record.key));
    expect(arrow.getChildAt(0).data.map((batch) => batch.length)).toEqual(Array(25).fill(100));
    expect(record.rows).toBe(2500);
    expect(record.columns.find((column) => column.name === 'read_at')?.pgType).toBe(
      'timestamp without time zone',
    );

    const loaded = await loadSnapshot(store, record.key);
    const expected = await pool.query<{ epoch_ms: number; kwh: number; press: string | null }>(
      `SELECT extract(epoch FROM read_at)::float8 * 1000 AS epoch_ms, kwh::float8 AS kwh, press
         FROM energy_readings ORDER BY read_at`,
    );
    expect(Array.from(loaded.time?.values ?? [])).toEqual(expected.rows.map((row) => row.epoch_ms));
    expect(Array.from(loaded.table.numeric('kwh').values)).toEqual(expected.rows.map((row) => row.kwh));
    expect(labels(loaded.table, 'press')).toEqual(expected.rows.map((row) => row.press ?? undefined));
  });

  it('names a missing column, a numeric feature that is text and a missing table, and stores nothing', async () => {
    const missingColumn = takeSnapshot({
      pool,
      store,
      pipeline: 'broken',
      spec: cutTimeWith({ features: [...cutTimeSpec.features, { name: 'laser_power', kind: 'numeric' }] }),
      keyPrefix,
    });
    await expect(missingColumn).rejects.toBeInstanceOf(SpecSourceError);
    await expect(missingColumn).rejects.toThrow(
      /features\[5\]\.name: no column "laser_power" in table parts_cut/,
    );

    const textAsNumber = takeSnapshot({
      pool,
      store,
      pipeline: 'broken',
      spec: cutTimeWith({ features: features({ material: 'numeric' }), segments: [] }),
      keyPrefix,
    });
    await expect(textAsNumber).rejects.toThrow(/features\[0\]\.name: "material" is of type text/);
    await expect(textAsNumber).rejects.toThrow(/numeric feature needs a number column/);

    const missingTable = takeSnapshot({
      pool,
      store,
      pipeline: 'broken',
      spec: cutTimeWith({ source: { kind: 'table', table: 'no_such_parts' } }),
      keyPrefix,
    });
    await expect(missingTable).rejects.toThrow(/table no_such_parts does not exist/);

    expect(await store.list(`${keyPrefix}/broken/`)).toEqual([]);
  });

  it('refuses an empty source and a query that fails while rows are read', async () => {
    const empty = takeSnapshot({
      pool,
      store,
      pipeline: 'broken',
      spec: cutTimeWith({
        source: { kind: 'sql', query: 'SELECT * FROM parts_cut WHERE cut_time_s > 1000' },
      }),
      keyPrefix,
    });
    await expect(empty).rejects.toMatchObject({
      name: 'SnapshotError',
      failure: 'no_rows',
      nonRetryable: true,
    });
    await expect(empty).rejects.toThrow(/the sql query returned no rows/i);

    // Zero rows describe fine; only reading the rows divides by zero.
    const failing = takeSnapshot({
      pool,
      store,
      pipeline: 'broken',
      spec: buildSpec({
        source: {
          kind: 'sql',
          query: 'SELECT cut_time_s, 1 / (sheet_count - sheet_count) AS ratio FROM parts_cut',
        },
        target: 'cut_time_s',
        features: features({ ratio: 'numeric' }),
      }),
      keyPrefix,
    });
    await expect(failing).rejects.toBeInstanceOf(SnapshotError);
    await expect(failing).rejects.toMatchObject({ failure: 'source' });
    await expect(failing).rejects.toThrow(/Cannot read the sql query: PostgreSQL says "division by zero"/);

    expect(await store.list(`${keyPrefix}/broken/`)).toEqual([]);
  });

  it('refuses to load a snapshot whose bytes do not match its hash, or that is not there', async () => {
    const record = await takeSnapshot({ pool, store, pipeline: 'tampered', spec: cutTimeSpec, keyPrefix });
    const bytes = await store.get(record.key);
    const altered = bytes.slice();
    altered[altered.length - 20] = (altered[altered.length - 20] ?? 0) ^ 0xff;
    await store.put(record.key, altered);

    const tampered = loadSnapshot(store, record.key);
    await expect(tampered).rejects.toMatchObject({ failure: 'integrity' });
    await expect(tampered).rejects.toThrow(/was changed or damaged/);

    await expect(loadSnapshot(store, `${keyPrefix}/tampered/${'0'.repeat(64)}.arrow`)).rejects.toMatchObject({
      failure: 'not_found',
    });
    await expect(loadSnapshot(store, `${keyPrefix}/tampered/latest.arrow`)).rejects.toMatchObject({
      failure: 'key',
    });

    // As the message says: delete the damaged object and take the snapshot again.
    await store.delete(record.key);
    const again = await takeSnapshot({ pool, store, pipeline: 'tampered', spec: cutTimeSpec, keyPrefix });
    expect(again.key).toBe(record.key);
    expect((await loadSnapshot(store, again.key)).table.rowCount).toBe(5);
  });
});
