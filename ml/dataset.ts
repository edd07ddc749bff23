/**
 * From a table to what trainers consume: each feature as one Float64Array (numbers as they are,
 * categories as their code in the feature's category list), NaN for missing and for categories
 * the feature does not know. The same encoding serves training, prediction and the ONNX graph.
 */
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
 * Prepares a training set: features described from this table, the target as numbers or class ids.
 *
 * @throws when the target is missing in a row (name the row so the data can be fixed)
 */
export function prepareTrainingData(
  table: Table,
  options: { target: string; features: readonly string[]; task: TaskKind },
): TrainingData {
  const features = describeFeatures(table, options.features);
  const encoded = encodeFeatures(table, features);
  const column = table.column(options.target);
  const target = new Float64Array(table.rowCount);
  let classLabels: string[] | undefined;
  if (options.task === 'regression') {
    if (column.kind !== 'numeric')
      throw new Error(`Target "${options.target}" must be numeric for regression`);
    target.set(column.values);
  } else if (column.kind === 'numeric') {
    // Numeric class labels (0/1, 1/2/3) are sorted numerically so class ids follow the numbers.
    const distinct = [...new Set(Array.from(column.values).filter((value) => !Number.isNaN(value)))].sort(
      (a, b) => a - b,
    );
    classLabels = distinct.map(String);
    const id = new Map(distinct.map((value, index) => [value, index]));
    column.values.forEach((value, row) => (target[row] = id.get(value) ?? Number.NaN));
  } else {
    classLabels = [...column.dictionary].sort();
    const id = new Map(classLabels.map((label, index) => [label, index]));
    const translate = column.dictionary.map((label) => id.get(label) as number);
    column.codes.forEach(
      (code, row) => (target[row] = code === MISSING_CODE ? Number.NaN : (translate[code] as number)),
    );
  }
  const missing = target.findIndex((value) => Number.isNaN(value));
  if (missing >= 0) {
    throw new Error(
      `Target "${options.target}" is missing in row ${missing + 1}: drop or fill such rows before training`,
    );
  }
  if (classLabels && options.task === 'binary' && classLabels.length !== 2) {
    throw new Error(
      `Target "${options.target}" has ${classLabels.length} classes (${classLabels.slice(0, 5).join(', ')}); binary needs exactly 2`,
    );
  }
  return { ...encoded, task: options.task, target, ...(classLabels ? { classLabels } : {}) };
}
