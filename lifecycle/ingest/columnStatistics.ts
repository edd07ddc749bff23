/**
 * A snapshot's statistics taken batch by batch, in memory that does not grow with the rows: counts,
 * sums, minimum and maximum as the batches pass, each category's count, and each numeric column's
 * finite values spilled to a temporary file. The exact quantiles (order statistics, as
 * `numericStatistics` takes them from a sorted copy), the histogram and the standard deviation are
 * then read from that file in a few sequential passes: a radix selection on the values' 64-bit order
 * keys, 16 bits a pass, holds 65,536 counters per quantile, never the column.
 *
 * The result is the record `summarizeColumns` makes from a whole table; only the standard deviation
 * may differ in its last bits (its squares are summed in row order, not in sorted order).
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, open, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  categoricalStatisticsOfCounts,
  compareText,
  histogramLayout,
  QUANTILE_LEVELS,
  type ColumnStatistics,
  type DatasetStatistics,
  type NumericStatistics,
  type Quantiles,
} from '../../ml/statistics';
import type { FieldDescription } from './arrow';
import type { SnapshotBatch } from './copyStream';
import { LISTED_CATEGORIES, MAX_CATEGORY_LIST, type SnapshotColumn } from './summary';

const HISTOGRAM_BINS = 20;
/** Bytes read from a spill file at a time. */
const READ_BYTES = 1 << 20;
const DIGITS = 1 << 16;

/** Statistics of a snapshot's columns, fed one batch at a time; `finish` once, then `close`. */
export class SnapshotStatistics {
  #rows = 0;
  readonly #columns: (NumericAccumulator | CategoryCounts)[];
  readonly #folder: Promise<string>;

