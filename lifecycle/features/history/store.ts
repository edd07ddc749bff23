/**
 * An entity history: the events each entity had, as a version's history features read them at
 * serving time. It starts from the table the version was built from (every row of its snapshot)
 * and grows with the events that arrived after its latest time (predictions whose outcome came
 * back). A request's rows are never events: they have no target yet, and a row never reads itself.
 *
 * A request names its entity by its key values as text (`labelOf`: numbers by their text, booleans
 * as true/false), the way PostgreSQL's `::text` wrote them into the snapshot. The values come from
 * `historyOfRows`, the same passes that built the training table, so a row served at the time it
 * had in the table gets the value it was trained with.
 */
import type { Column, NumericColumn } from '../../../ml/table';
import type { HistoryColumnRequest } from './build';
import { historyValuesOf } from './build';
import { collectEvents, emptyEvents, type EntityEvents, historyOfRows, readsValues } from './compute';
import { entityCodes, orderByEntityAndTime } from './order';

/**
 * A cell as category text, as PostgreSQL's `::text` gives it: text as it is, numbers and booleans
 * by their text; null when missing. How a request names an entity, and a category an expression reads.
 */
export function keyLabelOf(value: unknown): string | null {
  if (typeof value === 'string') return value.trim() === '' ? null : value;
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : null;
  if (typeof value === 'boolean') return String(value);
  return null;
}

/** An entity's id from its key labels, or undefined when one is missing. */
function entityId(labels: readonly (string | null)[]): string | undefined {
  return labels.some((label) => label === null) ? undefined : JSON.stringify(labels);
}

/** What events are read by: the key columns, and the value column (none for `since`). */
function sourceId(request: HistoryColumnRequest): string {
  return JSON.stringify([request.by, readsValues(request.definition) ? (request.of ?? null) : null]);
}

/** A later event, as the prediction log and an outcome give it. */
export interface LaterEvent {
  /** The row the prediction was asked for (its keys, time and other columns). */
  inputs: Readonly<Record<string, unknown>>;
  /** The actual target: a number, or a true/false label. */
  actual: number | string | null;
}

const NO_EVENTS: EntityEvents = emptyEvents(0);

/** A number from a JSON cell (NaN when it is not a finite number). */
function numberOf(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : Number.NaN;
}

/** An actual target as history reads it: a number, or a true/false label as 1/0. */
function actualOf(actual: LaterEvent['actual']): number {
  if (actual === 'true') return 1;
  if (actual === 'false') return 0;
  return numberOf(actual);
}

export class EntityHistory {
  private constructor(
    private readonly requests: readonly HistoryColumnRequest[],
    private readonly timeColumn: string,
    private readonly target: string,
    /** Events by source (keys and value column), then by entity. */
    private readonly events: ReadonlyMap<string, ReadonlyMap<string, EntityEvents>>,
    /** The latest event time of the table the history started from (-Infinity when empty). */
    readonly tableLatest: number,
    /** How many later events it holds. */
    readonly laterEvents: number,
  ) {}

  /**
   * The entity history of a built table: for each source of events (keys and value column), each
   * entity's events in time order (ties in row order, as training saw them).
   *
   * @param columns the table's columns by name: keys, value columns (the target included) and the
   *   time column as epoch milliseconds
   * @throws Error when a column is missing or cannot be read as history reads it
   */
  static fromColumns(
    requests: readonly HistoryColumnRequest[],
    columns: ReadonlyMap<string, Column>,
    rowCount: number,
    timeColumn: string,
    target: string,
  ): EntityHistory {
    const column = (name: string): Column => {
      const found = columns.get(name);
      if (!found) throw new Error(`the entity history needs the column "${name}", which the table lacks`);
      return found;
    };
    const timeValues = historyValuesOf(column(timeColumn));
    if (!timeValues) throw new Error(`the time column "${timeColumn}" is not numeric`);
    const events = new Map<string, Map<string, EntityEvents>>();
    for (const request of requests) {
      const id = sourceId(request);
      if (events.has(id)) continue;
      const keys = request.by.map(column);
      const order = orderByEntityAndTime(entityCodes(keys, rowCount), timeValues);
      let values: Float64Array | undefined;
      if (readsValues(request.definition)) {
        values = historyValuesOf(column(request.of ?? ''));
        if (!values)
          throw new Error(`the value column "${request.of ?? ''}" holds neither numbers nor true/false`);
      }
      const byEntity = new Map<string, EntityEvents>();
      for (let g = 0; g + 1 < order.starts.length; g++) {
        const rows = order.rows.subarray(order.starts[g], order.starts[g + 1]);
        if (rows.length === 0) continue;
        const first = rows[0] as number;
        const id = entityId(keys.map((key) => cellLabel(key, first)));
        if (id === undefined) continue;
        byEntity.set(id, collectEvents(rows, timeValues, values, emptyEvents(rows.length)));
      }
      events.set(id, byEntity);
    }
    let latest = -Infinity;
    for (const t of timeValues) if (t > latest) latest = t;
    return new EntityHistory(requests, timeColumn, target, events, latest, 0);
  }

