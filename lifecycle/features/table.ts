/**
 * The features stage as a plain function: a snapshot in, the same rows with the spec's derived
 * features added as numeric feature columns out, ready to be written as a snapshot-format Arrow file
 * (`features/<pipeline>/<sha256>.arrow`) that every later stage reads instead of the snapshot.
 */
import { type Column, Table } from '../../ml/table';
import type { FieldDescription, LoadedSnapshot } from '../ingest';
import type { ColumnType, DerivedFeature } from './expression';
import {
  applyFeatureBuild,
  compileFeatureBuild,
  type CompiledFeatureBuild,
  featureBuildDefinition,
  type FeatureBuildDefinition,
  FeatureBuildError,
} from './build';

/** How an expression reads a snapshot column: by the kind it was stored as (booleans as their text). */
export function columnTypeOf(field: FieldDescription): ColumnType {
  if (field.kind === 'timestamp') return 'time';
  if (field.kind === 'numeric') return 'number';
  return field.pgType === 'boolean' ? 'boolean' : 'category';
}

/**
 * The feature build of `derived` over a table with these fields: each input's type read from its
 * field. Columns named like a derived feature (a built table's own) are not inputs.
 */
export function featureBuildDefinitionOf(
  derived: readonly DerivedFeature[],
  fields: readonly FieldDescription[],
): FeatureBuildDefinition {
  const own = new Set(derived.map((feature) => feature.name));
  const fieldOf = new Map(fields.filter((field) => !own.has(field.name)).map((field) => [field.name, field]));
  return featureBuildDefinition(derived, (name) => {
    const field = fieldOf.get(name);
    return field && columnTypeOf(field);
  });
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
export function buildFeatureTable(
  loaded: LoadedSnapshot,
  derived: readonly DerivedFeature[],
): BuiltFeatureTable {
  const names = new Set(loaded.columns.map((field) => field.name));
  const build = compileFeatureBuild(featureBuildDefinitionOf(derived, loaded.columns));
  derived.forEach((feature, index) => {
    if (names.has(feature.name)) {
      throw new FeatureBuildError(
        `derived[${index}].name: "${feature.name}" is already a column of the snapshot; give the derived feature another name`,
      );
    }
  });
  const time = loaded.time;
  // The time column is left out of a snapshot's table unless it is a feature; expressions may read it.
  const timeColumn: Column[] =
    time && !loaded.table.has(time.name) ? [{ kind: 'numeric', name: time.name, values: time.values }] : [];
  const sourceColumns = new Map<string, Column>(
    [...loaded.table.columns, ...timeColumn].map((column) => [column.name, column]),
  );
  const built = applyFeatureBuild(build, sourceColumns, loaded.table.rowCount);
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
