/**
 * Which columns a snapshot reads and how: each column the spec needs (target, features, time column,
 * once each) with its role, the kind the ML core sees, PostgreSQL's type, and the SQL that hands it
 * over as a float8 or a text. Pure: the source's columns come from `checkSpecSource`.
 */
import pg from 'pg';
import type { PipelineSpec } from '../spec/schema';
import type { SourceColumn } from '../spec/sourceCheck';
import { SnapshotError } from './errors';
import { modelTaskOf } from '../spec/metrics';
import { builtFeatureNames, derivedInputNames } from '../features/build';
import { TARGET_REFERENCE } from '../spec/history';

/** The parts of a pipeline spec a snapshot reads. */
export type SnapshotSpec = Pick<
  PipelineSpec,
  'task' | 'source' | 'target' | 'features' | 'segments' | 'timeColumn'
> &
  Partial<Pick<PipelineSpec, 'derived' | 'history'>>;

/** What a column is for: the value to predict, a model input, or the order of the rows in time. */
export type SnapshotRole = 'target' | 'feature' | 'time';

/**
 * How the column is stored: numbers (Float64, NaN missing), categories (dictionary-encoded text), or
 * a date/timestamp as epoch milliseconds (a number to the ML core).
 */
export type SnapshotKind = 'numeric' | 'categorical' | 'timestamp';

/** One column of a snapshot, as planned from the spec and the source. */
export interface ColumnPlan {
  name: string;
  role: SnapshotRole;
  kind: SnapshotKind;
  /** PostgreSQL's name of the source column's type (`bigint`, `text`, `timestamp with time zone`). */
  pgType: string;
  /** SQL reading the column as float8 (numeric, timestamp) or text (categorical). */
  expression: string;
}

/** "table shop.jobs" or "the sql query", for messages. */
export function sourceLabel(source: SnapshotSpec['source']): string {
  return source.kind === 'table' ? `table ${source.table}` : 'the sql query';
}

/**
 * The snapshot's columns: the target, the features in spec order, then the time column unless it is
 * a feature already.
 *
 * @param sourceColumns the source's columns, already checked against the spec
 * @throws SnapshotError (`spec`) for a time column that is also a categorical feature
 */
export function planColumns(spec: SnapshotSpec, sourceColumns: readonly SourceColumn[]): ColumnPlan[] {
  const byName = new Map(sourceColumns.map((column) => [column.name, column]));
  const sourceColumn = (name: string): SourceColumn => {
    const column = byName.get(name);
    // checkSpecSource has named every missing column already; this is a safety net.
    if (!column) {
      throw new SnapshotError('spec', `The source has no column "${name}"; check the spec against it.`);
    }
    return column;
  };
  const plan = (name: string, role: SnapshotRole, kind: SnapshotKind): ColumnPlan => {
    const column = sourceColumn(name);
    return { name, role, kind, pgType: column.postgresType, expression: expressionFor(column, kind) };
  };

  // Classes are labels: their counts (the class balance) and new classes matter, not a mean.
  const targetKind: SnapshotKind = modelTaskOf(spec.task) === 'regression' ? 'numeric' : 'categorical';
  const plans = [plan(spec.target, 'target', targetKind)];
  // Derived and history features are built from the snapshot by the features stage, not read from the source.
  const built = builtFeatureNames(spec);
  for (const feature of spec.features) {
    if (!built.has(feature.name)) plans.push(plan(feature.name, 'feature', feature.kind));
  }
  // The columns the derived expressions and the history features read, as the source holds them
  // (booleans as their text); the target and the time column are in the snapshot anyway.
  const historyReads = (spec.history ?? []).flatMap((feature) => [
    ...feature.by,
    ...(feature.of === undefined || feature.of === TARGET_REFERENCE ? [] : [feature.of]),
  ]);
  for (const name of [...derivedInputNames(spec.derived ?? []), ...historyReads]) {
    if (name === spec.target) continue;
    if (plans.some((column) => column.name === name) || name === spec.timeColumn) continue;
    const kind = sourceColumn(name).kind;
    plans.push(
      plan(name, 'feature', kind === 'number' ? 'numeric' : kind === 'time' ? 'timestamp' : 'categorical'),
    );
  }

  const time = spec.timeColumn;
  if (time !== undefined) {
    const asFeature = plans.find((column) => column.name === time);
    if (asFeature?.kind === 'categorical') {
      throw new SnapshotError(
        'spec',
        `timeColumn "${time}" is also a categorical feature; the rows are ordered by it as a number or ` +
          'a timestamp: list it as a numeric feature, or leave it out of features.',
      );
    }
    if (!asFeature) {
      plans.push(plan(time, 'time', sourceColumn(time).kind === 'time' ? 'timestamp' : 'numeric'));
    }
  }
  return plans;
}

function expressionFor(column: SourceColumn, kind: SnapshotKind): string {
  const name = pg.escapeIdentifier(column.name);
  if (kind === 'categorical') return `(${name})::text`;
  // extract() reads a timestamp without time zone as UTC and a date as its midnight UTC, so the
  // numbers do not depend on the session's time zone.
  if (column.kind === 'time') return `(extract(epoch FROM ${name}) * 1000)::float8`;
  return `(${name})::float8`;
}

/**
 * The FROM clause of a source: a table (folded to lower case and quoted, as an unquoted name means
 * and `kerf import-csv` creates) or the query as a subquery.
 */
export function fromClause(source: SnapshotSpec['source']): string {
  if (source.kind === 'table') {
    const table = source.table
      .split('.')
      .map((part) => pg.escapeIdentifier(part.toLowerCase()))
      .join('.');
    return `${table} AS source`;
  }
  // Newlines keep a trailing "-- comment" from swallowing the parenthesis; a trailing ";" (the spec
  // allows one) would end the statement inside it.
  const query = source.query.replace(/;(?:\s|--[^\n]*(?:\n|$))*$/, '');
  return `(\n${query}\n) AS source`;
}

/**
 * The SELECT reading a snapshot's columns in a fixed order.
 *
 * With a time column the rows are ordered by it (missing times last), then by every other column:
 * rows that tie on time come out in the same order however PostgreSQL stored them, so the same
 * data always gives the same bytes and the same SHA-256. Text compares byte-wise (`COLLATE "C"`),
 * not by the database's locale. Without a time column the source's own order is kept (a table's
 * storage order, a query's ORDER BY), as the spec's ordered split expects.
 */
export function snapshotQuery(
  source: SnapshotSpec['source'],
  plans: readonly ColumnPlan[],
  timeColumn: string | undefined,
): string {
  const select = `SELECT ${plans.map((column) => column.expression).join(', ')} FROM ${fromClause(source)}`;
  const time = plans.find((column) => column.name === timeColumn);
  if (!time) return select;
  const orderKey = (column: ColumnPlan) =>
    column.kind === 'categorical'
      ? `${column.expression} COLLATE "C" ASC NULLS LAST`
      : `${column.expression} ASC NULLS LAST`;
  const rest = plans.filter((column) => column !== time);
  return `${select} ORDER BY ${[time, ...rest].map(orderKey).join(', ')}`;
}
