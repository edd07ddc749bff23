/**
 * The features stage as a plain function: a snapshot in, the same rows with the spec's derived
 * features added as numeric feature columns out, ready to be written as a snapshot-format Arrow file
 * (`features/<pipeline>/<sha256>.arrow`) that every later stage reads instead of the snapshot.
 */
import { type Column, Table } from '../../ml/table';
import type { FieldDescription, LoadedSnapshot } from '../ingest';
import type { ColumnType, DerivedFeature } from './expression';
import { buildHistoryColumns } from './history';
import {
  applyFeatureBuild,
  builtFeatureNames,
  compileFeatureBuild,
  type CompiledFeatureBuild,
  featureBuildDefinition,
  type FeatureBuildDefinition,
  FeatureBuildError,
  type FeatureBuildHistory,
} from './build';

/** What the features stage builds: the spec's derived features, and its history features if any. */
export interface FeatureBuildRequest {
  derived: readonly DerivedFeature[];
  history?: FeatureBuildHistory | undefined;
}

/** How an expression reads a snapshot column: by the kind it was stored as (booleans as their text). */
export function columnTypeOf(field: FieldDescription): ColumnType {
  if (field.kind === 'timestamp') return 'time';
  if (field.kind === 'numeric') return 'number';
  return field.pgType === 'boolean' ? 'boolean' : 'category';
}

/**
 * The feature build of `request` over a table with these fields: each input's type read from its
 * field. Columns named like a built feature (a built table's own) are not inputs.
 */
export function featureBuildDefinitionOf(
  request: FeatureBuildRequest,
  fields: readonly FieldDescription[],
): FeatureBuildDefinition {
  const own = builtFeatureNames({
    derived: request.derived,
    history: request.history?.features ?? [],
  });
  const fieldOf = new Map(fields.filter((field) => !own.has(field.name)).map((field) => [field.name, field]));
  return featureBuildDefinition(
    request.derived,
    (name) => {
      const field = fieldOf.get(name);
      return field && columnTypeOf(field);
    },
    request.history,
  );
}

/** A built table: its columns and their descriptions in snapshot order, and the build it came from. */
export interface BuiltFeatureTable {
  table: Table;
  fields: FieldDescription[];
  timeColumn: string | undefined;
  build: CompiledFeatureBuild;
}

/**
 * Adds the derived features to a snapshot's rows.
 *
 * @throws FeatureBuildError naming the spec field when an expression reads a column the snapshot
 *   lacks or of a kind it cannot read, or a derived name is already a column
 */
export function buildFeatureTable(loaded: LoadedSnapshot, request: FeatureBuildRequest): BuiltFeatureTable {
  const names = new Set(loaded.columns.map((field) => field.name));
  const build = compileFeatureBuild(featureBuildDefinitionOf(request, loaded.columns));
  const history = build.definition.history;
  for (const [part, features] of [
    ['derived', request.derived],
    ['history', history?.features ?? []],
  ] as const) {
    features.forEach((feature, index) => {
      if (names.has(feature.name)) {
        throw new FeatureBuildError(
          `${part}[${index}].name: "${feature.name}" is already a column of the snapshot; give the feature another name`,
        );
      }
    });
  }
  const time = loaded.time;
  // The time column is left out of a snapshot's table unless it is a feature; expressions may read it.
  const timeColumn: Column[] =
    time && !loaded.table.has(time.name) ? [{ kind: 'numeric', name: time.name, values: time.values }] : [];
  const sourceColumns = new Map<string, Column>(
    [...loaded.table.columns, ...timeColumn].map((column) => [column.name, column]),
  );
  const built = applyFeatureBuild(build, sourceColumns, loaded.table.rowCount);
  if (history) {
    if (!time || time.name !== history.timeColumn) {
      throw new FeatureBuildError(
        `timeColumn: the history features are ordered by "${history.timeColumn}", which the snapshot does not hold as its time column; take a new snapshot`,
      );
    }
    try {
      built.push(
        ...buildHistoryColumns(history.features, sourceColumns, loaded.table.rowCount, history.timeColumn),
      );
    } catch (error) {
      throw new FeatureBuildError(`history: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const table = new Table([...loaded.table.columns, ...built, ...timeColumn]);
  const fields: FieldDescription[] = [
    ...loaded.columns.filter((field) => field.role !== 'time'),
    ...built.map((column): FieldDescription => ({
      name: column.name,
      role: 'feature',
      kind: 'numeric',
      pgType: 'double precision',
    })),
    ...loaded.columns.filter((field) => field.role === 'time'),
  ];
  return { table, fields, timeColumn: time?.name, build };
}
