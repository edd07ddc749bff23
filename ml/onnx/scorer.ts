/**
 * Scores tables or single rows with an exported Kerf ONNX model on onnxruntime-node (CPU).
 * Everything needed to build inputs and read outputs comes from the file's `kerf.model` metadata.
 */
import { InferenceSession, Tensor } from 'onnxruntime-node';
import type { Feature } from '../model';
import { MISSING_CODE, type Column, type Table } from '../table';
import { type KerfOnnxMetadata, METADATA_KEY, PREDICTION_OUTPUT, parseMetadata } from './metadata';
import { onnx } from './protoBuilders';

/** Scores of a batch: `prediction` for regression, `probabilities` (row-major, n x K) otherwise. */
export interface OnnxScores {
  prediction?: Float64Array;
  probabilities?: Float64Array;
  classLabels?: string[];
}

/** One row of raw values by column name; null/undefined (and '' or NaN) are missing values. */
export type OnnxRow = Record<string, number | string | null | undefined>;

/** The string a missing category is passed as; the graph maps it like any unseen category. */
const MISSING_CATEGORY = '';

type InputData = Float32Array | string[];

/** An exported Kerf model loaded into an onnxruntime session. */
export class OnnxScorer {
  private released = false;

  private constructor(
    private readonly session: InferenceSession,
    /** What the model takes and returns, read from its metadata. */
    readonly metadata: KerfOnnxMetadata,
  ) {}

  /**
   * Loads an exported model.
   *
   * @param options onnxruntime session options (e.g. `intraOpNumThreads`)
   * @throws when the bytes are not a Kerf ONNX export or onnxruntime rejects the model
   */
  static async load(bytes: Uint8Array, options: InferenceSession.SessionOptions = {}): Promise<OnnxScorer> {
    const metadata = readMetadata(bytes);
    const session = await InferenceSession.create(bytes, options);
    return new OnnxScorer(session, metadata);
  }

  /** The raw features (names, kinds, categories) the model takes, in input order. */
  get features(): Feature[] {
    return this.metadata.features;
  }

  /**
   * Scores every row of `table`. Extra columns are ignored. A categorical feature may arrive as a
   * numeric column: its values are matched on their text (3 matches category "3").
   *
   * @throws when a feature's column is missing, or a numeric feature's column holds categories
   */
  async scoreTable(table: Table): Promise<OnnxScores> {
    const inputs = this.metadata.features.map((feature) => {
      if (!table.has(feature.name)) throw missingColumn(feature.name);
      return columnInput(feature, table.column(feature.name), table.rowCount);
    });
    return this.run(inputs, table.rowCount);
  }

  /**
   * Scores one row given as { column: value }. A key set to null/undefined is a missing value; an
   * absent key is an error, so a misspelt column is not silently scored as missing.
   *
   * @throws when a feature's column is absent or a numeric feature gets non-numeric text
   */
  async scoreRow(row: OnnxRow): Promise<OnnxScores> {
    const inputs = this.metadata.features.map((feature): InputData => {
      if (!Object.hasOwn(row, feature.name)) throw missingColumn(feature.name);
      const value = row[feature.name];
      return feature.kind === 'numeric'
        ? Float32Array.of(numberOf(feature.name, value))
        : [categoryText(value)];
    });
    return this.run(inputs, 1);
  }

