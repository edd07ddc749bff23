/**
 * Writes scored rows in PostgreSQL's binary COPY format, in the column order of a result table: the
 * run, the key fields as they were read (`copyReader.ts`), the prediction, the version, a prediction
 * id and scored_at. Pure, but for the random bytes of the prediction ids.
 */
import { randomFillSync } from 'node:crypto';
import type { DecodedRows } from './copyReader';
import { copyBytes } from './copyFormat';

/** Milliseconds between the Unix epoch and PostgreSQL's (2000-01-01). */
const POSTGRES_EPOCH_MS = 946_684_800_000;
const TWO_POW_32 = 2 ** 32;

/** A 64-bit integer below 2^53 as two 32-bit halves, without BigInt (which is slow per row). */
function writeInt64(buffer: Buffer, value: number, at: number): number {
  buffer.writeInt32BE(Math.floor(value / TWO_POW_32), at);
  buffer.writeUInt32BE((value % TWO_POW_32) >>> 0, at + 4);
  return at + 8;
}

/** A time as PostgreSQL's binary timestamptz: microseconds since 2000-01-01 UTC. */
export function postgresMicroseconds(at: Date): number {
  return (at.getTime() - POSTGRES_EPOCH_MS) * 1000;
}

/** What is written with every scored row of a chunk, beside its key and prediction. */
export interface ScoredRowFacts {
  /** The run's number (`batch_scoring.runs.run`). */
  run: number;
  version: number;
  scoredAt: Date;
}

/**
 * A scored row's prediction: a regression's value, or a classifier's label (its index into
 * `classLabels`, whose UTF-8 bytes are given) and every class's probability.
 */
export type ScoredPredictions =
  | { kind: 'value'; values: Float64Array }
  | { kind: 'label'; classLabels: readonly Buffer[]; best: Int32Array; probabilities: Float64Array };

/** float8[] header: one dimension, no NULLs, element type float8 (oid 701), lower bound 1. */
function float8ArrayHeader(length: number): Buffer {
  const header = Buffer.alloc(20);
  header.writeInt32BE(1, 0);
  header.writeInt32BE(0, 4);
  header.writeInt32BE(701, 8);
  header.writeInt32BE(length, 12);
  header.writeInt32BE(1, 16);
  return header;
}

/**
 * The binary COPY tuples of a batch of scored rows, in the column order of a result table: run, the
 * key fields (as they were read), the prediction (value, or label and probabilities), version,
 * prediction id (a random UUID, version 4) and scored_at. No header or trailer.
 */
export function encodeScoredRows(
  rows: Pick<DecodedRows, 'rowCount' | 'keyBytes' | 'keyOffsets'>,
  keyFieldCount: number,
  predictions: ScoredPredictions,
  facts: ScoredRowFacts,
): Buffer {
  const { rowCount, keyBytes, keyOffsets } = rows;
  const width = predictions.kind === 'label' ? predictions.classLabels.length : 0;
  const fieldCount = 1 + keyFieldCount + (predictions.kind === 'label' ? 2 : 1) + 3;
  // What every row starts and ends with is the same bytes: built once, copied per row.
  const head = Buffer.alloc(14);
  head.writeInt16BE(fieldCount, 0);
  head.writeInt32BE(8, 2);
  writeInt64(head, facts.run, 6);
  const tail = Buffer.alloc(8 + 4 + 16 + 12);
  tail.writeInt32BE(4, 0);
  tail.writeInt32BE(facts.version, 4);
  tail.writeInt32BE(16, 8);
  tail.writeInt32BE(8, 28);
  writeInt64(tail, postgresMicroseconds(facts.scoredAt), 32);
  const arrayHeader = Buffer.alloc(24);
  arrayHeader.writeInt32BE(20 + width * 12, 0);
  arrayHeader.set(float8ArrayHeader(width), 4);
  const predictionBytes = predictions.kind === 'value' ? 12 : 4 + 24 + width * 12;
  let total = rowCount * (head.length + predictionBytes + tail.length) + keyBytes.length;
  if (predictions.kind === 'label') {
    for (let row = 0; row < rowCount; row++) {
      total += (predictions.classLabels[predictions.best[row] as number] as Buffer).length;
    }
  }
  const out = Buffer.allocUnsafe(total);
  const ids = randomFillSync(Buffer.allocUnsafe(16 * rowCount));
  let at = 0;
  for (let row = 0; row < rowCount; row++) {
    copyBytes(head, 0, out, at, head.length);
    at += head.length;
    const keyStart = keyOffsets[row] as number;
    const keyLength = (keyOffsets[row + 1] as number) - keyStart;
    copyBytes(keyBytes, keyStart, out, at, keyLength);
    at += keyLength;
    if (predictions.kind === 'value') {
      at = out.writeInt32BE(8, at);
      at = out.writeDoubleBE(predictions.values[row] as number, at);
    } else {
      const label = predictions.classLabels[predictions.best[row] as number] as Buffer;
      at = out.writeInt32BE(label.length, at);
      copyBytes(label, 0, out, at, label.length);
      at += label.length;
      copyBytes(arrayHeader, 0, out, at, arrayHeader.length);
      at += arrayHeader.length;
      for (let k = 0; k < width; k++) {
        at = out.writeInt32BE(8, at);
        at = out.writeDoubleBE(predictions.probabilities[row * width + k] as number, at);
      }
    }
    copyBytes(tail, 0, out, at, tail.length);
    const id = row * 16;
    // RFC 9562 version 4: the version nibble and the variant bits set on random bytes.
    ids[id + 6] = ((ids[id + 6] as number) & 0x0f) | 0x40;
    ids[id + 8] = ((ids[id + 8] as number) & 0x3f) | 0x80;
    copyBytes(ids, id, out, at + 12, 16);
    at += tail.length;
  }
  return out;
}