  constructor(private readonly fields: readonly FieldDescription[]) {
    this.#folder = mkdtemp(path.join(tmpdir(), 'kerf-snapshot-'));
    // Awaited by the first batch and by close; marked handled so a failure is not reported twice.
    this.#folder.catch(() => undefined);
    this.#columns = fields.map((field) =>
      field.kind === 'categorical' ? new CategoryCounts() : new NumericAccumulator(),
    );
  }

  async add(batch: SnapshotBatch): Promise<void> {
    this.#rows += batch.rows;
    const folder = await this.#folder;
    // The spill files are written all at once: a batch waiting on one write after the other (each a
    // trip through libuv's thread pool) held the COPY stream back for all of them.
    const writes: Promise<void>[] = [];
    for (let index = 0; index < batch.columns.length; index++) {
      const column = batch.columns[index];
      const accumulator = this.#columns[index];
      if (column?.kind === 'numeric' && accumulator instanceof NumericAccumulator) {
        writes.push(accumulator.add(column.values, folder));
      } else if (column?.kind === 'categorical' && accumulator instanceof CategoryCounts) {
        accumulator.add(column.codes, column.newLabels);
      }
    }
    await Promise.all(writes);
  }

  /** The record's columns and statistics, as `summarizeColumns` gives them for the whole table. */
  async finish(): Promise<{ columns: SnapshotColumn[]; statistics: DatasetStatistics }> {
    const columns: SnapshotColumn[] = [];
    const statistics: ColumnStatistics[] = [];
    for (let index = 0; index < this.fields.length; index++) {
      const field = this.fields[index] as FieldDescription;
      const accumulator = this.#columns[index];
      if (accumulator instanceof CategoryCounts) {
        const present = accumulator.labels.filter((_, code) => (accumulator.counts[code] ?? 0) > 0);
        columns.push({
          ...field,
          categories: present.length > MAX_CATEGORY_LIST ? null : present.sort(compareText),
        });
        statistics.push(
          categoricalStatisticsOfCounts(
            field.name,
            accumulator.labels,
            accumulator.counts,
            accumulator.missing,
            LISTED_CATEGORIES,
          ),
        );
      } else if (accumulator) {
        columns.push({ ...field });
        statistics.push(await accumulator.finish(field.name));
      }
    }
    return { columns, statistics: { rowCount: this.#rows, columns: statistics } };
  }

  /** Removes the spill files. */
  async close(): Promise<void> {
    for (const accumulator of this.#columns) {
      if (accumulator instanceof NumericAccumulator) await accumulator.close();
    }
    const folder = await this.#folder.catch(() => undefined);
    if (folder) await rm(folder, { recursive: true, force: true });
  }
}

/** A categorical column's counts per code (codes hold across batches) and its missing rows. */
class CategoryCounts {
  readonly labels: string[] = [];
  counts = new Float64Array(16);
  missing = 0;

  add(codes: Int32Array, newLabels: readonly string[]): void {
    this.labels.push(...newLabels);
    if (this.labels.length > this.counts.length) {
      const grown = new Float64Array(Math.max(this.labels.length, this.counts.length * 2));
      grown.set(this.counts);
      this.counts = grown;
    }
    const counts = this.counts;
    for (const code of codes) {
      if (code < 0) this.missing++;
      else counts[code] = (counts[code] as number) + 1;
    }
  }
}

/**
 * The first 16 bits of the values' order keys (sign, exponent and 4 bits of mantissa), counted as
 * the batches pass: how many values start so, the first such value, and whether all are that value.
 * A column of few distinct values (counts, grades, flags) needs nothing more: its quantiles,
 * histogram and deviation come from these buckets alone.
 */
interface FirstBuckets {
  counts: Float64Array;
  first: Float64Array;
  /** 0: empty, 1: every value the same (`first`), 2: mixed. */
  state: Uint8Array;
}

/** A numeric column's running counts and sums, and its finite values in a file of their own. */
class NumericAccumulator {
  missing = 0;
  infinite = 0;
  zeros = 0;
  finite = 0;
  sum = 0;
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;
  readonly #buckets: FirstBuckets = {
    counts: new Float64Array(DIGITS),
    first: new Float64Array(DIGITS),
    state: new Uint8Array(DIGITS),
  };
  /** The batch's finite values on their way to the file (the write is awaited before the next batch). */
  #spill = new Float64Array(0);
  #file: FileHandle | undefined;
  #path: string | undefined;

  async add(values: Float64Array, folder: string): Promise<void> {
    if (this.#spill.length < values.length) this.#spill = new Float64Array(values.length);
    const spill = this.#spill;
    // The high 32 bits of each value (little-endian), for its order key's first 16 bits.
    const words = new Uint32Array(values.buffer, values.byteOffset, values.length * 2);
    const { counts, first, state } = this.#buckets;
    let { missing, infinite, zeros, sum, min, max } = this;
    let kept = 0;
    for (let row = 0; row < values.length; row++) {
      const value = values[row] as number;
      if (value !== value) {
        missing++;
        continue;
      }
      if (value === Number.POSITIVE_INFINITY || value === Number.NEGATIVE_INFINITY) {
        infinite++;
        continue;
      }
      // Summed in row order, as numericStatistics sums, so the mean is the same number.
      sum += value;
      if (value === 0) zeros++;
      if (value < min) min = value;
      if (value > max) max = value;
      spill[kept++] = value;
      const high = words[2 * row + 1] as number;
      const bucket = high & 0x80000000 ? ~high >>> 16 : (high >>> 16) | 0x8000;
      counts[bucket] = (counts[bucket] as number) + 1;
      const seen = state[bucket];
      if (seen === 0) {
        state[bucket] = 1;
        first[bucket] = value;
      } else if (seen === 1 && first[bucket] !== value) {
        state[bucket] = 2;
      }
    }
    Object.assign(this, { missing, infinite, zeros, sum, min, max });
    this.finite += kept;
    if (kept === 0) return;
    if (!this.#file) {
      this.#path = path.join(folder, `${randomUUID()}.f64`);
      this.#file = await open(this.#path, 'w+');
    }
    await this.#file.write(new Uint8Array(spill.buffer, 0, kept * 8));
  }

  async finish(name: string): Promise<NumericStatistics> {
    const count = this.finite + this.infinite;
    const base = {
      kind: 'numeric' as const,
      name,
      count,
      missing: this.missing,
      infinite: this.infinite,
      zeros: this.zeros,
    };
    const file = this.#file;
    if (this.finite === 0 || !file) {
      return { ...base, mean: null, std: null, min: null, max: null, quantiles: null, histogram: null };
    }
    const mean = this.sum / this.finite;
    const histogram = histogramLayout(this.min, this.max, HISTOGRAM_BINS);
    let squares = 0;
    const ranks = new Set<number>();
    for (const level of Object.values(QUANTILE_LEVELS)) {
      const below = Math.floor(level * (this.finite - 1));
      ranks.add(below).add(Math.min(below + 1, this.finite - 1));
    }
    const { counts, first, state } = this.#buckets;
    const selection = new RadixSelection([...ranks], this.#buckets);
    if (state.every((seen) => seen !== 2)) {
      // Few distinct values: each bucket is one value, counted.
      for (let bucket = 0; bucket < DIGITS; bucket++) {
        const inBucket = counts[bucket] as number;
        if (inBucket === 0) continue;
        const value = first[bucket] as number;
        histogram.add(value, inBucket);
        squares += inBucket * (value - mean) ** 2;
      }
    } else {
      // One pass bins the values, sums the squared deviations and narrows the quantiles down.
      await readValues(file, (values) => {
        // Summed in a local, in the same order: a sum captured by this closure would box every step.
        let sum = squares;
        for (let index = 0; index < values.length; index++) sum += ((values[index] as number) - mean) ** 2;
        squares = sum;
        histogram.addAll(values);
        selection.count(values);
      });
      selection.settle();
    }
    while (!selection.done) {
      await readValues(file, (values) => selection.count(values));
      selection.settle();
    }
    const orderStatistic = (rank: number) => selection.value(rank);
    const quantiles = Object.fromEntries(
      Object.entries(QUANTILE_LEVELS).map(([key, level]) => {
        const position = level * (this.finite - 1);
        const below = Math.floor(position);
        const low = orderStatistic(below);
        const high = orderStatistic(Math.min(below + 1, this.finite - 1));
        return [key, low + (high - low) * (position - below)];
      }),
    ) as unknown as Quantiles;
    return {
      ...base,
      mean,
      std: Math.sqrt(squares / this.finite),
      min: this.min,
      max: this.max,
      quantiles,
      histogram: histogram.histogram(),
    };
  }

  async close(): Promise<void> {
    await this.#file?.close().catch(() => undefined);
    this.#file = undefined;
    if (this.#path) await rm(this.#path, { force: true });
  }
}

/** Calls `visit` with the values of a spill file, a run at a time, in the order written. */
async function readValues(file: FileHandle, visit: (values: Float64Array) => void): Promise<void> {
  const buffer = new Float64Array(READ_BYTES / 8);
  const bytes = new Uint8Array(buffer.buffer);
  let position = 0;
  for (;;) {
    const { bytesRead } = await file.read(bytes, 0, bytes.length, position);
    // Whole values only; a read that stops inside one reads it again next time.
    const values = bytesRead >> 3;
    if (values === 0) return;
    position += values * 8;
    visit(buffer.subarray(0, values));
  }
}

/**
 * Finds order statistics (the values at given ranks of the sorted column) without sorting it: each
 * value's 64 bits are turned into a key that orders as the numbers do, and each pass counts, among
 * the values whose key starts as the wanted one's does so far, the next 16 bits. Once the values
 * under a wanted prefix are few (at most `COLLECT_LIMIT`), the next pass collects and sorts them
 * instead; otherwise a rank's value is its key once all 64 bits are known. Four passes at most,
 * two for most columns.
 */
class RadixSelection {
  readonly #scratch = new Float64Array(1);
  readonly #words = new Uint32Array(this.#scratch.buffer);
  readonly #wanted: Wanted[];
  /** Prefix groups being counted (or collected) this pass; ranks that share a prefix share them. */
  #groups: Group[] = [];
  /**
   * The groups of this pass by the first 16 bits of their prefix (every group of a pass knows 16
   * bits or more): the first group's index, or -1, and `#next` chains the others with those bits.
   */
  readonly #byTop = new Int32Array(DIGITS);
  #next = new Int32Array(0);

  /** @param firstBuckets the first 16 bits already counted: the selection starts from them */
  constructor(
    ranks: readonly number[],
    private readonly firstBuckets: FirstBuckets,
  ) {
    this.#wanted = ranks.map((rank) => ({ rank, within: rank, high: 0, low: 0, bits: 0, collect: 0 }));
    this.#groups = [{ bits: 0, high: 0, low: 0, counts: firstBuckets.counts, filled: 0, sorted: false }];
    this.settle();
  }

  get done(): boolean {
    return this.#wanted.every((wanted) => wanted.value !== undefined);
  }

  /** Counts (or collects) a run of values into this pass's groups. */
  count(values: Float64Array): void {
    // Each value's two 32-bit halves, read in place (little-endian: low word first).
    const words = new Uint32Array(values.buffer, values.byteOffset, values.length * 2);
    const groups = this.#groups;
    const byTop = this.#byTop;
    const next = this.#next;
    for (let index = 0; index < values.length; index++) {
      let low = words[2 * index] as number;
      let high = words[2 * index + 1] as number;
      // Negative numbers: every bit flipped; positive: the sign bit set. Keys then order as numbers.
      if (high & 0x80000000) {
        high = ~high >>> 0;
        low = ~low >>> 0;
      } else {
        high = (high | 0x80000000) >>> 0;
      }
      // Only the groups whose prefix starts with the key's first 16 bits: most values have none.
      for (let at = byTop[high >>> 16] as number; at >= 0; at = next[at] as number) {
        const group = groups[at] as Group;
        if (group.collected) {
          if (matches(group.bits, high, low, group))
            group.collected[group.filled++] = values[index] as number;
          continue;
        }
        const digit = digitOf(group.bits, high, low, group);
        if (digit >= 0) group.counts[digit] = (group.counts[digit] as number) + 1;
      }
    }
  }

  /** Moves each wanted rank down into the 16-bit digit its rank falls in, or takes its value. */
  settle(): void {
    for (const group of this.#groups) {
      const wanted = this.#wanted
        .filter((candidate) => candidate.value === undefined && sameGroup(group, candidate))
        .sort((a, b) => a.within - b.within);
      if (group.collected) {
        group.collected.subarray(0, group.filled).sort();
        for (const each of wanted) each.value = group.collected[each.within] ?? Number.NaN;
        continue;
      }
      // One scan of the digits serves every rank of the group, in rank order.
      let before = 0;
      let digit = 0;
      for (const each of wanted) {
        while (digit < DIGITS - 1 && each.within >= before + (group.counts[digit] as number)) {
          before += group.counts[digit] as number;
          digit++;
        }
        const inDigit = group.counts[digit] as number;
        each.within -= before;
        each.collect = inDigit <= COLLECT_LIMIT ? inDigit : 0;
        if (each.bits === 0 && this.firstBuckets.state[digit] === 1) {
          // Every value in this bucket is the same one.
          each.value = this.firstBuckets.first[digit];
          continue;
        }
        if (each.bits < 32) each.high = (each.high | (digit << (16 - each.bits))) >>> 0;
        else each.low = (each.low | (digit << (48 - each.bits))) >>> 0;
        each.bits += 16;
        if (each.bits === 64) each.value = this.#valueOfKey(each.high, each.low);
      }
    }
    this.#plan();
  }

  /** The value at `rank`, once `done`. */
  value(rank: number): number {
    const value = this.#wanted.find((candidate) => candidate.rank === rank)?.value;
    if (value === undefined) throw new Error(`rank ${rank} was not selected`);
    return value;
  }

  #valueOfKey(keyHigh: number, keyLow: number): number {
    let high = keyHigh;
    let low = keyLow;
    if (high & 0x80000000) high = (high & 0x7fffffff) >>> 0;
    else {
      high = ~high >>> 0;
      low = ~low >>> 0;
    }
    this.#words[0] = low;
    this.#words[1] = high;
    return this.#scratch[0] as number;
  }

  #plan(): void {
    this.#groups = [];
    for (const wanted of this.#wanted) {
      if (wanted.value !== undefined || this.#groups.some((group) => sameGroup(group, wanted))) continue;
      this.#groups.push({
        bits: wanted.bits,
        high: wanted.high,
        low: wanted.low,
        counts: new Float64Array(wanted.collect > 0 ? 0 : DIGITS),
        ...(wanted.collect > 0 && { collected: new Float64Array(wanted.collect) }),
        filled: 0,
        sorted: false,
      });
    }
    this.#byTop.fill(-1);
    this.#next = new Int32Array(this.#groups.length).fill(-1);
    this.#groups.forEach((group, index) => {
      const top = group.high >>> 16;
      this.#next[index] = this.#byTop[top] as number;
      this.#byTop[top] = index;
    });
  }
}

