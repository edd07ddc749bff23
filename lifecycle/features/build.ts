/**
 * The feature build as one definition shared by training and serving: a spec's derived features,
 * the types of the source columns their expressions read, and the version of this code, pinned in
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

/** What a version's derived features are computed from and how: plain JSON, pinned by its hash. */
export interface FeatureBuildDefinition {
  version: string;
  /** The spec's derived features, in order. */
  derived: DerivedFeature[];
  /** The source columns the expressions read (not derived ones), in order of first use. */
  inputs: FeatureBuildInput[];
}

/** A definition whose expressions checked against its inputs' types, ready to evaluate. */
export interface CompiledFeatureBuild {
  definition: FeatureBuildDefinition;
  /** `featureBuildHash(definition)`. */
  sha256: string;
  checked: CheckedDerivedFeature[];
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
  return {
    version: FEATURE_BUILD_VERSION,
    derived: derived.map(({ name, expression }) => ({ name, expression })),
    inputs,
  };
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
