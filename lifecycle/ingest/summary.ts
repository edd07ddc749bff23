/**
 * What a snapshot record says about its columns: role, kind, PostgreSQL type, the categories seen,
 * and statistics per column. Small plain JSON, so it can travel in a Temporal payload and be compared
 * with the previous snapshot without reading either file.
 */
import { computeStatistics, compareText, type DatasetStatistics } from '../../ml/statistics';
import { MISSING_CODE, type Table } from '../../ml/table';
import type { FieldDescription } from './arrow';

/** Categories listed by count in the statistics; the rest are summed as "other". */
export const LISTED_CATEGORIES = 50;
/**
 * Most categories a record keeps as a column's full list. Beyond it (identifiers, free text) every
 * snapshot would bring "new" categories, so the list is left out (null) and not compared.
 */
export const MAX_CATEGORY_LIST = 1000;

/** One column of a snapshot record. */
export interface SnapshotColumn extends FieldDescription {
  /**
   * Categorical columns only: every category present, sorted by code unit; null when there are more
   * than `MAX_CATEGORY_LIST`.
   */
  categories?: string[] | null;
}

/**
 * The record's description of each column and the statistics of all of them (numbers: count,
 * missing, mean, std, min, max, quantiles, histogram; categories: the 50 most frequent and "other").
 *
 * @param fields one description per column of `table`, same order
 */
export function summarizeColumns(
  table: Table,
  fields: readonly FieldDescription[],
): { columns: SnapshotColumn[]; statistics: DatasetStatistics } {
  const columns = fields.map((field): SnapshotColumn => {
    const column = table.column(field.name);
    if (column.kind !== 'categorical') return { ...field };
    const used = new Uint8Array(column.dictionary.length);
    for (const code of column.codes) if (code !== MISSING_CODE) used[code] = 1;
    const present = column.dictionary.filter((_, code) => used[code] === 1);
    return {
      ...field,
      categories: present.length > MAX_CATEGORY_LIST ? null : present.sort(compareText),
    };
  });
  return { columns, statistics: computeStatistics(table, { maxCategories: LISTED_CATEGORIES }) };
}
