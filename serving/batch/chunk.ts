/**
 * One chunk of a batch scoring run: staged rows `firstRow..lastRow` read back, scored by the run's
 * version and written to the result table, in one transaction that begins by marking the chunk done
 * (`batch_scoring.chunks`). A chunk is therefore written once or not at all: an attempt that finds the
 * mark writes nothing, an attempt that dies leaves nothing (its transaction is rolled back with its
 * connection), and two attempts at once meet on the mark's primary key, the second waiting for the
 * first and then writing nothing.
 *
 * Rows flow as binary COPY from the staging table, through onnxruntime a batch at a time, and as
 * binary COPY into the result table; reading the next batch overlaps scoring the one before.
 */
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import type { Feature } from '../../ml/model';
import type { CategoryMappings } from '../contract';
import { copyHeader, copyTrailer } from './copyFormat';
import { BinaryCopyReader, type DecodedRows, type FieldRead } from './copyReader';
import { encodeScoredRows } from './copyWriter';
import {
  LABEL_COLUMNS,
  resultTableSql,
  RUN_COLUMN,
  stagingTableSql,
  TRAILING_COLUMNS,
  VALUE_COLUMNS,
} from './names';
import { STAGED_ROW_COLUMN } from './query';
import type { BatchRun } from './runs';
import { batchPredictions, batchTable, type BatchVersion } from './table';

/** Rows per onnxruntime run. */
export const BATCH_ROWS = 20_000;
/** Batches decoded ahead of the one being scored. */
const BATCHES_AHEAD = 2;

/** The rows of a run a chunk scores: staged rows `firstRow..lastRow`, both included. */
export interface ChunkRange {
  chunk: number;
  firstRow: number;
  lastRow: number;
}

/** What a chunk did. */
export interface ChunkOutcome {
  chunk: number;
  rows: number;
  /** True when an earlier attempt had scored it: nothing was written this time. */
  alreadyScored: boolean;
  /** Rows scored with a category the model never saw, by column. */
  unseen: Record<string, number>;
}

/** The run's staged rows are gone (a database crash empties an unlogged table): the run must start again. */
export class StagedRowsLostError extends Error {
  override readonly name = 'StagedRowsLostError';
}

/** What scoring a chunk needs besides its range. */
export interface ChunkScoring {
  /** The application role's pool: the staged rows, the result table and the marks. */
  pool: pg.Pool;
  run: BatchRun;
  /** The run's version, loaded and verified (`loadVersion`). */
  version: BatchVersion & { version: number };
  /** The version's inputs in staging order (`LoadedVersion.features`). */
  features: readonly Feature[];
  mappings: CategoryMappings | undefined;
  /** Called after each batch with the rows written so far (an activity heartbeats from it). */
  onProgress?: (rows: number) => void;
}

/** The result table's columns in the order `encodeScoredRows` writes them. */
function resultColumns(run: BatchRun): string {
  const keys = run.keyColumns.map((key) => pg.escapeIdentifier(key.name));
  const prediction = run.output === 'value' ? VALUE_COLUMNS : LABEL_COLUMNS;
  return [RUN_COLUMN, ...keys, ...prediction, ...TRAILING_COLUMNS].join(', ');
}

/**
 * Scores one chunk of a run and writes it with its mark, or finds it already scored.
 *
 * @throws StagedRowsLostError when the staging table holds fewer of the chunk's rows than it was given
 */
export async function scoreStagedChunk(scoring: ChunkScoring, range: ChunkRange): Promise<ChunkOutcome> {
  const { pool, run } = scoring;
  const writer = await pool.connect();
  let broken: Error | undefined;
  try {
    await writer.query('BEGIN');
    // The mark first: an attempt that finds it (or waits for another's to commit) writes nothing.
    const marked = await writer.query(
      `INSERT INTO batch_scoring.chunks (run, chunk, first_row, last_row) VALUES ($1, $2, $3, $4)
       ON CONFLICT (run, chunk) DO NOTHING RETURNING chunk`,
      [run.run, range.chunk, range.firstRow, range.lastRow],
    );
    if (marked.rowCount === 0) {
      await writer.query('ROLLBACK');
      const { rows } = await writer.query<{ rows: string }>(
        'SELECT rows FROM batch_scoring.chunks WHERE run = $1 AND chunk = $2',
        [run.run, range.chunk],
      );
      return { chunk: range.chunk, rows: Number(rows[0]?.rows ?? 0), alreadyScored: true, unseen: {} };
    }
    const written = await scoreInto(writer, scoring, range);
    const expected = range.lastRow - range.firstRow + 1;
    if (written.rows !== expected) {
      throw new StagedRowsLostError(
        `chunk ${range.chunk} found ${written.rows} of its ${expected} staged rows: the staging table was emptied (PostgreSQL restarted since the run began); start the run again`,
      );
    }
    await writer.query('UPDATE batch_scoring.chunks SET rows = $3 WHERE run = $1 AND chunk = $2', [
      run.run,
      range.chunk,
      written.rows,
    ]);
    await writer.query('COMMIT');
    return { chunk: range.chunk, rows: written.rows, alreadyScored: false, unseen: written.unseen };
  } catch (error) {
    // A connection left mid-COPY cannot be reused: closing it rolls the transaction back.
    broken = error instanceof Error ? error : new Error(String(error));
    throw error;
  } finally {
    writer.release(broken);
  }
}

