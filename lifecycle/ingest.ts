/**
 * The ingest stage: a pipeline's source, read from PostgreSQL once, becomes an immutable columnar
 * snapshot in S3, named by its content. Training, evaluation and validation all work from the
 * snapshot, never from the live tables, so a model version can always say exactly which data it saw.
 *
 * - `takeSnapshot` refuses features holding personal data before anything is written, then streams
 *   the columns the spec needs (target, features, time column) out of PostgreSQL with binary COPY,
 *   a batch of rows at a time: each batch is encoded as an Arrow record batch, hashed and uploaded
 *   as it comes, and counted into the statistics, so memory does not grow with the rows. The file
 *   lands at `snapshots/<pipeline>/<sha256>.arrow` (once: the same data gives the same key; see
 *   `ingest/upload.ts` for how a key named by the hash is written only whole), and a small JSON
 *   record is returned: key, hash, rows, bytes, columns and statistics.
 * - `loadSnapshot` reads a snapshot back as an ML-core Table, after checking its bytes against the
 *   hash in its key.
 *
 * Temporal activities wrap both; they pass the record (a reference and a summary), never the data.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { DatasetStatistics } from '../ml/statistics';
import { Table, type Column, type NumericColumn } from '../ml/table';
import { ObjectNotFoundError, type ObjectStore } from '../platform/objectStore';
import { checkSpecSource } from './spec/sourceCheck';
import {
  PERSONAL_DATA_SAMPLE_ROWS,
  personalDataByName,
  personalDataInTable,
  refusePersonalData,
} from './gates/personalSource';
import { BATCH_ROWS, decodeSnapshot, type FieldDescription } from './ingest/arrow';
import { SnapshotFileWriter } from './ingest/arrowWriter';
import { SnapshotStatistics } from './ingest/columnStatistics';
import { copyColumns, keptBatch, type SnapshotBatch } from './ingest/copyStream';
import { SnapshotError } from './ingest/errors';
import { planColumns, sourceLabel, type ColumnPlan, type SnapshotSpec } from './ingest/plan';
import type { SnapshotColumn } from './ingest/summary';
import { SnapshotUpload, stagingKey, type UploadStore } from './ingest/upload';

export { SnapshotError, type SnapshotFailure } from './ingest/errors';
export type { FieldDescription } from './ingest/arrow';
export type { SnapshotKind, SnapshotRole, SnapshotSpec } from './ingest/plan';
export {
  LISTED_CATEGORIES,
  MAX_CATEGORY_LIST,
  summarizeColumns,
  type SnapshotColumn,
} from './ingest/summary';

/** The object-store operations snapshots use. */
export type SnapshotStore = UploadStore & Pick<ObjectStore, 'get'>;

/** What `takeSnapshot` returns: where the snapshot is and what it holds. Plain JSON. */
export interface SnapshotRecord {
  pipeline: string;
  /** `<prefix>/<pipeline>/<sha256>.arrow` */
  key: string;
  /** SHA-256 of the file's bytes, lower-case hex. */
  sha256: string;
  rows: number;
  bytes: number;
  /** The column that orders the rows in time, or null. */
  timeColumn: string | null;
  /** Target first, then the features in spec order, then the time column unless it is a feature. */
  columns: SnapshotColumn[];
  /** Statistics of every column, same order. */
  statistics: DatasetStatistics;
}

export interface TakeSnapshotOptions {
  /** The pool to read the source with (the caller owns and ends it). */
  pool: pg.Pool;
  store: SnapshotStore;
  /** The pipeline's name; it names the snapshot's folder. */
  pipeline: string;
  spec: SnapshotSpec;
  /**
   * Rows per batch: each is decoded, written as one Arrow record batch and uploaded before the next
   * is read, so memory follows it, not the source. Part of the file's layout: the same data read
   * with another batch size gives other bytes (the same table), so another hash.
   * @default 65536
   */
  batchRows?: number;
  /**
   * Called after each batch with the rows read so far: a Temporal activity heartbeats from it, so
   * a long read is not taken for a dead worker.
   * @default undefined (no progress reports)
   */
  onProgress?: (rowsRead: number) => void;
  /**
   * Where snapshots live in the bucket.
   * @default 'snapshots'
   */
  keyPrefix?: string;
}

export const DEFAULT_BATCH_ROWS = BATCH_ROWS;
export const DEFAULT_KEY_PREFIX = 'snapshots';
export const SNAPSHOT_CONTENT_TYPE = 'application/vnd.apache.arrow.file';

const PIPELINE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;
const SNAPSHOT_KEY = /^(.+)\/([^/]+)\/([0-9a-f]{64})\.arrow$/;