/** Values under one prefix gathered and sorted rather than counted (8 bytes each). */
const COLLECT_LIMIT = 1 << 16;

interface Wanted {
  rank: number;
  /** Its rank among the values under its prefix. */
  within: number;
  high: number;
  low: number;
  /** Bits of the key known. */
  bits: number;
  /** How many values are under its prefix when they are few enough to collect, else 0. */
  collect: number;
  value?: number;
}

interface Group {
  bits: number;
  high: number;
  low: number;
  counts: Float64Array;
  collected?: Float64Array;
  filled: number;
  sorted: boolean;
}

function sameGroup(group: Group, wanted: Wanted): boolean {
  return group.bits === wanted.bits && group.high === wanted.high && group.low === wanted.low;
}

/** Whether a key starts with the group's first `bits` bits. */
function matches(bits: number, high: number, low: number, prefix: { high: number; low: number }): boolean {
  switch (bits) {
    case 16:
      return high >>> 16 === prefix.high >>> 16;
    case 32:
      return high === prefix.high;
    case 48:
      return high === prefix.high && low >>> 16 === prefix.low >>> 16;
    default:
      return true;
  }
}

/** The 16 bits after a group's prefix when the key starts with it, else -1. */
function digitOf(bits: number, high: number, low: number, prefix: { high: number; low: number }): number {
  if (!matches(bits, high, low, prefix)) return -1;
  switch (bits) {
    case 0:
      return high >>> 16;
    case 16:
      return high & 0xffff;
    case 32:
      return low >>> 16;
    default:
      return low & 0xffff;
  }
}
