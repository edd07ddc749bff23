/**
 * The feature build as one definition shared by training and serving: a spec's derived features
 * and history features, the types of the source columns they read, and the version of this code, pinned in
 * the signed manifest by a SHA-256 of its canonical JSON. The features stage, serving and the
 * nightly check all compute derived columns through `compileFeatureBuild` and `applyFeatureBuild`
 * here, so what a model was trained on is, by construction, what it is served.
 */
import { canonicalJson, sha256Hex } from '../manifest';
import type { Column, NumericColumn } from '../../ml/table';
import {
  buildDerivedColumns,
  checkDerivedFeatures,
  type CheckedDerivedFeature,
  type ColumnType,
  type DerivedFeature,
  type NameMeaning,
} from './expression';
import type { HistoryColumnRequest } from './history';

/**
 * The version of the feature-build code. Raise it when the evaluator computes any value differently:
 * serving then refuses versions built by the old code instead of serving them skewed features.
 */
export const FEATURE_BUILD_VERSION = 'feature-build/1';

/** A source column a derived expression reads, and the type it was checked with. */
export interface FeatureBuildInput {
  name: string;
  type: ColumnType;
}

/**
 * A version's history features: what each computes (`lifecycle/features/history/`), over which
 * time column, and which column is the target (never in a request: serving reads it from the
 * entity history the version was trained on and the outcomes that arrived since).
 */
export interface FeatureBuildHistory {
  timeColumn: string;
  target: string;
  features: HistoryColumnRequest[];
}

/** What a version's built features are computed from and how: plain JSON, pinned by its hash. */
export interface FeatureBuildDefinition {
  version: string;
  /** The spec's derived features, in order. */
  derived: DerivedFeature[];
  /**
   * The source columns the expressions read (not derived ones), in order of first use, then those
   * the history features read that are not the target: the time column, key and value columns.
   */
  inputs: FeatureBuildInput[];
  /** The spec's history features; absent without any (so older definitions keep their hash). */
  history?: FeatureBuildHistory;
}

/** A definition whose expressions checked against its inputs' types, ready to evaluate. */
export interface CompiledFeatureBuild {
  definition: FeatureBuildDefinition;
  /** `featureBuildHash(definition)`. */
  sha256: string;
  checked: CheckedDerivedFeature[];
}

/** The names of a spec's history features. */
export function historyNames(spec: { history?: readonly { name: string }[] | undefined }): Set<string> {
  return new Set((spec.history ?? []).map((feature) => feature.name));
}

/** The names of every feature the features stage builds (derived and history): not read from the source. */
export function builtFeatureNames(spec: {
  derived?: readonly DerivedFeature[] | undefined;
  history?: readonly { name: string }[] | undefined;
}): Set<string> {
  return new Set([...derivedNames(spec), ...historyNames(spec)]);
}

/**
 * The source columns history features read, other than the target (served from the entity
 * history): the time column, then each feature's keys and value column, in order of first use.
 */
export function historyInputNames(history: FeatureBuildHistory | undefined): string[] {
  if (!history || history.features.length === 0) return [];
  const names = [history.timeColumn];
  for (const feature of history.features) {
    for (const name of [...feature.by, ...(feature.of === undefined ? [] : [feature.of])]) {
      if (name !== history.target && !names.includes(name)) names.push(name);
    }
  }
  return names;
}

/** A feature build that cannot be computed; the message names the spec field. Never worth retrying. */
export class FeatureBuildError extends Error {
  override readonly name = 'FeatureBuildError';
  readonly nonRetryable = true;
}

/** The SHA-256 of the definition's canonical JSON: what the manifest pins. */
export function featureBuildHash(definition: FeatureBuildDefinition): string {
  return sha256Hex(canonicalJson(definition));
}

/** The names of a spec's derived features. */
export function derivedNames(spec: { derived?: readonly DerivedFeature[] | undefined }): Set<string> {
  return new Set((spec.derived ?? []).map((feature) => feature.name));
}

/**
 * The source columns a spec's derived expressions read, in order of first use (derived names left
 * out). The spec's check already parsed every expression, so a failure here is a bug, not bad input.
 */
export function derivedInputNames(derived: readonly DerivedFeature[]): string[] {
  const { checked, problems } = checkDerivedFeatures(derived, () => ({ kind: 'deferred' }));
  const first = problems[0];
  if (first) throw new FeatureBuildError(`derived[${first.index}].${first.field}: ${first.message}`);
  const own = new Set(derived.map((feature) => feature.name));
  const names: string[] = [];
  for (const feature of checked) {
    for (const name of feature.expression.names.keys()) {
      if (!own.has(name) && !names.includes(name)) names.push(name);
    }
  }
  return names;
}

/**
 * The definition of a spec's derived features over a source whose column types `typeOf` gives.
 *
 * @throws FeatureBuildError naming `derived[i].expression` when it reads a column the table lacks
 */
