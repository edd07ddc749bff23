/**
 * The input tensors of an exported Kerf model, built from Kerf's columns: a numeric feature becomes
 * float32 [N, 1] in one bulk conversion; a categorical one becomes float32 category codes [N, 1]
 * when the scorer lifted its encoder out of the graph (`categoryCodes.ts`), or text [N, 1]
 * otherwise, in one pass over the column's dictionary codes, each row taking its code or label from a
 * table made once per column. No object is made per row.
 */
import { Tensor } from 'onnxruntime-node';
import type { Feature } from '../model';
import { MISSING_CODE, type Column, type Table } from '../table';
import { type CategoryCodeInput, codeOf } from './categoryCodes';

/** The string a missing category is passed as; the graph maps it like any unseen category. */
export const MISSING_CATEGORY = '';

/** A feature's tensor data: float32 for numbers, text for categories. */
export type InputData = Float32Array | string[];

const NO_CODES: ReadonlyMap<string, CategoryCodeInput> = new Map();

/**
 * The graph inputs for every row of `table`, keyed by graph input name: the feature's name, or for a
 * feature in `categoryCodes` the input that takes its codes.
 *
 * @throws when a feature's column is missing, or a numeric feature's column holds categories
 */
export function tableFeeds(
  features: readonly Feature[],
  table: Table,
  categoryCodes: ReadonlyMap<string, CategoryCodeInput> = NO_CODES,
): Record<string, Tensor> {
  const feeds: Record<string, Tensor> = {};
  for (const feature of features) {
    if (!table.has(feature.name)) throw missingColumn(feature.name);
    const column = table.column(feature.name);
    const codes = feature.kind === 'categorical' ? categoryCodes.get(feature.name) : undefined;
    if (codes) feeds[codes.input] = inputTensor(columnCodes(codes, column), table.rowCount);
    else feeds[feature.name] = inputTensor(columnInput(feature, column), table.rowCount);
  }
  return feeds;
}

/**
 * A categorical feature's column as the codes its encoder would give the column's labels
 * (`columnInput`'s texts): each dictionary entry or distinct number is looked up once.
 */
export function columnCodes(input: CategoryCodeInput, column: Column): Float32Array {
  const codes = new Float32Array(column.kind === 'numeric' ? column.values.length : column.codes.length);
  if (column.kind === 'numeric') {
    const codeOfValue = new Map<number, number>();
    for (let row = 0; row < codes.length; row++) {
      const value = column.values[row] as number;
      let code = codeOfValue.get(value);
      if (code === undefined) {
        code = codeOf(input, categoryText(value));
        codeOfValue.set(value, code);
      }
      codes[row] = code;
    }
    return codes;
  }
  const { dictionary } = column;
  const missing = codeOf(input, MISSING_CATEGORY);
  // Entry k of the table is dictionary code k; codes past the dictionary are missing, like labels.
  const table = Float32Array.from(dictionary, (label) => codeOf(input, label));
  for (let row = 0; row < codes.length; row++) {
    const code = column.codes[row] as number;
    codes[row] = code >= 0 && code < table.length ? (table[code] as number) : missing;
  }
  return codes;
}

/** `data` as the [rows, 1] tensor the graph takes. */
export function inputTensor(data: InputData, rows: number): Tensor {
  return data instanceof Float32Array
    ? new Tensor('float32', data, [rows, 1])
    : new Tensor('string', data, [rows, 1]);
}

/**
 * A column as a feature's tensor data. A categorical feature may arrive as a numeric column: its
 * values are matched on their text (3 matches category "3").
 *
 * @throws when a numeric feature's column holds categories
 */
export function columnInput(feature: Feature, column: Column): InputData {
  if (feature.kind === 'numeric') {
    if (column.kind !== 'numeric') {
      throw new Error(`Feature "${feature.name}" is numeric but the table's column holds categories`);
    }
    // The typed-array constructor converts in native code and rounds like Math.fround, keeping NaN,
    // which matches the trees' float32 splits.
    return new Float32Array(column.values);
  }
  return column.kind === 'numeric'
    ? numberLabels(column.values)
    : codeLabels(column.codes, column.dictionary);
}

/** Each code's label ('' for missing codes and codes past the dictionary). */
export function codeLabels(codes: Int32Array, dictionary: readonly string[]): string[] {
  // Allocated at its length and written at every index: about three times faster to fill than by
  // push (which grows and copies it), and onnxruntime-node reads it no slower.
  const labels = new Array<string>(codes.length);
  for (let row = 0; row < codes.length; row++) {
    const code = codes[row] as number;
    labels[row] = code === MISSING_CODE ? MISSING_CATEGORY : (dictionary[code] ?? MISSING_CATEGORY);
  }
  return labels;
}

/** Each number's text as a category (NaN as missing); each distinct number is formatted once. */
export function numberLabels(values: Float64Array): string[] {
  const textOf = new Map<number, string>();
  const labels = new Array<string>(values.length);
  for (let row = 0; row < values.length; row++) {
    const value = values[row] as number;
    let text = textOf.get(value);
    if (text === undefined) {
      text = categoryText(value);
      textOf.set(value, text);
    }
    labels[row] = text;
  }
  return labels;
}

/** A raw value as category text: numbers by their text, missing values as the missing marker. */
export function categoryText(value: number | string | null | undefined): string {
  if (value === null || value === undefined) return MISSING_CATEGORY;
  if (typeof value === 'number') return Number.isNaN(value) ? MISSING_CATEGORY : String(value);
  return value;
}

/** The error of a feature whose column is not there. */
export function missingColumn(name: string): Error {
  return new Error(`Missing input column "${name}" for the ONNX model`);
}
