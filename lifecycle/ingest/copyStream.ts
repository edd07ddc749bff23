/**
 * Streams a source's rows out of PostgreSQL with `COPY (query) TO STDOUT (FORMAT binary)`, decoded by
 * batch scoring's binary COPY reader (`serving/batch/copyReader.ts`) into batches of at most
 * `batchRows` rows, each handed on before the next is read: memory follows the batch, not the source.
 * Categories get codes that hold across batches (the reader's are per batch), in order of first
 * appearance, with the labels each batch brings new.
 *
 * The spec's SQL is not trusted: the pool is the reader role's, the transaction is read-only with a
 * statement timeout, and the snapshot's SELECT is first declared as a cursor through the extended
 * protocol, which PostgreSQL refuses for more than one statement. Only then is the same text sent
 * inside `COPY (...)`: COPY travels by the simple protocol, but its text is exactly the checked
 * statement inside parentheses, followed by bytes that close no string, comment or quoted name, so
 * it is one statement too.
 */
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { MISSING_CODE } from '../../ml/table';
import { singleStatement } from '../../platform/database';
import { BinaryCopyReader, type DecodedRows, type FieldRead } from '../../serving/batch/copyReader';
import type { BatchColumn } from './arrowWriter';
import { snapshotQuery, type ColumnPlan, type SnapshotSpec } from './plan';
import { beginSourceRead, refusal } from './read';

/** One batch of rows, its columns in plan order. */
export interface SnapshotBatch {
  rows: number;
  columns: BatchColumn[];
}

export interface CopyReadOptions {
  /** Rows per batch. */
  batchRows: number;
  /**
   * The longest the whole COPY may take, in milliseconds.
   * @default the pool's statement_timeout (the reader pool has one), else 300000
   */
  statementTimeoutMs?: number;
  /**
   * Takes each batch; the next is read once it resolves, into the same arrays: a batch's columns are
   * valid until then, so one held longer is copied (`keptBatch`).
   */
  onBatch: (batch: SnapshotBatch) => Promise<void>;
}

/**
 * Reads the planned columns of every row of the source, in snapshot order (see `snapshotQuery`).
 *
 * @returns the rows read
 * @throws SnapshotError (`source`) when PostgreSQL refuses the query or a value (SQL error, missing
 *   table, failed cast, more than one statement); connection failures are thrown as they are
 */
export async function copyColumns(
  pool: pg.Pool,
  spec: SnapshotSpec,
  plans: readonly ColumnPlan[],
  options: CopyReadOptions,
): Promise<number> {
  const sql = snapshotQuery(spec.source, plans, spec.timeColumn);
  const fields = plans.map((plan): { name: string; read: FieldRead } => ({
    name: plan.name,
    // A blank text is a missing category here, as serving and batch scoring read it.
    read: plan.kind === 'categorical' ? 'text' : 'float8',
  }));
  const decoder = new BinaryCopyReader(fields, options.batchRows);
  const categories = plans.map(() => new GlobalCategories());
  let rowsRead = 0;
  const handOn = async (batches: DecodedRows[]) => {
    for (const decoded of batches) {
      let numberIndex = 0;
      let textIndex = 0;
      const columns = plans.map((plan, index): BatchColumn => {
        if (plan.kind !== 'categorical') {
          return {
            kind: 'numeric',
            values: (decoded.numbers[numberIndex++] as { values: Float64Array }).values,
          };
        }
        const text = decoded.texts[textIndex++] as { codes: Int32Array; dictionary: string[] };
        return (categories[index] as GlobalCategories).recode(text.codes, text.dictionary);
      });
      rowsRead += decoded.rowCount;
      await options.onBatch({ rows: decoded.rowCount, columns });
      // Its arrays take a later batch: no garbage per batch, which would cost a full collection
      // every few batches (V8 collects when ArrayBuffers pile up, however little the heap holds).
      decoder.recycle(decoded);
    }
  };

  const client = await pool.connect();
  let broken: Error | undefined;
  const refused = (error: unknown) => refusal(spec, error) ?? error;
  try {
    await beginSourceRead(client, options.statementTimeoutMs);
    // One statement, or PostgreSQL says no: the extended protocol parses it alone (nothing runs yet).
    await client
      .query(singleStatement(`DECLARE kerf_snapshot_check NO SCROLL CURSOR FOR ${sql}`))
      .catch((error: unknown) => {
        throw refused(error);
      });
    await client.query('CLOSE kerf_snapshot_check');
    const source = client.query(copyTo(`COPY (${sql}) TO STDOUT (FORMAT binary)`));
    try {
      for await (const piece of source) await handOn(decoder.push(piece as Buffer));
    } catch (error) {
      source.destroy();
      throw refused(error);
    }
    await handOn(decoder.end());
  } catch (error) {
    // A connection left in the middle of a COPY cannot be reused; closing it ends the transaction.
    broken = error instanceof Error ? error : new Error(String(error));
    throw error;
  } finally {
    if (!broken) await client.query('ROLLBACK').catch(() => undefined);
    // Never reused either way, so no session state of the spec's query outlives it.
    client.release(broken ?? true);
  }
  return rowsRead;
}

/** A copy of a batch, to hold after its `onBatch` resolved (when its arrays take the next batch). */
export function keptBatch(batch: SnapshotBatch): SnapshotBatch {
  return {
    rows: batch.rows,
    columns: batch.columns.map((column) =>
      column.kind === 'numeric'
        ? { kind: 'numeric', values: column.values.slice() }
        : { kind: 'categorical', codes: column.codes.slice(), newLabels: column.newLabels },
    ),
  };
}

/**
 * A column's categories across batches: codes in order of first appearance over the whole source.
 * The reader numbers each batch's categories afresh; a batch holds a handful of them, so mapping its
 * codes costs one lookup per category and one array pass per batch. The codes are mapped in place,
 * in the reader's arrays: nothing else reads them.
 */
class GlobalCategories {
  readonly #codes = new Map<string, number>();

  recode(local: Int32Array, labels: readonly string[]): BatchColumn {
    const newLabels: string[] = [];
    const toGlobal = new Int32Array(labels.length);
    labels.forEach((label, code) => {
      let global = this.#codes.get(label);
      if (global === undefined) {
        global = this.#codes.size;
        this.#codes.set(label, global);
        newLabels.push(label);
      }
      toGlobal[code] = global;
    });
    for (let row = 0; row < local.length; row++) {
      const code = local[row] as number;
      if (code !== MISSING_CODE) local[row] = toGlobal[code] as number;
    }
    return { kind: 'categorical', codes: local, newLabels };
  }
}
