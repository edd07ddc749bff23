/**
 * A spec's derived features against its source: a name that is already a column, and each
 * expression checked with the columns' types (`lifecycle/features/expression/`).
 */
import { checkDerivedFeatures, type ColumnType, type NameMeaning } from '../features/expression';
import { formatPath } from './load';
import type { PipelineSpec } from './schema';
import {
  type SourceColumn,
  type SourceValueKind,
  type SpecIssue,
  typeWords,
  unknownColumn,
} from './sourceColumns';

/** What an expression may do with a column of each kind; `other` columns it cannot read. */
const EXPRESSION_TYPES: Record<SourceValueKind, ColumnType | undefined> = {
  number: 'number',
  boolean: 'boolean',
  text: 'category',
  time: 'time',
  other: undefined,
};

/**
 * Problems of a spec's derived features against the source: a name that is already a column, and
 * each expression checked with the columns' types (unknown columns, wrong types).
 */
export function derivedFeatureIssues(
  derived: NonNullable<PipelineSpec['derived']>,
  byName: ReadonlyMap<string, SourceColumn[]>,
  columns: readonly SourceColumn[],
  where: string,
): SpecIssue[] {
  const issues: (SpecIssue & { index: number })[] = [];
  derived.forEach((feature, index) => {
    if (byName.has(feature.name)) {
      issues.push({
        index,
        path: formatPath(['derived', index, 'name']),
        message: `"${feature.name}" is already a column of ${where}; give the derived feature another name`,
      });
    }
  });
  const meaning = (name: string): NameMeaning => {
    const found = byName.get(name) ?? [];
    if (found.length > 1) {
      return {
        kind: 'unknown',
        problem: `"${name}" names ${found.length} columns of ${where}`,
        advice: 'give each its own name (AS ...) in the query',
      };
    }
    const column = found[0];
    if (!column) {
      const { problem, advice } = unknownColumn(name, columns, where);
      return { kind: 'unknown', problem, advice: advice.replace(/^[;\s]+/, '') };
    }
    const type = EXPRESSION_TYPES[column.kind];
    if (type === undefined) {
      return {
        kind: 'unknown',
        problem: `"${name}" is ${typeWords(column)} in ${where}, which expressions cannot read`,
        advice: 'cast it to a number, text or timestamp in a sql source',
      };
    }
    return { kind: 'column', type };
  };
  for (const problem of checkDerivedFeatures(derived, meaning).problems) {
    issues.push({
      index: problem.index,
      path: formatPath(['derived', problem.index, problem.field]),
      message: problem.message,
    });
  }
  // In spec order, a feature's name before its expression.
  return issues.sort((a, b) => a.index - b.index).map(({ path, message }) => ({ path, message }));
}
