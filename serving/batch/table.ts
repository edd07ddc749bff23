/**
 * A batch of staged rows as the table a version scores, and its scores as the predictions a result
 * table holds: the columnar twin of serving's `scoringTable` and `predictionOf`, so a row scored in
 * a batch gets the very number (or label and probabilities) the API answers for it. Taught category
 * mappings are applied as serving applies them, derived features are computed by the code that
 * built the training table, and a category the model never saw is scored as a missing value.
 */
import { applyFeatureBuild } from '../../lifecycle/features/build';
import type { Feature } from '../../ml/model';
import type { OnnxScorer, OnnxScores } from '../../ml/onnx';
import { type CategoricalColumn, type Column, MISSING_CODE, Table } from '../../ml/table';
import type { CategoryMappings } from '../contract';
import type { LoadedVersion } from '../loadVersion';
import type { DecodedRows } from './copyReader';
import type { ScoredPredictions } from './copyWriter';

/**
 * What scoring a batch needs of a version: how a request becomes its inputs, its class labels, and a
 * scorer (the version's `OnnxScorer`, or a `ThreadScorer` on the same verified bytes).
 */
export type BatchVersion = Pick<LoadedVersion, 'features' | 'featureBuild' | 'classLabels'> & {
  scorer: Pick<OnnxScorer, 'metadata' | 'scoreTable'>;
};

/** A batch ready to score, with the rows whose category the model never saw, per column. */
export interface BatchTable {
  table: Table;
  /** Rows scored with a category the model never saw (mapped or as a missing value), by column. */
  unseen: Record<string, number>;
}

/**
 * A categorical column with the taught mappings applied to its dictionary: an unseen category with a
 * mapping to a category the model knows is scored as that one, as serving does.
 */
function mappedColumn(
  column: CategoricalColumn,
  feature: Extract<Feature, { kind: 'categorical' }>,
  taught: ReadonlyMap<string, string> | undefined,
  unseen: Record<string, number>,
): CategoricalColumn {
  const known = new Set(feature.categories);
  const unseenCodes = new Set<number>();
  const dictionary = column.dictionary.map((label, code) => {
    if (known.has(label)) return label;
    unseenCodes.add(code);
    const target = taught?.get(label);
    return target !== undefined && known.has(target) ? target : label;
  });
  if (unseenCodes.size > 0) {
    let count = 0;
    for (const code of column.codes) if (code !== MISSING_CODE && unseenCodes.has(code)) count++;
    if (count > 0) unseen[feature.name] = (unseen[feature.name] ?? 0) + count;
  }
  return { ...column, dictionary };
}

/**
 * The table a version scores from a batch: its source features (category mappings applied) and, for
 * a version with derived features, those computed from the batch's raw inputs (before any mapping,
 * as training read them).
 *
 * @param rows a batch whose columns are the version's request features, by name
 */
export function batchTable(
  version: Pick<BatchVersion, 'features' | 'featureBuild'>,
  rows: Pick<DecodedRows, 'rowCount' | 'numbers' | 'texts'>,
  mappings: CategoryMappings | undefined,
): BatchTable {
  const byName = new Map<string, Column>();
  for (const column of [...rows.numbers, ...rows.texts]) byName.set(column.name, column);
  const build = version.featureBuild;
  const sourceFeatures = build ? build.sourceFeatures : version.features;
  const unseen: Record<string, number> = {};
  const columns: Column[] = sourceFeatures.map((feature) => {
    const column = byName.get(feature.name);
    if (!column) throw new Error(`the batch has no column ${feature.name}, which the version takes`);
    if (feature.kind === 'numeric' || column.kind === 'numeric') return column;
    return mappedColumn(column, feature, mappings?.get(feature.name), unseen);
  });
  if (build) columns.push(...applyFeatureBuild(build.build, byName, rows.rowCount));
  return { table: new Table(columns), unseen };
}

/**
 * A batch's scores as result-table predictions: a regression's values, or each row's most probable
 * class (the first of equal probabilities, as serving picks it) with every class's probability.
 */
export function batchPredictions(
  scores: OnnxScores,
  rowCount: number,
  shape: { width: number; classLabels?: readonly string[] },
): ScoredPredictions {
  if (scores.prediction) return { kind: 'value', values: scores.prediction };
  const { width } = shape;
  const probabilities = scores.probabilities ?? new Float64Array(rowCount * width).fill(Number.NaN);
  // A model exported without class labels names its classes by their index.
  const labels = Array.from({ length: width }, (_, k) => shape.classLabels?.[k] ?? String(k));
  const best = new Int32Array(rowCount);
  for (let row = 0; row < rowCount; row++) {
    let top = 0;
    for (let k = 1; k < width; k++) {
      if ((probabilities[row * width + k] as number) > (probabilities[row * width + top] as number)) top = k;
    }
    best[row] = top;
  }
  return {
    kind: 'label',
    classLabels: labels.map((label) => Buffer.from(label, 'utf8')),
    best,
    probabilities,
  };
}