/** The key of a snapshot with this content. */
export function snapshotKey(pipeline: string, sha256: string, keyPrefix = DEFAULT_KEY_PREFIX): string {
  return `${keyPrefix.replace(/\/+$/, '')}/${pipeline}/${sha256}.arrow`;
}

/**
 * Reads the pipeline's source and stores it as a content-addressed Arrow snapshot.
 *
 * The source is first checked against the spec (every column exists and fits its role); the rows
 * are then read in a read-only transaction, ordered by the time column when there is one (see
 * `snapshotQuery`). The object is written only when its key is not there yet, so running this again
 * on unchanged data is harmless and leaves one object.
 *
 * @throws SpecSourceError when the source is missing or a column the spec names is missing or of a
 *   type that does not fit (a numeric feature that is text), each named by its spec field
 * @throws SnapshotError `personal_data` when a feature looks like personal data by its name or its
 *   values (nothing is written), `source` when PostgreSQL refuses the read, `no_rows` for an empty source,
 *   `spec` for a time column listed as a categorical feature, `key` for a bad pipeline name
 */
export async function takeSnapshot(options: TakeSnapshotOptions): Promise<SnapshotRecord> {
  const { pool, store, pipeline, spec } = options;
  const batchRows = options.batchRows ?? DEFAULT_BATCH_ROWS;
  const keyPrefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
  if (!PIPELINE_NAME.test(pipeline) || pipeline.includes('..')) {
    throw new SnapshotError(
      'key',
      `Pipeline name ${JSON.stringify(pipeline)} cannot name a snapshot folder: use letters, digits, "-", "_" and "." (at most 100).`,
    );
  }
  if (!Number.isInteger(batchRows) || batchRows < 1) {
    throw new RangeError(`batchRows must be a positive integer, got ${batchRows}`);
  }

  // Personal data never reaches the bucket: refused by the features' names before a row is read,
  // and by the values of the first rows before the first byte is uploaded.
  refusePersonalData(personalDataByName(spec), pipeline);
  const sourceColumns = await checkSpecSource(pool, spec);
  const plans = planColumns(spec, sourceColumns);
  const fields: FieldDescription[] = plans.map(({ name, role, kind, pgType }) => ({
    name,
    role,
    kind,
    pgType,
  }));
  const writer = new SnapshotFileWriter(fields, spec.timeColumn);
  const statistics = new SnapshotStatistics(fields);
  const upload = new SnapshotUpload(store, stagingKey(keyPrefix, pipeline), SNAPSHOT_CONTENT_TYPE);
  const sample = new FirstRows(plans, PERSONAL_DATA_SAMPLE_ROWS);
  /** Batches read before the first rows were judged: none of them is uploaded before. */
  const firstRows = { held: [] as SnapshotBatch[], judged: false };
  let written = 0;
  const write = async (batch: SnapshotBatch) => {
    if (written === 0) await upload.write(writer.start());
    await upload.write(writer.batch(batch.columns, batch.rows));
    written += batch.rows;
  };
  const judgeFirstRows = async () => {
    refusePersonalData(personalDataInTable(spec, sample.table()), pipeline);
    firstRows.judged = true;
    for (const batch of firstRows.held.splice(0)) await write(batch);
  };

  try {
    let rowsRead = 0;
    await copyColumns(pool, spec, plans, {
      batchRows,
      onBatch: async (batch) => {
        rowsRead += batch.rows;
        if (firstRows.judged) {
          // The statistics' spill file and the upload wait on different things: both at once.
          await Promise.all([statistics.add(batch), write(batch)]);
        } else {
          await statistics.add(batch);
          // Copied: the reader reads the next batch into this one's arrays.
          firstRows.held.push(keptBatch(batch));
          if (sample.add(batch)) await judgeFirstRows();
        }
        options.onProgress?.(rowsRead);
      },
    });
    if (!firstRows.judged) await judgeFirstRows();
    if (rowsRead === 0) {
      throw new SnapshotError(
        'no_rows',
        `${capitalize(sourceLabel(spec.source))} returned no rows, so there is nothing to train on: ` +
          (spec.source.kind === 'table'
            ? 'load the shop data into it (e.g. `kerf import-csv FILE --table NAME`), then run again.'
            : "check the query's WHERE clause and joins against the data, then run again."),
      );
    }
    await upload.write(writer.finish());
    // Same key, same bytes: a second run (a retried activity, an unchanged source, runs at once on
    // the same data) writes nothing there.
    const [{ sha256, key }, summary] = await Promise.all([
      upload.finish((hash) => snapshotKey(pipeline, hash, keyPrefix)),
      // The statistics' last passes run while S3 completes and copies the file.
      statistics.finish(),
    ]);
    return {
      pipeline,
      key,
      sha256,
      rows: rowsRead,
      bytes: upload.bytes,
      timeColumn: spec.timeColumn ?? null,
      ...summary,
    };
  } catch (error) {
    await upload.abort().catch(() => undefined);
    throw error;
  } finally {
    await statistics.close();
  }
}