  /**
   * This history with the events that came after its table's latest time added (earlier ones are
   * already in the table, or were left out of it, and are not counted again). Returns a new
   * history; this one is unchanged, so requests scoring with it are not disturbed.
   */
  withLaterEvents(later: readonly LaterEvent[]): EntityHistory {
    const kept = later
      .map((event, index) => ({ event, index, time: numberOf(event.inputs[this.timeColumn]) }))
      .filter(({ time }) => time > this.tableLatest)
      .sort((a, b) => a.time - b.time || a.index - b.index);
    const events = new Map<string, ReadonlyMap<string, EntityEvents>>();
    for (const request of this.requests) {
      const id = sourceId(request);
      if (events.has(id)) continue;
      const base = this.events.get(id) ?? new Map<string, EntityEvents>();
      const added = new Map<string, { time: number; value: number }[]>();
      for (const { event, time } of kept) {
        const entity = entityId(request.by.map((key) => keyLabelOf(event.inputs[key])));
        if (entity === undefined) continue;
        const value = !readsValues(request.definition)
          ? 0
          : request.of === this.target
            ? actualOf(event.actual)
            : numberOf(event.inputs[request.of ?? '']);
        if (value !== value) continue;
        let list = added.get(entity);
        if (!list) added.set(entity, (list = []));
        list.push({ time, value });
      }
      if (added.size === 0) {
        events.set(id, base);
        continue;
      }
      const merged = new Map(base);
      for (const [entity, list] of added) {
        const before = base.get(entity) ?? NO_EVENTS;
        const all = emptyEvents(before.count + list.length);
        all.time.set(before.time.subarray(0, before.count));
        all.value.set(before.value.subarray(0, before.count));
        all.prefix.set(before.prefix.subarray(0, before.count + 1));
        list.forEach(({ time, value }, i) => {
          const at = before.count + i;
          all.time[at] = time;
          all.value[at] = value;
          all.prefix[at + 1] = (all.prefix[at] as number) + value;
        });
        all.count = before.count + list.length;
        merged.set(entity, all);
      }
      events.set(id, merged);
    }
    return new EntityHistory(
      this.requests,
      this.timeColumn,
      this.target,
      events,
      this.tableLatest,
      kept.length,
    );
  }

  /**
   * The history features of request rows, one column per feature in definition order: each row
   * reads its entity's events before its own time (its `timeColumn` cell, epoch milliseconds);
   * NaN for a row without a time or a key, or an entity with no event before it.
   */
  valuesFor(rows: readonly Readonly<Record<string, unknown>>[]): NumericColumn[] {
    const time = Float64Array.from(rows, (row) => numberOf(row[this.timeColumn]));
    return this.requests.map((request) => {
      const out = new Float64Array(rows.length).fill(NaN);
      const byEntity = this.events.get(sourceId(request));
      const groups = new Map<string, number[]>();
      rows.forEach((row, index) => {
        const t = time[index] as number;
        if (t !== t) return;
        const id = entityId(request.by.map((key) => keyLabelOf(row[key])));
        if (id === undefined) return;
        let group = groups.get(id);
        if (!group) groups.set(id, (group = []));
        group.push(index);
      });
      for (const [id, group] of groups) {
        const events = byEntity?.get(id) ?? NO_EVENTS;
        const ordered = Int32Array.from(group).sort(
          (a, b) => (time[a] as number) - (time[b] as number) || a - b,
        );
        historyOfRows(
          ordered,
          time,
          events,
          request.definition,
          { deque: new Int32Array(events.count) },
          out,
        );
      }
      return { kind: 'numeric', name: request.name, values: out };
    });
  }
}

/** A table cell of a key column as its entity label. */
function cellLabel(column: Column, row: number): string | null {
  if (column.kind === 'categorical') {
    const code = column.codes[row] as number;
    return code < 0 ? null : (column.dictionary[code] ?? null);
  }
  return keyLabelOf(column.values[row]);
}
