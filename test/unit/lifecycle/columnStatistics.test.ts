import { describe, expect, it } from 'vitest';
import type { FieldDescription } from '../../../lifecycle/ingest/arrow';
import type { BatchColumn } from '../../../lifecycle/ingest/arrowWriter';
import { SnapshotStatistics } from '../../../lifecycle/ingest/columnStatistics';
import { summarizeColumns } from '../../../lifecycle/ingest/summary';
import { Table } from '../../../ml/table';
import { expectSameStatistics } from '../../snapshotStatistics';

/** A seeded generator, so a failure can be run again. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

const FIELDS: FieldDescription[] = [
  { name: 'spread', role: 'target', kind: 'numeric', pgType: 'double precision' },
  { name: 'few', role: 'feature', kind: 'numeric', pgType: 'integer' },
  { name: 'odd', role: 'feature', kind: 'numeric', pgType: 'double precision' },
  { name: 'narrow', role: 'feature', kind: 'numeric', pgType: 'double precision' },
  { name: 'tiny', role: 'feature', kind: 'numeric', pgType: 'double precision' },
  { name: 'grade', role: 'feature', kind: 'categorical', pgType: 'text' },
];

/** Rows of every shape the statistics meet: wide spreads, few distinct values, NaN, infinities, -0, subnormals. */
function columns(rows: number, seed: number) {
  const next = random(seed);
  const spread = Float64Array.from({ length: rows }, () => (next() - 0.3) * 10 ** Math.floor(next() * 8 - 3));
  const few = Float64Array.from({ length: rows }, () => Math.floor(next() * 4));
  const odd = Float64Array.from({ length: rows }, (_, row) =>
    row % 7 === 0 ? Number.NaN : row % 11 === 0 ? -0 : row % 13 === 0 ? Number.POSITIVE_INFINITY : -next(),
  );
  // Distinct values that share their first 32 bits: too many to collect, counted bit by bit.
  const narrow = Float64Array.from({ length: rows }, () => 1 + next() * 1e-6);
  // The smallest doubles, so close that a histogram bin's width rounds to 0 (binned the slow way).
  const tiny = Float64Array.from({ length: rows }, () => Number.MIN_VALUE * (1 + Math.floor(next() * 3)));
  const codes = Int32Array.from({ length: rows }, (_, row) => (row % 5 === 0 ? -1 : Math.floor(next() * 30)));
  return {
    spread,
    few,
    odd,
    narrow,
    tiny,
    codes,
    labels: Array.from({ length: 30 }, (_, code) => `grade-${code}`),
  };
}

describe('SnapshotStatistics', () => {
  it.each([
    [1, 1],
    [2, 7],
    [5000, 3],
    [40_000, 9],
    // Over a million: "narrow" has too many values under one prefix to collect them.
    [1_100_000, 5],
  ])('gives the statistics of the whole table for %i rows fed in batches', async (rows, seed) => {
    const data = columns(rows, seed);
    const statistics = new SnapshotStatistics(FIELDS);
    const seen = new Set<number>();
    try {
      const batchRows = rows > 100_000 ? 65_536 : 999;
      for (let start = 0; start < rows; start += batchRows) {
        const end = Math.min(rows, start + batchRows);
        // Codes in order of first appearance hold across batches; each batch names the labels it
        // brings first.
        const newLabels: string[] = [];
        const codes = data.codes.slice(start, end).map((code) => {
          if (code < 0) return code;
          if (!seen.has(code)) {
            seen.add(code);
            newLabels.push(`grade-${code}`);
          }
          return [...seen].indexOf(code);
        });
        const batchColumns: BatchColumn[] = [
          { kind: 'numeric', values: data.spread.slice(start, end) },
          { kind: 'numeric', values: data.few.slice(start, end) },
          { kind: 'numeric', values: data.odd.slice(start, end) },
          { kind: 'numeric', values: data.narrow.slice(start, end) },
          { kind: 'numeric', values: data.tiny.slice(start, end) },
          { kind: 'categorical', codes, newLabels },
        ];
        await statistics.add({ rows: end - start, columns: batchColumns });
      }
      const streamed = await statistics.finish();

      // The whole table with its dictionary in the order the batches brought the labels.
      const order = [...seen];
      const recode = new Map(order.map((code, index) => [code, index]));
      const table = new Table([
        { kind: 'numeric', name: 'spread', values: data.spread },
        { kind: 'numeric', name: 'few', values: data.few },
        { kind: 'numeric', name: 'odd', values: data.odd },
        { kind: 'numeric', name: 'narrow', values: data.narrow },
        { kind: 'numeric', name: 'tiny', values: data.tiny },
        {
          kind: 'categorical',
          name: 'grade',
          codes: data.codes.map((code) => (code < 0 ? -1 : (recode.get(code) as number))),
          dictionary: order.map((code) => `grade-${code}`),
        },
      ]);
      const whole = summarizeColumns(table, FIELDS);
      expect(streamed.columns).toEqual(whole.columns);
      expect(streamed.statistics.rowCount).toBe(rows);
      expectSameStatistics(streamed.statistics, whole.statistics);
    } finally {
      await statistics.close();
    }
  });
});