/** Streams the chunk's staged rows through the version into the result table, on `writer`'s transaction. */
async function scoreInto(
  writer: pg.PoolClient,
  scoring: ChunkScoring,
  range: ChunkRange,
): Promise<{ rows: number; unseen: Record<string, number> }> {
  const { run, version } = scoring;
  const out = new PassThrough();
  const writing = pipeline(
    out,
    writer.query(
      copyFrom(`COPY ${resultTableSql(run.into)} (${resultColumns(run)}) FROM STDIN (FORMAT binary)`),
    ),
  );
  // Marked handled at once: a failed write is awaited (and thrown) below, never left unhandled.
  writing.catch(() => undefined);
  out.write(copyHeader());
  const facts = { run: run.run, version: version.version, scoredAt: new Date() };
  const shape = {
    width: version.scorer.metadata.output.width,
    ...(version.classLabels ? { classLabels: version.classLabels } : {}),
  };
  let rows = 0;
  const unseen: Record<string, number> = {};
  const scoreBatch = async (batch: DecodedRows) => {
    const prepared = batchTable(version, batch, scoring.mappings);
    const scores = await version.scorer.scoreTable(prepared.table);
    const encoded = encodeScoredRows(
      batch,
      run.keyColumns.length,
      batchPredictions(scores, batch.rowCount, shape),
      facts,
    );
    for (const [column, count] of Object.entries(prepared.unseen))
      unseen[column] = (unseen[column] ?? 0) + count;
    rows += batch.rowCount;
    if (!out.write(encoded)) await new Promise((resolve) => out.once('drain', resolve));
    scoring.onProgress?.(rows);
  };

  const fields: { name: string; read: FieldRead }[] = [
    ...run.keyColumns.map((key) => ({ name: key.name, read: 'key' as const })),
    ...scoring.features.map((feature) => ({
      name: feature.name,
      read: feature.kind === 'numeric' ? ('float8' as const) : ('text' as const),
    })),
  ];
  const selected = fields.map((field) => pg.escapeIdentifier(field.name)).join(', ');
  const decoder = new BinaryCopyReader(fields, BATCH_ROWS);
  // Batches are scored one after the other while the next ones are read and decoded.
  let scored: Promise<void> = Promise.resolve();
  const waiting: Promise<void>[] = [];
  const enqueue = async (batches: DecodedRows[]) => {
    for (const batch of batches) {
      scored = scored.then(() => scoreBatch(batch));
      scored.catch(() => undefined);
      waiting.push(scored);
      while (waiting.length > BATCHES_AHEAD) await waiting.shift();
    }
  };
  const reader = await scoring.pool.connect();
  let readerBroken: Error | undefined;
  try {
    const source = reader.query(
      copyTo(
        `COPY (SELECT ${selected} FROM ${stagingTableSql(run.run)} WHERE ${STAGED_ROW_COLUMN} BETWEEN ${range.firstRow} AND ${range.lastRow}) TO STDOUT (FORMAT binary)`,
      ),
    );
    for await (const piece of source) await enqueue(decoder.push(piece as Buffer));
    await enqueue(decoder.end());
    await scored;
  } catch (error) {
    readerBroken = error instanceof Error ? error : new Error(String(error));
    out.destroy(readerBroken);
    throw error;
  } finally {
    reader.release(readerBroken);
  }
  out.end(copyTrailer());
  await writing;
  return { rows, unseen };
}