/** The first rows of a source, kept to judge its categorical values for personal data. */
class FirstRows {
  readonly #columns: { numbers: number[]; codes: number[]; labels: string[] }[];
  #rows = 0;

  constructor(
    private readonly plans: readonly ColumnPlan[],
    private readonly rows: number,
  ) {
    this.#columns = plans.map(() => ({ numbers: [], codes: [], labels: [] }));
  }

  /** Keeps the batch's rows up to the sample's size; true once it is full. */
  add(batch: SnapshotBatch): boolean {
    const take = Math.min(batch.rows, this.rows - this.#rows);
    batch.columns.forEach((column, index) => {
      const kept = this.#columns[index];
      if (!kept) return;
      if (column.kind === 'numeric') kept.numbers.push(...column.values.subarray(0, take));
      else {
        kept.labels.push(...column.newLabels);
        kept.codes.push(...column.codes.subarray(0, take));
      }
    });
    this.#rows += take;
    return this.#rows >= this.rows;
  }

  table(): Table {
    return new Table(
      this.plans.map((plan, index): Column => {
        const kept = this.#columns[index] as { numbers: number[]; codes: number[]; labels: string[] };
        return plan.kind === 'categorical'
          ? {
              kind: 'categorical',
              name: plan.name,
              codes: Int32Array.from(kept.codes),
              dictionary: kept.labels,
            }
          : { kind: 'numeric', name: plan.name, values: Float64Array.from(kept.numbers) };
      }),
    );
  }
}

/** A snapshot read back for training and evaluation. */
export interface LoadedSnapshot {
  /** The target and the features (a numeric time feature included), in snapshot order. */
  table: Table;
  /**
   * The time column's values in row order, when the snapshot has one: epoch milliseconds for a date
   * or timestamp, the numbers themselves otherwise; NaN where missing (those rows come last).
   */
  time?: { name: string; kind: 'numeric' | 'timestamp'; values: Float64Array };
  /** Every column of the file with its role, kind and PostgreSQL type. */
  columns: FieldDescription[];
  sha256: string;
}

/**
 * Reads a snapshot from S3 and checks that its bytes hash to the SHA-256 in its key.
 *
 * @throws SnapshotError `key` for a key not of the form `<prefix>/<pipeline>/<sha256>.arrow`,
 *   `not_found` when no object is there, `integrity` when the bytes do not match their hash,
 *   `format` when the file is not a Kerf snapshot
 */
export async function loadSnapshot(store: Pick<ObjectStore, 'get'>, key: string): Promise<LoadedSnapshot> {
  const expected = SNAPSHOT_KEY.exec(key)?.[3];
  if (expected === undefined) {
    throw new SnapshotError(
      'key',
      `${JSON.stringify(key)} is not a snapshot key; expected <prefix>/<pipeline>/<sha256>.arrow as takeSnapshot returns it.`,
    );
  }
  let bytes: Uint8Array;
  try {
    bytes = await store.get(key);
  } catch (error) {
    if (error instanceof ObjectNotFoundError) {
      throw new SnapshotError(
        'not_found',
        `No snapshot at ${key} in bucket ${error.bucket}: it was deleted or never written; take the snapshot again.`,
        { cause: error },
      );
    }
    throw error;
  }
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== expected) {
    throw new SnapshotError(
      'integrity',
      `Snapshot ${key} was changed or damaged: its ${bytes.length} bytes hash to ${actual}, not to the ${expected} ` +
        'in its name. Do not train on it: delete the object and take the snapshot again.',
    );
  }

  const decoded = decodeSnapshot(bytes, key);
  const modelColumns = decoded.fields.filter((field) => field.role !== 'time').map((field) => field.name);
  const loaded: LoadedSnapshot = {
    table: decoded.table.select(modelColumns),
    columns: decoded.fields,
    sha256: actual,
  };
  const timeField = decoded.fields.find((field) => field.name === decoded.timeColumn);
  if (timeField && timeField.kind !== 'categorical') {
    const column: NumericColumn = decoded.table.numeric(timeField.name);
    loaded.time = { name: timeField.name, kind: timeField.kind, values: column.values };
  }
  return loaded;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
