/**
 * Scores tables or single rows with an exported Kerf ONNX model on onnxruntime-node (CPU).
 * Everything needed to build inputs and read outputs comes from the file's `kerf.model` metadata.
 */
import { InferenceSession, type Tensor } from 'onnxruntime-node';
import type { Feature } from '../model';
import type { Table } from '../table';
import { type CategoryCodeInput, codeOf, liftCategoryEncoders } from './categoryCodes';
import { categoryText, inputTensor, missingColumn, tableFeeds } from './inputs';
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

/**
 * The session config entries Kerf scores with unless the caller sets them: onnxruntime's intra-op
 * threads block rather than spin while they wait for work. A tree ensemble's graph runs a handful of
 * small parallel steps (one per categorical input, then the trees), and between them spinning threads
 * burn the cores the next step (or another process on a shared machine) needs: on the cut-time bench,
 * two spinning threads took about twice the CPU time per row for no more rows per second. With one
 * intra-op thread (serving, batch scoring) there is no pool and this changes nothing.
 */
export const SCORING_SESSION_CONFIG: Readonly<Record<string, string>> = {
  'intra_op.allow_spinning': '0',
};

/**
 * `options` with Kerf's scoring config entries (`extra.session`, the `session.*` config keys of
 * onnxruntime) under the caller's own, which win.
 */
export function scoringSessionOptions(
  options: InferenceSession.SessionOptions = {},
): InferenceSession.SessionOptions {
  const session = options.extra?.session as Record<string, unknown> | undefined;
  return { ...options, extra: { ...options.extra, session: { ...SCORING_SESSION_CONFIG, ...session } } };
}

/**
 * An exported Kerf model loaded into an onnxruntime session. Categorical inputs are fed as their
 * category codes where the graph allows it (`liftCategoryEncoders`): the session runs the file's
 * graph from its category encoders on, and the scores are the file's.
 */
export class OnnxScorer {
  private released = false;

  private constructor(
    private readonly session: InferenceSession,
    /** What the model takes and returns, read from its metadata. */
    readonly metadata: KerfOnnxMetadata,
    /** The categorical features fed as codes, by feature name. */
    private readonly categoryCodes: ReadonlyMap<string, CategoryCodeInput>,
  ) {}

  /**
   * Loads an exported model.
   *
   * @param options onnxruntime session options (e.g. `intraOpNumThreads`), on top of
   *   `SCORING_SESSION_CONFIG` (see `scoringSessionOptions`)
   * @throws when the bytes are not a Kerf ONNX export or onnxruntime rejects the model
   */
  static async load(bytes: Uint8Array, options: InferenceSession.SessionOptions = {}): Promise<OnnxScorer> {
    const proto = decodeModel(bytes);
    const metadata = metadataOf(proto);
    const lifted = liftCategoryEncoders(proto, bytes);
    const session = await InferenceSession.create(lifted.bytes, scoringSessionOptions(options));
    return new OnnxScorer(session, metadata, lifted.inputs);
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
    return this.run(tableFeeds(this.metadata.features, table, this.categoryCodes), table.rowCount);
  }

  /**
   * Scores one row given as { column: value }. A key set to null/undefined is a missing value; an
   * absent key is an error, so a misspelt column is not silently scored as missing.
   *
   * @throws when a feature's column is absent or a numeric feature gets non-numeric text
   */
  async scoreRow(row: OnnxRow): Promise<OnnxScores> {
    const feeds: Record<string, Tensor> = {};
    for (const feature of this.metadata.features) {
      if (!Object.hasOwn(row, feature.name)) throw missingColumn(feature.name);
      const value = row[feature.name];
      const codes = this.categoryCodes.get(feature.name);
      if (feature.kind === 'numeric') {
        feeds[feature.name] = inputTensor(Float32Array.of(numberOf(feature.name, value)), 1);
      } else if (codes) {
        feeds[codes.input] = inputTensor(Float32Array.of(codeOf(codes, categoryText(value))), 1);
      } else {
        feeds[feature.name] = inputTensor([categoryText(value)], 1);
      }
    }
    return this.run(feeds, 1);
  }

  /** Frees the onnxruntime session; the scorer cannot be used afterwards. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.session.release();
  }

  private async run(feeds: Record<string, Tensor>, rowCount: number): Promise<OnnxScores> {
    if (this.released) throw new Error('This OnnxScorer was released');
    const { output, classLabels } = this.metadata;
    let values: Float64Array;
    if (rowCount === 0) {
      values = new Float64Array(0);
    } else {
      const results = await this.session.run(feeds, [output.name]);
      const tensor = results[output.name];
      if (
        !tensor ||
        !(tensor.data instanceof Float32Array) ||
        tensor.data.length !== rowCount * output.width
      ) {
        throw new Error(`The model did not return a float [${rowCount}, ${output.width}] "${output.name}"`);
      }
      // The typed-array constructor widens in native code; Float64Array.from would iterate.
      values = new Float64Array(tensor.data);
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
  return metadataOf(decodeModel(bytes));
}

function decodeModel(bytes: Uint8Array): InstanceType<typeof onnx.ModelProto> {
  try {
    return onnx.ModelProto.decode(bytes);
  } catch (error) {
    throw new Error(`Not an ONNX model: ${String(error)}`);
  }
}

function metadataOf(proto: InstanceType<typeof onnx.ModelProto>): KerfOnnxMetadata {
  const entry = proto.metadataProps.find((prop) => prop.key === METADATA_KEY);
  if (!entry?.value) throw new Error(`Not a Kerf ONNX export: no "${METADATA_KEY}" metadata`);
  return parseMetadata(entry.value);
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
