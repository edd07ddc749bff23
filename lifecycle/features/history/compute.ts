/**
 * Computes a history feature for every row from the rows of its entity that came strictly before
 * it, in one pass per entity over rows sorted by time (`order.ts`): two pointers that only move
 * forward mark the window, prefix sums give sums and counts, and a monotonic deque gives minima
 * and maxima, so a time window costs O(rows), not O(rows x window).
 *
 * What a row sees: the events of its own entity whose time is strictly before its cut-off
 * `t - gap` (t its own time). Rows at the same time never see each other, nor the row itself, so
 * no row sees its own value or a later one. An event is a row whose value is present (NaN rows
 * are skipped, for `since` every row with a time is one); among past events at the same time,
 * the later in source order counts as the later (it decides lags and event windows).
 *
 * Missing results are NaN: a row without an entity key or a time, a row whose entity has no event
 * before its cut-off ("no history"), a lag past the first event, and a mean, min or max of an
 * empty window. `count` and `sum` of an empty window after some history are 0: "no orders in the
 * last 28 days" is a fact, not a gap.
 */
import type { HistoryDefinition, HistoryStat } from './definition';
import type { EntityTimeOrder } from './order';

/** One entity's events in time order, in scratch arrays reused from entity to entity. */
interface Events {
  time: Float64Array;
  value: Float64Array;
  /** prefix[j] = sum of value[0..j) */
  prefix: Float64Array;
  count: number;
}

/**
 * The feature's value for every row of the table, in the table's row order.
 *
 * @param order the rows grouped by entity and sorted by time (`orderByEntityAndTime`)
 * @param time the time column as epoch milliseconds, the one `order` was sorted by
 * @param values the column the feature reads (the target or another numeric column, NaN missing);
 *   `since` ignores it
 */
export function historyValues(
  order: EntityTimeOrder,
  time: Float64Array,
  values: Float64Array | undefined,
  definition: HistoryDefinition,
): Float64Array {
  const out = new Float64Array(order.rowCount).fill(NaN);
  let largest = 0;
  for (let g = 0; g + 1 < order.starts.length; g++) {
    largest = Math.max(largest, (order.starts[g + 1] as number) - (order.starts[g] as number));
  }
  const events: Events = {
    time: new Float64Array(largest),
    value: new Float64Array(largest),
    prefix: new Float64Array(largest + 1),
    count: 0,
  };
  const deque = new Int32Array(largest);
  const readsValues = definition.kind !== 'since';
  for (let g = 0; g + 1 < order.starts.length; g++) {
    const start = order.starts[g] as number;
    const end = order.starts[g + 1] as number;
    let count = 0;
    for (let p = start; p < end; p++) {
      const row = order.rows[p] as number;
      const value = readsValues && values ? (values[row] as number) : 0;
      if (value !== value) continue;
      events.time[count] = time[row] as number;
      events.value[count] = value;
      events.prefix[count + 1] = (events.prefix[count] as number) + value;
      count++;
    }
    events.count = count;
    const rows = order.rows.subarray(start, end);
    switch (definition.kind) {
      case 'lag':
        lagPass(rows, time, events, definition.lag, definition.gapMs, out);
        break;
      case 'since':
        sincePass(rows, time, events, definition.unitMs, definition.gapMs, out);
        break;
      case 'rolling':
        if (definition.stat === 'min' || definition.stat === 'max') {
          extremePass(rows, time, events, definition, definition.stat, deque, out);
        } else {
          sumPass(rows, time, events, definition, definition.stat, out);
        }
        break;
    }
  }
  return out;
}

/** How many events lie strictly before `cutoff`, moving on from `from` (the previous row's answer). */
function eventsBefore(events: Events, cutoff: number, from: number): number {
  let before = from;
  while (before < events.count && (events.time[before] as number) < cutoff) before++;
  return before;
}

function lagPass(
  rows: Int32Array,
  time: Float64Array,
  events: Events,
  lag: number,
  gapMs: number,
  out: Float64Array,
): void {
  let before = 0;
  for (const row of rows) {
    before = eventsBefore(events, (time[row] as number) - gapMs, before);
    if (before >= lag) out[row] = events.value[before - lag] as number;
  }
}

function sincePass(
  rows: Int32Array,
  time: Float64Array,
  events: Events,
  unitMs: number,
  gapMs: number,
  out: Float64Array,
): void {
  let before = 0;
  for (const row of rows) {
    const t = time[row] as number;
    before = eventsBefore(events, t - gapMs, before);
    if (before > 0) out[row] = (t - (events.time[before - 1] as number)) / unitMs;
  }
}

type Rolling = Extract<HistoryDefinition, { kind: 'rolling' }>;

/**
 * The first event of the window that ends before `before` (exclusive): for a time window the first
 * at or after `cutoff - ms`, moving on from `from`; for an event window `before - count`.
 */
function windowStart(events: Events, rolling: Rolling, cutoff: number, before: number, from: number): number {
  if (rolling.window.kind === 'events') return Math.max(0, before - rolling.window.count);
  const earliest = cutoff - rolling.window.ms;
  let first = from;
  while (first < before && (events.time[first] as number) < earliest) first++;
  return first;
}

function sumPass(
  rows: Int32Array,
  time: Float64Array,
  events: Events,
  rolling: Rolling,
  stat: Exclude<HistoryStat, 'min' | 'max'>,
  out: Float64Array,
): void {
  let before = 0;
  let first = 0;
  for (const row of rows) {
    const cutoff = (time[row] as number) - rolling.gapMs;
    before = eventsBefore(events, cutoff, before);
    if (before === 0) continue;
    first = windowStart(events, rolling, cutoff, before, first);
    const count = before - first;
    if (stat === 'count') out[row] = count;
    else if (count === 0) out[row] = stat === 'sum' ? 0 : NaN;
    else {
      const sum = (events.prefix[before] as number) - (events.prefix[first] as number);
      out[row] = stat === 'sum' ? sum : sum / count;
    }
  }
}

/**
 * Minimum or maximum over the window with a monotonic deque of event indices: both ends of the
 * window only move forward, so each event enters and leaves the deque once.
 */
function extremePass(
  rows: Int32Array,
  time: Float64Array,
  events: Events,
  rolling: Rolling,
  stat: 'min' | 'max',
  deque: Int32Array,
  out: Float64Array,
): void {
  const sign = stat === 'max' ? 1 : -1;
  let head = 0;
  let tail = 0;
  let before = 0;
  let first = 0;
  for (const row of rows) {
    const cutoff = (time[row] as number) - rolling.gapMs;
    const next = eventsBefore(events, cutoff, before);
    for (let j = before; j < next; j++) {
      const value = sign * (events.value[j] as number);
      while (tail > head && sign * (events.value[deque[tail - 1] as number] as number) <= value) tail--;
      deque[tail++] = j;
    }
    before = next;
    if (before === 0) continue;
    first = windowStart(events, rolling, cutoff, before, first);
    while (tail > head && (deque[head] as number) < first) head++;
    if (tail > head) out[row] = events.value[deque[head] as number] as number;
  }
}
