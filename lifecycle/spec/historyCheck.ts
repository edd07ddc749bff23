/**
 * A spec's history features against its source: a name that is already a column, a value column
 * (`of`) that holds numbers, and key columns (`by`) that hold labels.
 */
import { formatPath } from './load';
import { TARGET_REFERENCE } from './history';
import type { PipelineSpec } from './schema';
import { findColumn, type SourceColumn, type SpecIssue, typeWords } from './sourceColumns';

/**
 * Problems of a spec's history features against the source's columns, in spec order.
 *
 * @param target the spec's target column, which `of: "target"` reads
 */
export function historyFeatureIssues(
  history: NonNullable<PipelineSpec['history']>,
  target: string,
  byName: ReadonlyMap<string, SourceColumn[]>,
  columns: readonly SourceColumn[],
  where: string,
): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const add = (path: (string | number)[], message: string) =>
    issues.push({ path: formatPath(path), message });
  /** The column a field names, or undefined after adding why it cannot be used. */
  const find = (path: (string | number)[], name: string): SourceColumn | undefined => {
    const found = findColumn(name, byName, columns, where);
    if ('column' in found) return found.column;
    add(path, found.message);
    return undefined;
  };

  history.forEach((feature, index) => {
    if (byName.has(feature.name)) {
      add(
        ['history', index, 'name'],
        `"${feature.name}" is already a column of ${where}; give the history feature another name`,
      );
    }
    if (feature.of !== undefined) {
      const onTarget = feature.of === TARGET_REFERENCE || feature.of === target;
      const column = find(['history', index, 'of'], onTarget ? target : feature.of);
      if (column && column.kind !== 'number' && column.kind !== 'boolean') {
        add(
          ['history', index, 'of'],
          onTarget
            ? `the target "${column.name}" is ${typeWords(column)} in ${where}; a history of the target needs numbers or booleans: ` +
                'use it with a regression target or a true/false one, or read a numeric column instead'
            : `"${column.name}" is ${typeWords(column)} in ${where}; a history needs a number column: cast it to a number in a sql source`,
        );
      }
    }
    feature.by.forEach((key, keyIndex) => {
      const column = find(['history', index, 'by', keyIndex], key);
      const holdsLabels =
        column &&
        (column.kind === 'text' || column.kind === 'boolean' || (column.kind === 'number' && column.integer));
      if (column && !holdsLabels) {
        add(
          ['history', index, 'by', keyIndex],
          `"${column.name}" is ${typeWords(column)} in ${where}; an entity key needs text, boolean or whole numbers: ` +
            'cast or round it in a sql source',
        );
      }
    });
  });
  return issues;
}
