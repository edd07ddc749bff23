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
  by: readonly string[];
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
export function buildHistoryColumns(
  requests: readonly HistoryColumnRequest[],
  columns: ReadonlyMap<string, Column>,
  rowCount: number,
  timeColumn: string,
): NumericColumn[] {
  const numeric = (name: string, role: string): Float64Array => {
    const column = columns.get(name);
    if (column?.kind !== 'numeric') {
      throw new Error(
        `history features need the ${role} "${name}" as a numeric column, ${column ? 'not categories' : 'which is missing'}`,
      );
    }
    return column.values;
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
