/**
 * From a table to what trainers consume: each feature as one Float64Array (numbers as they are,
 * categories as their code in the feature's category list), NaN for missing and for categories
 * the feature does not know. The same encoding serves training, prediction and the ONNX graph.
 */
import { orderCategoriesByTarget } from './categoryOrder';
import type { Feature, TaskKind } from './model';
import { MISSING_CODE, type Table } from './table';

export interface EncodedFeatures {
  features: Feature[];
  /** One array per feature, `rowCount` long. */
  columns: Float64Array[];
  rowCount: number;
}

export interface TrainingData extends EncodedFeatures {
  task: TaskKind;
  /** Regression: the value. Classification: the class id (index into `classLabels`). */
  target: Float64Array;
  classLabels?: string[];
}

/** Describes the features of a table: numeric columns as they are, categorical ones with their categories. */
export function describeFeatures(table: Table, names: readonly string[]): Feature[] {
  return names.map((name) => {
    const column = table.column(name);
    return column.kind === 'numeric'
      ? { kind: 'numeric', name }
      : { kind: 'categorical', name, categories: [...column.dictionary] };
  });
}

/** Encodes a table's columns for the given features; unknown categories become NaN. */
export function encodeFeatures(table: Table, features: readonly Feature[]): EncodedFeatures {
  const columns = features.map((feature) => {
    const column = table.column(feature.name);
    if (feature.kind === 'numeric') {
      if (column.kind !== 'numeric') {
        throw new Error(`Feature "${feature.name}" is numeric but the table's column holds categories`);
      }
      return column.values;
    }
    const encoded = new Float64Array(table.rowCount);
    if (column.kind === 'numeric') {
      // A categorical feature can arrive as numbers (e.g. a shift number): match on the label text.
      const index = new Map(feature.categories.map((category, code) => [category, code]));
      for (let row = 0; row < table.rowCount; row++) {
        const value = column.values[row] as number;
        encoded[row] = Number.isNaN(value) ? Number.NaN : (index.get(String(value)) ?? Number.NaN);
      }
      return encoded;
    }
    const index = new Map(feature.categories.map((category, code) => [category, code]));
    const translate = column.dictionary.map((label) => index.get(label) ?? Number.NaN);
    for (let row = 0; row < table.rowCount; row++) {
      const code = column.codes[row] as number;
      encoded[row] = code === MISSING_CODE ? Number.NaN : (translate[code] as number);
    }
    return encoded;
  });
  return { features: [...features], columns, rowCount: table.rowCount };
}

/**
 * Prepares a training set: features described from this table (categories in order of their target,
 * see categoryOrder.ts), the target as numbers or class ids.
 *
 * @throws when the target is missing in a row (naming the row so the data can be fixed)
 */
export function prepareTrainingData(
  table: Table,
  options: { target: string; features: readonly string[]; task: TaskKind },
): TrainingData {
  const target = encodeTarget(table, options.target, options.task);
  const described = encodeFeatures(table, describeFeatures(table, options.features));
  return { ...orderCategoriesByTarget(described, target.target, target.task), ...target };
}

/**
 * Encodes another table (validation, test, a new batch) exactly like a training set: the same
 * features and categories, the same class ids.
 *
 * @throws when a row holds a class the training set did not have
 */
export function prepareDataLike(table: Table, reference: TrainingData, target: string): TrainingData {
  const encoded = encodeFeatures(table, reference.features);
  return { ...encoded, ...encodeTarget(table, target, reference.task, reference.classLabels) };
}

function encodeTarget(
  table: Table,
  name: string,
  task: TaskKind,
  knownLabels?: readonly string[],
): { task: TaskKind; target: Float64Array; classLabels?: string[] } {
  const column = table.column(name);
  const target = new Float64Array(table.rowCount);
  if (task === 'regression') {
    if (column.kind !== 'numeric') throw new Error(`Target "${name}" must be numeric for regression`);
    target.set(column.values);
    throwOnMissingTarget(target, name);
    return { task, target };
  }
  // Class ids follow sorted labels (numerically for numeric labels: 0/1, 1/2/3), unless given.
  const labelOf: (row: number) => string | undefined =
    column.kind === 'numeric'
      ? (row) => {
          const value = column.values[row] as number;
          return Number.isNaN(value) ? undefined : String(value);
        }
      : (row) => {
          const code = column.codes[row] as number;
          return code === MISSING_CODE ? undefined : column.dictionary[code];
        };
  let classLabels: string[];
  if (knownLabels) {
    classLabels = [...knownLabels];
  } else if (column.kind === 'numeric') {
    const distinct = new Set(Array.from(column.values).filter((value) => !Number.isNaN(value)));
    classLabels = [...distinct].sort((a, b) => a - b).map(String);
  } else {
    classLabels = [...column.dictionary].sort();
  }
  const id = new Map(classLabels.map((label, index) => [label, index]));
  for (let row = 0; row < table.rowCount; row++) {
    const label = labelOf(row);
    if (label === undefined) {
      target[row] = Number.NaN;
      continue;
    }
    const classId = id.get(label);
    if (classId === undefined) {
      throw new Error(
        `Target "${name}" holds class "${label}" in row ${row + 1}, which the training data did not have (${classLabels.join(', ')})`,
      );
    }
    target[row] = classId;
  }
  throwOnMissingTarget(target, name);
  if (task === 'binary' && classLabels.length !== 2) {
    throw new Error(
      `Target "${name}" has ${classLabels.length} classes (${classLabels.slice(0, 5).join(', ')}); binary needs exactly 2`,
    );
  }
  return { task, target, classLabels };
}

function throwOnMissingTarget(target: Float64Array, name: string): void {
  const missing = target.findIndex((value) => Number.isNaN(value));
  if (missing >= 0) {
    throw new Error(
      `Target "${name}" is missing in row ${missing + 1}: drop or fill such rows before training`,
    );
  }
}
