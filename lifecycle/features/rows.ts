/**
 * Derived features over rows as JSON objects (a prediction request's rows, the prediction log's
 * inputs): the inputs are read into columns the way a snapshot holds them, then computed by the same
 * `applyFeatureBuild` the features stage uses, so serving and monitoring see what training saw.
 */
import type { Feature } from '../../ml/model';
import { categoricalFromLabels, type Column, type NumericColumn } from '../../ml/table';
import { keyLabelOf } from './history';
import { applyFeatureBuild, type CompiledFeatureBuild, type FeatureBuildInput } from './build';

/** A cell as a number: JSON numbers as they are, anything else (null, text) missing. */
function numberOf(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : Number.NaN;
}

/** How a request carries an input: numbers and times (epoch milliseconds) as numbers, the rest as text. */
export function requestFeatureOf(input: FeatureBuildInput): Feature {
  return input.type === 'number' || input.type === 'time'
    ? { kind: 'numeric', name: input.name }
    : { kind: 'categorical', name: input.name, categories: [] };
}

/** The build's input columns read from rows. */
export function inputColumnsFromRows(
  build: CompiledFeatureBuild,
  rows: readonly Readonly<Record<string, unknown>>[],
): Map<string, Column> {
  const columns = new Map<string, Column>();
  for (const input of build.definition.inputs) {
    const cells = rows.map((row) => (Object.hasOwn(row, input.name) ? row[input.name] : null));
    columns.set(
      input.name,
      requestFeatureOf(input).kind === 'numeric'
        ? { kind: 'numeric', name: input.name, values: Float64Array.from(cells, numberOf) }
        : categoricalFromLabels(input.name, cells.map(keyLabelOf)),
    );
  }
  return columns;
}

/** The derived columns of rows, in definition order, NaN where missing. */
export function derivedColumnsFromRows(
  build: CompiledFeatureBuild,
  rows: readonly Readonly<Record<string, unknown>>[],
): NumericColumn[] {
  return applyFeatureBuild(build, inputColumnsFromRows(build, rows), rows.length);
}
