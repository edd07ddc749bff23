/**
 * A spec's derived features as a list: each one's expression checked in order, where a name is a
 * source column or a derived feature listed before it (so there are no cycles), and the list
 * evaluated in that order over a table's columns.
 */
import type { Column, NumericColumn } from '../../../ml/table';
import { checkExpression, type CheckedExpression, type ExpressionScope, type NameMeaning } from './check';
import { evaluateExpression } from './evaluate';
import { ExpressionError } from './error';

/** The most derived features a spec may declare: each is a pass over the data, and a spec is read by people. */
export const MAX_DERIVED_FEATURES = 64;

/** A derived feature as the spec declares it. */
export interface DerivedFeature {
  /** The new column's name, usable in later expressions and (once built) as a feature. */
  name: string;
  /** Its definition in the expression language. */
  expression: string;
}

/** A derived feature whose expression checked. */
export interface CheckedDerivedFeature {
  name: string;
  expression: CheckedExpression;
}

/** A problem of one derived feature: its index in the list and the field it is about. */
export interface DerivedFeatureProblem {
  index: number;
  field: 'name' | 'expression';
  message: string;
}

/**
 * Checks a spec's derived features in order.
 *
 * @param derived the list as the spec holds it (entries that are not `{ name, expression }`
 *   strings are skipped: the schema reports them)
 * @param sourceMeaning what a name that is no derived feature means: `deferred` before the
 *   source is known, the column's type (or why it cannot be read) against it
 * @returns the features that checked, and one problem per feature that did not
 */
export function checkDerivedFeatures(
  derived: readonly unknown[],
  sourceMeaning: (name: string) => NameMeaning,
): { checked: CheckedDerivedFeature[]; problems: DerivedFeatureProblem[] } {
  const firstIndex = new Map<string, number>();
  const problems: DerivedFeatureProblem[] = [];
  derived.forEach((feature, index) => {
    const name = nameOf(feature);
    if (name === undefined) return;
    const first = firstIndex.get(name);
    if (first === undefined) firstIndex.set(name, index);
    else
      problems.push({ index, field: 'name', message: `"${name}" is already derived at derived[${first}]` });
  });

  const checkedByName = new Map<string, CheckedExpression>();
  const checked: CheckedDerivedFeature[] = [];
  derived.forEach((feature, index) => {
    const name = nameOf(feature);
    const expression = expressionOf(feature);
    if (name === undefined || expression === undefined || firstIndex.get(name) !== index) return;
    const scope: ExpressionScope = {
      meaning(used: string): NameMeaning {
        const at = firstIndex.get(used);
        if (at === undefined) return sourceMeaning(used);
        if (at === index) {
          return {
            kind: 'unknown',
            problem: `"${used}" refers to itself`,
            advice: 'derive it from other columns',
          };
        }
        if (at > index) {
          return {
            kind: 'unknown',
            problem: `"${used}" is derived later, at derived[${at}]`,
            advice: 'list a derived feature before the ones that use it',
          };
        }
        const earlier = checkedByName.get(used);
        // An earlier feature that did not check has its own problem; do not add one here.
        return earlier ? { kind: 'derived', type: earlier.type, range: earlier.range } : { kind: 'deferred' };
      },
    };
    try {
      const result = checkExpression(expression, scope);
      checkedByName.set(name, result);
      checked.push({ name, expression: result });
    } catch (error) {
      if (!(error instanceof ExpressionError)) throw error;
      problems.push({ index, field: 'expression', message: error.message });
    }
  });
  return { checked, problems: problems.sort((a, b) => a.index - b.index) };
}

function nameOf(feature: unknown): string | undefined {
  const name = (feature as { name?: unknown } | null)?.name;
  return typeof feature === 'object' && typeof name === 'string' ? name : undefined;
}

function expressionOf(feature: unknown): string | undefined {
  const expression = (feature as { expression?: unknown } | null)?.expression;
  return typeof feature === 'object' && typeof expression === 'string' ? expression : undefined;
}

/**
 * Computes derived features over a table's columns, in order, each able to read the ones before it.
 *
 * @param features checked against the source the columns come from
 * @param columns the source's columns by name (times as epoch milliseconds)
 * @returns one numeric column per derived feature, NaN where missing
 */
export function buildDerivedColumns(
  features: readonly CheckedDerivedFeature[],
  columns: ReadonlyMap<string, Column>,
  rowCount: number,
): NumericColumn[] {
  const available = new Map(columns);
  return features.map((feature) => {
    const column: NumericColumn = {
      kind: 'numeric',
      name: feature.name,
      values: evaluateExpression(feature.expression, available, rowCount),
    };
    available.set(feature.name, column);
    return column;
  });
}
