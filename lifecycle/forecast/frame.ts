/**
 * From a table of order rows to one dense series per key: the target summed per (series, period),
 * 0 where a series has no row in a period. Every later step (features, fit, backtest, monitoring)
 * reads this frame, so the bad-data checks live here once.
 */
import { MISSING_CODE, type Table } from '../../ml/table';
import { ForecastError } from './errors';
import { type ForecastSettings, minimumPeriods, periodMs, periodStartOf } from './settings';

/** The columns of the order table that make the series. */
export interface SeriesColumns {
  /** Numeric column of epoch milliseconds (timestamps and dates arrive that way). */
  timeColumn: string;
  /** Numeric, non-negative column summed per period (e.g. 1 per order, or the order's quantity). */
  target: string;
  /** Columns whose values together name a series (e.g. material family, customer segment). */
  keyColumns: string[];
}

/** One series of the frame. */
export interface SeriesInfo {
  /** The key values joined by ' / '. */
  id: string;
  /** The key values, in `keyColumns` order. */
  key: string[];
}

/** Dense series on one period grid. */
export interface SeriesFrame {
  keyColumns: string[];
  /** Sorted by id. */
  series: SeriesInfo[];
  /** Start of the first period (epoch ms). */
  firstPeriod: number;
  /** Periods on the grid, from the first row's period to the last row's. */
  periods: number;
  /** Per series (same order as `series`), the target summed per period. */
  values: Float64Array[];
}

/** Separator of key values in a series id. */
export const KEY_SEPARATOR = ' / ';

/**
 * Builds the frame of a table's rows.
 *
 * @throws ForecastError for a missing or non-numeric target or time, a negative target, or fewer
 *   periods than the settings' backtest and season need
 */
export function frameSeries(table: Table, columns: SeriesColumns, settings: ForecastSettings): SeriesFrame {
  const { timeColumn, target, keyColumns } = columns;
  const times = numericColumn(table, timeColumn, 'the time column (epoch milliseconds)');
  const values = numericColumn(table, target, 'the target');
  const keyText = keyColumns.map((name) => keyReader(table, name));
  const step = periodMs(settings.period);
  let first = Infinity;
  let last = -Infinity;
  for (let row = 0; row < table.rowCount; row++) {
    const time = times[row] as number;
    if (!Number.isFinite(time)) {
      throw new ForecastError(
        `Column "${timeColumn}" has no time in row ${row + 1}: drop the row or fill its time`,
      );
    }
    const value = values[row] as number;
    if (Number.isNaN(value)) {
      throw new ForecastError(
        `Column "${target}" is missing in row ${row + 1}: drop the row or fill it (0 for no orders)`,
      );
    }
    if (value < 0) {
      throw new ForecastError(
        `Column "${target}" is negative (${value}) in row ${row + 1}: a forecast target counts orders or quantities, fix or drop the row`,
      );
    }
    const start = periodStartOf(time, settings.period);
    if (start < first) first = start;
    if (start > last) last = start;
  }
  const periods = table.rowCount === 0 ? 0 : Math.round((last - first) / step) + 1;
  const needed = minimumPeriods(settings);
  if (periods < needed) {
    throw new ForecastError(
      `The data spans ${periods} ${settings.period}s in column "${timeColumn}" but forecasting needs at least ${needed} ` +
        `(season ${settings.seasonLength} + validation ${settings.validationPeriods} + 2 x horizon ${settings.horizon} + ` +
        `cut-offs ${settings.origins - 1} x ${settings.originStep}): load more history or lower those settings`,
    );
  }
  const seriesOfRow = new Int32Array(table.rowCount);
  const keys = new Map<string, string[]>();
  const idOfRow: string[] = new Array<string>(table.rowCount);
  for (let row = 0; row < table.rowCount; row++) {
    const key = keyText.map((read) => read(row));
    const id = key.join(KEY_SEPARATOR);
    idOfRow[row] = id;
    if (!keys.has(id)) keys.set(id, key);
  }
  const ids = [...keys.keys()].sort();
  const indexOf = new Map(ids.map((id, index) => [id, index]));
  for (let row = 0; row < table.rowCount; row++)
    seriesOfRow[row] = indexOf.get(idOfRow[row] as string) as number;
  const dense = ids.map(() => new Float64Array(periods));
  for (let row = 0; row < table.rowCount; row++) {
    const period = Math.round((periodStartOf(times[row] as number, settings.period) - first) / step);
    const series = dense[seriesOfRow[row] as number] as Float64Array;
    series[period] = (series[period] as number) + (values[row] as number);
  }
  return {
    keyColumns: [...keyColumns],
    series: ids.map((id) => ({ id, key: keys.get(id) as string[] })),
    firstPeriod: first,
    periods,
    values: dense,
  };
}

function numericColumn(table: Table, name: string, role: string): Float64Array {
  if (!table.has(name)) {
    throw new ForecastError(
      `Column "${name}" (${role}) is not in the table; it has: ${table.columnNames.join(', ')}`,
    );
  }
  const column = table.column(name);
  if (column.kind !== 'numeric') {
    throw new ForecastError(
      `Column "${name}" (${role}) holds text, not numbers: convert it to numbers before forecasting`,
    );
  }
  return column.values;
}

/** Reads a key column's value of a row as text; a missing key is its own series, named '(missing)'. */
function keyReader(table: Table, name: string): (row: number) => string {
  if (!table.has(name)) {
    throw new ForecastError(
      `Key column "${name}" is not in the table; it has: ${table.columnNames.join(', ')}`,
    );
  }
  const column = table.column(name);
  if (column.kind === 'numeric') {
    return (row) => {
      const value = column.values[row] as number;
      return Number.isNaN(value) ? '(missing)' : String(value);
    };
  }
  return (row) => {
    const code = column.codes[row] as number;
    return code === MISSING_CODE ? '(missing)' : (column.dictionary[code] as string);
  };
}
