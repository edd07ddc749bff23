/**
 * A spec's history features over a table's columns: each set of key columns is grouped and sorted
 * once, however many features share it, and each feature is one pass over that order.
 */
import type { Column, NumericColumn } from '../../../ml/table';
import type { HistoryDefinition } from './definition';
import { historyValues } from './compute';
import { entityCodes, type EntityTimeOrder, orderByEntityAndTime } from './order';

/** One history feature to build, with its value column already resolved (the target's name for `"target"`). */
export interface HistoryColumnRequest {
  name: string;
  /** The numeric column whose earlier values are read; absent for `since`. */
  of?: string;
  /** The key columns that together name an entity. */
  by: string[];
  definition: HistoryDefinition;
}

/**
 * Computes history features over a table's columns.
 *
 * @param columns the table's columns by name; the time column numeric, as epoch milliseconds
 * @param timeColumn the spec's time column
 * @returns one numeric column per request, in order, NaN where there is no history
 * @throws Error when a named column is missing or of the wrong kind (the spec check rules that out)
 */
const DAY_MS = 86_400_000;

/** A span in the largest whole unit: 28d, 12h, 90m, 45s. */
function spanText(ms: number): string {
  for (const [unit, size] of [
    ['w', 7 * DAY_MS],
    ['d', DAY_MS],
    ['h', 3_600_000],
    ['m', 60_000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms / 1000}s`;
}

/**
 * A history feature in words for the card: `mean of cut_seconds over the 28d before the row, per
 * customer_id` (with `, 7d gap` when it leaves out the latest stretch).
 */
export function describeHistoryFeature(request: HistoryColumnRequest): string {
  const { definition } = request;
  const per = `per ${request.by.join(' + ')}`;
  const gap = definition.gapMs > 0 ? `, leaving out the last ${spanText(definition.gapMs)}` : '';
  const of = request.of ?? 'the rows';
  switch (definition.kind) {
    case 'lag':
      return `${of} of the ${definition.lag === 1 ? 'previous event' : `event ${definition.lag} back`}, ${per}${gap}`;
    case 'since':
      return `${definition.unitMs === DAY_MS ? 'days' : 'hours'} since the previous event, ${per}${gap}`;
    case 'rolling': {
      const window =
        definition.window.kind === 'events'
          ? `the last ${definition.window.count} events`
          : `the ${spanText(definition.window.ms)} before the row`;
      return `${definition.stat} of ${of} over ${window}, ${per}${gap}`;
    }
  }
}

/**
 * A column's values as history reads them: numbers as they are, a true/false label column (a
 * binary target) as 1/0; undefined for any other categories.
 */
export function historyValuesOf(column: Column): Float64Array | undefined {
  if (column.kind === 'numeric') return column.values;
  const meaning = column.dictionary.map((label) =>
    label === 'true' ? 1 : label === 'false' ? 0 : undefined,
  );
  if (meaning.some((value) => value === undefined)) return undefined;
  return Float64Array.from(column.codes, (code) => (code < 0 ? NaN : (meaning[code] as number)));
}

export function buildHistoryColumns(
  requests: readonly HistoryColumnRequest[],
  columns: ReadonlyMap<string, Column>,
  rowCount: number,
  timeColumn: string,
): NumericColumn[] {
  const numeric = (name: string, role: string): Float64Array => {
    const column = columns.get(name);
    const values = column && historyValuesOf(column);
    if (!values) {
      throw new Error(
        `history features need the ${role} "${name}" as ${role === 'value column' ? 'numbers or true/false' : 'numbers'}, ${column ? 'not categories' : 'which is missing'}`,
      );
    }
    return values;
  };
  const time = numeric(timeColumn, 'time column');
  const orders = new Map<string, EntityTimeOrder>();
  return requests.map((request) => {
    // JSON of the key list: a name may hold any character but cannot make two lists collide.
    const keysId = JSON.stringify(request.by);
    let order = orders.get(keysId);
    if (!order) {
      const keys = request.by.map((name) => {
        const key = columns.get(name);
        if (!key) throw new Error(`history features need the key column "${name}", which is missing`);
        return key;
      });
      order = orderByEntityAndTime(entityCodes(keys, rowCount), time);
      orders.set(keysId, order);
    }
    const values = request.of === undefined ? undefined : numeric(request.of, 'value column');
    return {
      kind: 'numeric',
      name: request.name,
      values: historyValues(order, time, values, request.definition),
    };
  });
}
