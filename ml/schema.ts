/**
 * The schema a training set implies (like TFX SchemaGen): which columns exist, their kind, the value
 * ranges and categories seen, and how often values were missing. New batches are validated against
 * it (validate.ts) before scoring or retraining. Plain JSON, so it can be stored and reviewed.
 */
import { computeStatistics, compareText, type DatasetStatistics } from './statistics';
import { MISSING_CODE, type CategoricalColumn, type ColumnKind, type Table } from './table';

interface ColumnSchemaBase {
  name: string;
  kind: ColumnKind;
  /** The column must be present in every batch. */
  required: boolean;
  /** Share of rows missing in the training data, 0..1. */
  missingRate: number;
}

export interface NumericColumnSchema extends ColumnSchemaBase {
  kind: 'numeric';
  /** Smallest and largest finite value seen; null when the column had none. */
  min: number | null;
  max: number | null;
  /** Where most values lie: the 1st and 99th percentiles of training. */
  expectedRange: { low: number; high: number } | null;
}

export interface CategoricalColumnSchema extends ColumnSchemaBase {
  kind: 'categorical';
  /**
   * The categories seen, sorted. Null when there were more than `maxDomainSize` (identifiers,
   * timestamps): every new batch would bring "unseen" values, so the domain is not checked.
   */
  domain: string[] | null;
}

export type ColumnSchema = NumericColumnSchema | CategoricalColumnSchema;

export interface DatasetSchema {
  /** Rows of the data the schema was inferred from. */
  rowCount: number;
  columns: ColumnSchema[];
}

export interface SchemaOptions {
  /** Largest number of categories kept as a domain (default 1000). */
  maxDomainSize?: number;
}

/**
 * Infers a schema from training data. Pass the statistics when already computed to save a pass;
 * they must come from this same table.
 */
export function inferSchema(
  table: Table,
  statistics?: DatasetStatistics,
  options: SchemaOptions = {},
): DatasetSchema {
  const { maxDomainSize = 1000 } = options;
  const stats = statistics ?? computeStatistics(table);
  if (stats.rowCount !== table.rowCount) {
    throw new Error(
      `The statistics describe ${stats.rowCount} rows but the table has ${table.rowCount}; compute them from this table`,
    );
  }
  const byName = new Map(stats.columns.map((column) => [column.name, column]));
  const rate = (missing: number): number => (table.rowCount === 0 ? 0 : missing / table.rowCount);
  const columns = table.columns.map((column): ColumnSchema => {
    const columnStats = byName.get(column.name);
    if (columnStats?.kind !== column.kind) {
      throw new Error(
        `The statistics have no ${column.kind} column "${column.name}"; compute them from this table`,
      );
    }
    if (columnStats.kind === 'numeric') {
      const { quantiles } = columnStats;
      return {
        name: column.name,
        kind: 'numeric',
        required: true,
        missingRate: rate(columnStats.missing),
        min: columnStats.min,
        max: columnStats.max,
        expectedRange: quantiles ? { low: quantiles.p01, high: quantiles.p99 } : null,
      };
    }
    return categoricalSchema(table.categorical(column.name), rate, maxDomainSize);
  });
  return { rowCount: table.rowCount, columns };
}

function categoricalSchema(
  column: CategoricalColumn,
  rate: (missing: number) => number,
  maxDomainSize: number,
): CategoricalColumnSchema {
  // From the codes, not the statistics: those list only the most frequent categories.
  const used = new Uint8Array(column.dictionary.length);
  let missing = 0;
  for (const code of column.codes) {
    if (code === MISSING_CODE) missing++;
    else used[code] = 1;
  }
  const labels = column.dictionary.filter((_, code) => used[code] === 1);
  return {
    name: column.name,
    kind: 'categorical',
    required: true,
    missingRate: rate(missing),
    domain: labels.length > maxDomainSize ? null : labels.sort(compareText),
  };
}
