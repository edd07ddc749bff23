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

/** One entity's events in time order: what a history feature reads. */
export interface EntityEvents {
  time: Float64Array;
  value: Float64Array;
  /** prefix[j] = sum of value[0..j) */
  prefix: Float64Array;
  count: number;
}

/** Scratch space for `historyOfRows`, sized for the largest entity it is used for. */
export interface HistoryScratch {
  deque: Int32Array;
}

/** Empty events of capacity `size` (scratch arrays reused from entity to entity). */
export function emptyEvents(size: number): EntityEvents {
  return {
    time: new Float64Array(size),
    value: new Float64Array(size),
    prefix: new Float64Array(size + 1),
    count: 0,
  };
}

/**
 * One entity's events from its rows in time order: the rows whose value is present (for `since`,
 * which reads no values, every row), written into `into` from its start.
 *
 * @param values the value column (NaN missing), or undefined to count every row as an event
 */
export function collectEvents(
  rows: ArrayLike<number>,
  time: Float64Array,
  values: Float64Array | undefined,
  into: EntityEvents,
): EntityEvents {
  let count = 0;
  for (let p = 0; p < rows.length; p++) {
    const row = rows[p] as number;
    const value = values ? (values[row] as number) : 0;
    if (value !== value) continue;
    into.time[count] = time[row] as number;
    into.value[count] = value;
    into.prefix[count + 1] = (into.prefix[count] as number) + value;
    count++;
  }
  into.count = count;
  return into;
}

/**
 * The feature's value for each of `rows` (one entity's, sorted by time, ties in source order) from
 * that entity's events: every row reads only the events strictly before its cut-off. Training calls
 * it with the entity's own rows as the events (`historyValues`), serving with the events an entity
 * history holds (`EntityHistory`): one code for both, so they cannot compute different values.
 *
 * @param time the rows' times (epoch milliseconds), indexed by row
 * @param out written at each of `rows`; rows without history are left as they are (NaN)
 */
export function historyOfRows(
  rows: Int32Array,
  time: Float64Array,
  events: EntityEvents,
  definition: HistoryDefinition,
  scratch: HistoryScratch,
  out: Float64Array,
): void {
  switch (definition.kind) {
    case 'lag':
      lagPass(rows, time, events, definition.lag, definition.gapMs, out);
      break;
    case 'since':
      sincePass(rows, time, events, definition.unitMs, definition.gapMs, out);
      break;
    case 'rolling':
      if (definition.stat === 'min' || definition.stat === 'max') {
        extremePass(rows, time, events, definition, definition.stat, scratch.deque, out);
      } else {
        sumPass(rows, time, events, definition, definition.stat, out);
      }
      break;
  }
}

/** Whether a definition reads values (all but `since`, which reads only times). */
export const readsValues = (definition: HistoryDefinition): boolean => definition.kind !== 'since';

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
  const events = emptyEvents(largest);
  const scratch: HistoryScratch = { deque: new Int32Array(largest) };
  const eventValues = readsValues(definition) ? values : undefined;
  for (let g = 0; g + 1 < order.starts.length; g++) {
    const rows = order.rows.subarray(order.starts[g], order.starts[g + 1]);
    collectEvents(rows, time, eventValues, events);
    historyOfRows(rows, time, events, definition, scratch, out);
  }
  return out;
}

/** How many events lie strictly before `cutoff`, moving on from `from` (the previous row's answer). */
function eventsBefore(events: EntityEvents, cutoff: number, from: number): number {
  let before = from;
  while (before < events.count && (events.time[before] as number) < cutoff) before++;
  return before;
}

function lagPass(
  rows: Int32Array,
  time: Float64Array,
  events: EntityEvents,
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
  events: EntityEvents,
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
function windowStart(
  events: EntityEvents,
  rolling: Rolling,
  cutoff: number,
  before: number,
  from: number,
): number {
  if (rolling.window.kind === 'events') return Math.max(0, before - rolling.window.count);
  const earliest = cutoff - rolling.window.ms;
  let first = from;
  while (first < before && (events.time[first] as number) < earliest) first++;
  return first;
}

function sumPass(
  rows: Int32Array,
  time: Float64Array,
  events: EntityEvents,
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
  events: EntityEvents,
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