export function featureBuildDefinition(
  derived: readonly DerivedFeature[],
  typeOf: (name: string) => ColumnType | undefined,
  history?: FeatureBuildHistory,
): FeatureBuildDefinition {
  const inputs = derivedInputNames(derived).map((name): FeatureBuildInput => {
    const type = typeOf(name);
    if (type === undefined) {
      const index = derived.findIndex((feature) => feature.expression.includes(name));
      throw new FeatureBuildError(
        `derived[${Math.max(index, 0)}].expression: the snapshot has no column "${name}" to read; take a new snapshot after changing the spec`,
      );
    }
    return { name, type };
  });
  const withHistory = history && history.features.length > 0 ? history : undefined;
  for (const name of historyInputNames(withHistory)) {
    if (inputs.some((input) => input.name === name)) continue;
    const type = typeOf(name);
    if (type === undefined) {
      throw new FeatureBuildError(
        `history: the snapshot has no column "${name}" to read; take a new snapshot after changing the spec`,
      );
    }
    inputs.push({ name, type });
  }
  return {
    version: FEATURE_BUILD_VERSION,
    derived: derived.map(({ name, expression }) => ({ name, expression })),
    inputs,
    ...(withHistory
      ? {
          history: {
            timeColumn: withHistory.timeColumn,
            target: withHistory.target,
            features: withHistory.features.map(({ name, of, by, definition }) => ({
              name,
              ...(of === undefined ? {} : { of }),
              by: [...by],
              definition,
            })),
          },
        }
      : {}),
  };
}

/**
 * Checks a definition's history features against its inputs: the time column an input of time or
 * number type, each key an input, each value column the target or a number input.
 *
 * @throws FeatureBuildError naming `history[i]`
 */
function checkHistory(definition: FeatureBuildDefinition): void {
  const history = definition.history;
  if (!history) return;
  const types = new Map(definition.inputs.map((input) => [input.name, input.type]));
  const timeType = types.get(history.timeColumn);
  if (timeType !== 'time' && timeType !== 'number') {
    throw new FeatureBuildError(
      `history: the time column "${history.timeColumn}" is not a time or number input of the feature build`,
    );
  }
  const seen = new Set<string>();
  history.features.forEach((feature, index) => {
    if (seen.has(feature.name) || definition.derived.some((derived) => derived.name === feature.name)) {
      throw new FeatureBuildError(`history[${index}].name: "${feature.name}" is built twice`);
    }
    seen.add(feature.name);
    if (feature.by.length === 0) throw new FeatureBuildError(`history[${index}].by: names no key column`);
    for (const key of feature.by) {
      if (!types.has(key)) {
        throw new FeatureBuildError(`history[${index}].by: "${key}" is not an input of the feature build`);
      }
    }
    if (feature.of !== undefined && feature.of !== history.target && types.get(feature.of) !== 'number') {
      throw new FeatureBuildError(
        `history[${index}].of: "${feature.of}" is neither the target nor a number input of the feature build`,
      );
    }
    if ((feature.of === undefined) !== (feature.definition.kind === 'since')) {
      throw new FeatureBuildError(`history[${index}].of: only since reads no value column`);
    }
  });
}

/**
 * Checks a definition's expressions against its inputs' types, as this code would build them.
 *
 * @throws FeatureBuildError when it was made by another version of the build code, or an
 *   expression does not check (`derived[i].expression: ...`)
 */
export function compileFeatureBuild(definition: FeatureBuildDefinition): CompiledFeatureBuild {
  if (definition.version !== FEATURE_BUILD_VERSION) {
    throw new FeatureBuildError(
      `the features were built by ${definition.version}, and this code builds ${FEATURE_BUILD_VERSION}`,
    );
  }
  const types = new Map(definition.inputs.map((input) => [input.name, input.type]));
  const meaning = (name: string): NameMeaning => {
    const type = types.get(name);
    return type === undefined
      ? { kind: 'unknown', problem: `"${name}" is not an input of the feature build` }
      : { kind: 'column', type };
  };
  const { checked, problems } = checkDerivedFeatures(definition.derived, meaning);
  const first = problems[0];
  if (first) throw new FeatureBuildError(`derived[${first.index}].${first.field}: ${first.message}`);
  checkHistory(definition);
  return { definition, sha256: featureBuildHash(definition), checked };
}

/**
 * The derived columns over a table's columns (inputs by name: numbers and times as numeric columns,
 * epoch milliseconds for times; categories and booleans as categorical ones), in definition order.
 */
export function applyFeatureBuild(
  build: CompiledFeatureBuild,
  columns: ReadonlyMap<string, Column>,
  rowCount: number,
): NumericColumn[] {
  for (const input of build.definition.inputs) {
    if (!columns.has(input.name)) {
      throw new FeatureBuildError(`the derived features read "${input.name}", which the rows do not have`);
    }
  }
  return buildDerivedColumns(build.checked, columns, rowCount);
}
