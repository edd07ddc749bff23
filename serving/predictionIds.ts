/**
 * Prediction ids: UUID version 7 (RFC 9562), the millisecond the prediction was served followed by
 * 74 random bits. The prediction log's primary key begins with the id, so ids that grow with time
 * add each row at the right end of that index, on pages already in memory, where random (version 4)
 * ids put every row on a random page of it: PostgreSQL then spent most of its time per logged row
 * on the index and on the full-page images a page's first change after a checkpoint writes to WAL.
 *
 * The id tells whoever holds it when the prediction was served, which its caller knew anyway; the
 * random bits keep ids unguessable (they come from the operating system's generator, a pool at a
 * time, as Node's own randomUUID does).
 */
import { randomFillSync } from 'node:crypto';

/** Ids drawn per refill of the random pool. */
const IDS_PER_POOL = 256;
/** Random bytes an id takes (74 bits used). */
const RANDOM_BYTES = 10;

const pool = Buffer.alloc(IDS_PER_POOL * RANDOM_BYTES);
let nextId = IDS_PER_POOL;

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));
const DIGIT = Array.from({ length: 16 }, (_, digit) => digit.toString(16));

/** The id's first 15 characters for the last millisecond asked: time, then the version digit. */
let prefixAt = -1;
let prefix = '';

/** A new prediction id for a prediction served at `servedAt` (milliseconds since the epoch). */
export function newPredictionId(servedAt: number): string {
  if (nextId === IDS_PER_POOL) {
    randomFillSync(pool);
    nextId = 0;
  }
  const r = nextId++ * RANDOM_BYTES;
  if (servedAt !== prefixAt) {
    // 48 bits of milliseconds (until the year 10889), 12 hex digits, then version 7.
    const time = Math.floor(servedAt).toString(16).padStart(12, '0');
    prefix = `${time.slice(0, 8)}-${time.slice(8, 12)}-7`;
    prefixAt = servedAt;
  }
  // 12 random bits; the variant (binary 10) and 62 random bits.
  return (
    prefix +
    (DIGIT[(pool[r] as number) & 0x0f] as string) +
    (HEX[pool[r + 1] as number] as string) +
    '-' +
    (HEX[((pool[r + 2] as number) & 0x3f) | 0x80] as string) +
    (HEX[pool[r + 3] as number] as string) +
    '-' +
    (HEX[pool[r + 4] as number] as string) +
    (HEX[pool[r + 5] as number] as string) +
    (HEX[pool[r + 6] as number] as string) +
    (HEX[pool[r + 7] as number] as string) +
    (HEX[pool[r + 8] as number] as string) +
    (HEX[pool[r + 9] as number] as string)
  );
}
