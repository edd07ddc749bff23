/**
 * Rows grouped by entity and sorted by time once, so every history feature over the same keys is a
 * linear pass: an entity is the combination of one or more key columns, and a row without a key
 * or a time belongs to none.
 */
import type { Column } from '../../../ml/table';

/** Rows in entity order, each entity's rows by time, then by row index (source order). */
export interface EntityTimeOrder {
  /** Row indices, entity by entity; rows with a missing key or time are left out. */
  rows: Int32Array;
  /** Where each entity starts in `rows`, with one more entry for the end: entity g is [starts[g], starts[g + 1]). */
  starts: Int32Array;
  /** The number of rows of the table the order is over. */
  rowCount: number;
}

/** Dense codes (0, 1, ...) for a key column's values; -1 where missing. */
function keyCodes(column: Column): { codes: Int32Array; size: number } {
  if (column.kind === 'categorical') return { codes: column.codes, size: column.dictionary.length };
  const codes = new Int32Array(column.values.length);
  const seen = new Map<number, number>();
  column.values.forEach((value, row) => {
    if (value !== value) {
      codes[row] = -1;
      return;
    }
    let code = seen.get(value);
    if (code === undefined) seen.set(value, (code = seen.size));
    codes[row] = code;
  });
  return { codes, size: seen.size };
}

/**
 * One entity code per row from several key columns together (customer and material family): two
 * rows are the same entity when every key is equal; -1 where any key is missing.
 *
 * @param keys categorical columns, or numeric ones holding whole-number ids (NaN missing)
 */
export function entityCodes(keys: readonly Column[], rowCount: number): Int32Array {
  const entity = new Int32Array(rowCount);
  for (const key of keys) {
    const { codes, size: keySize } = keyCodes(key);
    // Pairs re-numbered densely after each key, so the pair number stays below rowCount² (exact in a double).
    const pairs = new Map<number, number>();
    for (let row = 0; row < rowCount; row++) {
      const previous = entity[row] as number;
      const code = codes[row] ?? -1;
      if (previous < 0 || code < 0) {
        entity[row] = -1;
        continue;
      }
      const pair = previous * Math.max(keySize, 1) + code;
      let dense = pairs.get(pair);
      if (dense === undefined) pairs.set(pair, (dense = pairs.size));
      entity[row] = dense;
    }
  }
  return entity;
}

/**
 * Groups rows by entity and sorts each entity's rows by time: a counting sort by entity (O(n)),
 * then a sort of each entity's rows by time and row index (O(n log n) in all).
 *
 * @param entity one code per row, from `entityCodes` (-1: no entity)
 * @param time the spec's time column as epoch milliseconds (NaN: no time)
 */
export function orderByEntityAndTime(entity: Int32Array, time: Float64Array): EntityTimeOrder {
  const rowCount = entity.length;
  let entities = 0;
  for (let row = 0; row < rowCount; row++) {
    const code = entity[row] as number;
    if (code >= entities) entities = code + 1;
  }
  const starts = new Int32Array(entities + 1);
  for (let row = 0; row < rowCount; row++) {
    const code = entity[row] as number;
    const t = time[row] as number;
    if (code >= 0 && t === t) starts[code + 1] = (starts[code + 1] as number) + 1;
  }
  for (let g = 0; g < entities; g++) starts[g + 1] = (starts[g + 1] as number) + (starts[g] as number);
  const rows = new Int32Array(starts[entities] as number);
  const next = starts.slice(0, entities);
  for (let row = 0; row < rowCount; row++) {
    const code = entity[row] as number;
    const t = time[row] as number;
    if (code < 0 || t !== t) continue;
    const at = next[code] as number;
    rows[at] = row;
    next[code] = at + 1;
  }
  // Rows went in by index, so equal times stay in source order with a plain comparison of times;
  // the index breaks ties explicitly anyway, so the order does not rest on the sort's stability.
  const byTime = (a: number, b: number) => (time[a] as number) - (time[b] as number) || a - b;
  for (let g = 0; g < entities; g++) {
    const start = starts[g] as number;
    const end = starts[g + 1] as number;
    if (end - start > 1) rows.subarray(start, end).sort(byTime);
  }
  return { rows, starts, rowCount };
}
