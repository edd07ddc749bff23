/**
 * Serving's side of the feature build: a version whose model takes derived features is served from
 * the request's source columns, its derived features computed by the same code that built the
 * training table (`lifecycle/features/`). The manifest pins the definition by hash; serving
 * recomputes the hash and checks the expressions with this code before loading the version, so a
 * definition altered after signing, or one this code builds differently, is never served.
 */
import {
  compileFeatureBuild,
  type CompiledFeatureBuild,
  type FeatureBuildDefinition,
  featureBuildHash,
  FeatureBuildError,
} from '../lifecycle/features/build';
import { derivedColumnsFromRows, requestFeatureOf } from '../lifecycle/features/rows';
import type { ModelManifest } from '../lifecycle/manifest';
import type { Feature } from '../ml/model';
import { type NumericColumn, Table } from '../ml/table';
import type { ServedHistory } from './entityHistory';
import { type CategoryMappings, type PreparedRows, prepareRows } from './contract';
import type { RawRow } from './payload';

/** How a version's requests become its model's inputs. */
export interface ServingFeatureBuild {
  build: CompiledFeatureBuild;
  /** The model's inputs a request carries as they are (every one that is neither derived nor history). */
  sourceFeatures: Feature[];
  /**
   * What a request carries: the source features, then the columns only the expressions and the
   * history features read (the time column and the entity keys among them).
   */
  requestFeatures: Feature[];
  /** The entity history its history features read, once loaded (`loadVersion`). */
  history?: ServedHistory;
}

/** Why a version's feature build cannot be served. */
export class FeatureBuildMismatchError extends Error {
  override readonly name = 'FeatureBuildMismatchError';
}

/** The definition a manifest's `featureBuild` pins, without the hash and table beside it. */
export function pinnedDefinition(pinned: NonNullable<ModelManifest['featureBuild']>): FeatureBuildDefinition {
  return {
    version: pinned.version,
    derived: pinned.derived,
    inputs: pinned.inputs,
    ...(pinned.history ? { history: pinned.history } : {}),
  };
}

/**
 * The feature build a version's signed manifest pins, checked against this code.
 *
 * @param modelFeatures the ONNX graph's inputs (already checked against the manifest's `features`)
 * @returns undefined for a version without derived features
 * @throws FeatureBuildMismatchError when the pinned hash is not that of the pinned definition, this
 *   code builds another version of it, an expression does not check, or the model takes a derived
 *   feature the definition does not build
 */
export function servingFeatureBuild(
  manifest: Pick<ModelManifest, 'featureBuild'>,
  modelFeatures: readonly Feature[],
): ServingFeatureBuild | undefined {
  const pinned = manifest.featureBuild;
  if (!pinned) return undefined;
  const definition = pinnedDefinition(pinned);
  const sha256 = featureBuildHash(definition);
  if (sha256 !== pinned.sha256) {
    throw new FeatureBuildMismatchError(
      `its derived features hash to ${sha256}, not to the ${pinned.sha256} the manifest pins: the definition was altered, do not serve it`,
    );
  }
  let build: CompiledFeatureBuild;
  try {
    build = compileFeatureBuild(definition);
  } catch (error) {
    if (!(error instanceof FeatureBuildError)) throw error;
    throw new FeatureBuildMismatchError(
      `this code cannot compute its derived features as they were trained (${error.message}): serve it with the Kerf version that trained it, or retrain it`,
    );
  }
  const built = new Set([
    ...definition.derived.map((feature) => feature.name),
    ...(pinned.history?.features ?? []).map((feature) => feature.name),
  ]);
  const sourceFeatures = modelFeatures.filter((feature) => !built.has(feature.name));
  const taken = modelFeatures.filter((feature) => built.has(feature.name));
  const categorical = taken.find((feature) => feature.kind !== 'numeric');
  if (categorical) {
    throw new FeatureBuildMismatchError(
      `its model takes the built feature "${categorical.name}" as categories, but derived and history features are numbers`,
    );
  }
  const sourceNames = new Set(sourceFeatures.map((feature) => feature.name));
  const requestFeatures = [
    ...sourceFeatures,
    ...definition.inputs.filter((input) => !sourceNames.has(input.name)).map(requestFeatureOf),
  ];
  return { build, sourceFeatures, requestFeatures };
}

/**
 * The table a version scores from request rows: the source features prepared (taught category
 * mappings applied) and, for a version with derived features, those computed from the rows' raw
 * inputs (before any mapping, as training read them); for one with history features, those read
 * from its entity history (`history`, also logged with the rows' inputs).
 */
export function scoringTable(
  version: { features: readonly Feature[]; featureBuild?: ServingFeatureBuild | undefined },
  rows: readonly RawRow[],
  mappings: CategoryMappings | undefined,
): { prepared: PreparedRows; table: Table; history: NumericColumn[] } {
  const build = version.featureBuild;
  const prepared = prepareRows(rows, build ? build.sourceFeatures : version.features, mappings);
  if (!build) return { prepared, table: prepared.table, history: [] };
  const derived = derivedColumnsFromRows(build.build, rows);
  const history = build.build.definition.history ? historyColumnsOf(build, rows) : [];
  return { prepared, table: new Table([...prepared.table.columns, ...derived, ...history]), history };
}

/** The history features of request rows, from the version's entity history. */
function historyColumnsOf(build: ServingFeatureBuild, rows: readonly RawRow[]): NumericColumn[] {
  // loadVersion loads the history before the version serves; without it nothing can be computed.
  if (!build.history) throw new Error('the entity history of this version was never loaded');
  return build.history.current.valuesFor(rows);
}

/** A row's history feature values as logged with its inputs: numbers, null where there is no history. */
export function loggedHistory(history: readonly NumericColumn[], row: number): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const column of history) {
    const value = column.values[row] as number;
    out[column.name] = Number.isFinite(value) ? value : null;
  }
  return out;
}