  /** Frees the onnxruntime session; the scorer cannot be used afterwards. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.session.release();
  }

  private async run(inputs: readonly InputData[], rowCount: number): Promise<OnnxScores> {
    if (this.released) throw new Error('This OnnxScorer was released');
    const { output, classLabels } = this.metadata;
    let values: Float64Array;
    if (rowCount === 0) {
      values = new Float64Array(0);
    } else {
      const feeds: Record<string, Tensor> = {};
      this.metadata.features.forEach((feature, index) => {
        const data = inputs[index] as InputData;
        feeds[feature.name] =
          data instanceof Float32Array
            ? new Tensor('float32', data, [rowCount, 1])
            : new Tensor('string', data, [rowCount, 1]);
      });
      const results = await this.session.run(feeds, [output.name]);
      const tensor = results[output.name];
      if (
        !tensor ||
        !(tensor.data instanceof Float32Array) ||
        tensor.data.length !== rowCount * output.width
      ) {
        throw new Error(`The model did not return a float [${rowCount}, ${output.width}] "${output.name}"`);
      }
      values = Float64Array.from(tensor.data);
    }
    if (output.name === PREDICTION_OUTPUT) return { prediction: values };
    return { probabilities: values, ...(classLabels ? { classLabels: [...classLabels] } : {}) };
  }
}

/**
 * Scores every row of `table` with an exported Kerf model on onnxruntime, releasing the session
 * afterwards. Regression: the predicted values; binary: the probability of class 1; multiclass: the
 * class probabilities, rows x classes, row-major.
 *
 * @throws when the bytes are not a Kerf ONNX export or a column the model takes is missing
 */
export async function scoreOnnx(onnx: Uint8Array, table: Table): Promise<Float64Array> {
  const scorer = await OnnxScorer.load(onnx);
  try {
    const scores = await scorer.scoreTable(table);
    if (scores.prediction) return scores.prediction;
    const probabilities = scores.probabilities ?? new Float64Array(0);
    if (scorer.metadata.task !== 'binary') return probabilities;
    // [P(class 0), P(class 1)] per row: keep class 1, the metrics' convention.
    return Float64Array.from(
      { length: probabilities.length / 2 },
      (_, row) => probabilities[row * 2 + 1] as number,
    );
  } finally {
    await scorer.release();
  }
}

/** Parses the `kerf.model` metadata out of an ONNX file. */
export function readMetadata(bytes: Uint8Array): KerfOnnxMetadata {
  let proto: InstanceType<typeof onnx.ModelProto>;
  try {
    proto = onnx.ModelProto.decode(bytes);
  } catch (error) {
    throw new Error(`Not an ONNX model: ${String(error)}`);
  }
  const entry = proto.metadataProps.find((prop) => prop.key === METADATA_KEY);
  if (!entry?.value) throw new Error(`Not a Kerf ONNX export: no "${METADATA_KEY}" metadata`);
  return parseMetadata(entry.value);
}

function missingColumn(name: string): Error {
  return new Error(`Missing input column "${name}" for the ONNX model`);
}

function columnInput(feature: Feature, column: Column, rowCount: number): InputData {
  if (feature.kind === 'numeric') {
    if (column.kind !== 'numeric') {
      throw new Error(`Feature "${feature.name}" is numeric but the table's column holds categories`);
    }
    // Float32Array.from rounds like Math.fround and keeps NaN, matching the trees' float32 splits.
    return Float32Array.from(column.values);
  }
  const labels = new Array<string>(rowCount);
  if (column.kind === 'numeric') {
    for (let row = 0; row < rowCount; row++) labels[row] = categoryText(column.values[row]);
  } else {
    for (let row = 0; row < rowCount; row++) {
      const code = column.codes[row] as number;
      labels[row] = code === MISSING_CODE ? MISSING_CATEGORY : (column.dictionary[code] ?? MISSING_CATEGORY);
    }
  }
  return labels;
}

/** A raw value as category text: numbers by their text, missing values as the missing marker. */
function categoryText(value: number | string | null | undefined): string {
  if (value === null || value === undefined) return MISSING_CATEGORY;
  if (typeof value === 'number') return Number.isNaN(value) ? MISSING_CATEGORY : String(value);
  return value;
}

function numberOf(name: string, value: number | string | null | undefined): number {
  if (value === null || value === undefined) return Number.NaN;
  if (typeof value === 'number') return value;
  // Text from forms or CSV cells: blank is missing, anything else must parse as a number.
  if (value.trim() === '') return Number.NaN;
  const parsed = Number(value);
  if (Number.isNaN(parsed)) throw new Error(`Column "${name}" is numeric but got "${value}"`);
  return parsed;
}
