/**
 * The train stage as a plain function: a snapshot's table and the pipeline spec in, a candidate
 * model, its ONNX file and a summary of the run out. The Temporal activity around it loads the
 * snapshot, heartbeats from `onProgress` and stores the artifacts; nothing here does I/O.
 *
 * The rows with a target are split with `splitLabelledRows` (the evaluate stage finds the same test
 * rows again), the features are described from the training rows only (categories seen only in validation or test
 * rows are unseen to the model, as they will be in use), and the spec's trainer parameters are
 * passed to the ML core one for one. The same table and spec give the same model and byte-identical
 * ONNX, so a retried activity makes the same artifact.
 */
import { orderCategoriesByTarget } from '../ml/categoryOrder';
import { encodeFeatures, prepareTrainingData, type TrainingData } from '../ml/dataset';
import type { Feature, Model } from '../ml/model';
import { exportOnnx } from '../ml/onnx';
import { MISSING_CODE, type Table } from '../ml/table';
import type { FeatureImportance, TrainerProgress, TrainerSummary } from '../ml/trainer';
import { type TrainerKind, trainerOf } from '../ml/trainers';
import type { PipelineSpec } from './spec/schema';
import { labelledRows, SplitError, splitLabelledRows, type SplitRows } from './split';
import { modelTaskOf } from './spec/metrics';

/** The parts of a pipeline spec training reads. */
export type TrainingSpec = Pick<PipelineSpec, 'task' | 'target' | 'features' | 'split' | 'trainer'>;

/** One report of a running trainer: the ML core's report, passed on as it is. */
export type CandidateProgress = TrainerProgress;

export interface TrainCandidateInput {
  /** The snapshot's table (`loadSnapshot(...).table`): target and features, rows in time order. */
  table: Table;
  spec: TrainingSpec;
  /**
   * Called as the trainer reports each iteration; throttling (for heartbeats) is the caller's.
   * An error it throws stops training and is passed on unchanged.
   * @default undefined (no reports)
   */
  onProgress?: (progress: CandidateProgress) => void;
  /**
   * The pipeline's name, stored as the ONNX file's doc_string.
   * @default undefined (empty doc_string)
   */
  modelName?: string;
  /**
   * The model version, stored as the ONNX file's producer_version.
   * @default undefined (empty producer_version)
   */
  modelVersion?: string | number;
}

/** How much a feature contributed to the model, for the model card. */
export type { FeatureImportance };
// The spec's gbdt parameters onto the trainer's options now live with the gbdt entry.
export { gbdtOptionsOf } from '../ml/gbdt/trainer';

/**
 * What a training run did, for the run's status and the model card: the trainer's own summary
 * (losses, iterations, feature importance) with the rows and time lifecycle adds. Plain JSON.
 */
export interface TrainingSummary extends TrainerSummary {
  /** The registry's kind (ml/trainers.ts). */
  trainer: TrainerKind;
  rows: { train: number; validation: number; test: number };
  /** Rows left out of every part because their target is missing. */
  rowsWithoutTarget: number;
  /** Wall-clock seconds of the run (preparation, training and export). */
  seconds: number;
}

export interface TrainedCandidate {
  /** The trained model (plain JSON). */
  model: Model;
  /** `exportOnnx(model)`: what is deployed and scored. */
  onnx: Uint8Array;
  summary: TrainingSummary;
}

/** The data cannot make a model as the spec asks; the message names the column or field and what to do. */
export class TrainingError extends Error {
  /** Running the same step again on the same data cannot help. */
  readonly nonRetryable = true;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TrainingError';
  }
}

/**
 * Splits the snapshot's rows, trains the spec's trainer on the training rows (early-stopping on the
 * validation rows when the spec asks), and exports the model as ONNX.
 *
 * @throws SplitError when the snapshot has too few rows for the split
 * @throws TrainingError when a spec column is missing or of the wrong kind, a binary target does not
 *   have two classes, or the trainer refuses the data or the parameters (its message kept)
 */
export function trainCandidate(input: TrainCandidateInput): TrainedCandidate {
  const started = performance.now();
  // An error from the caller's callback (a cancelled activity, say) must not be dressed as bad data.
  let callbackError: { error: unknown } | undefined;
  const report = (progress: CandidateProgress): void => {
    try {
      input.onProgress?.(progress);
    } catch (error) {
      callbackError = { error };
      throw error;
    }
  };
  try {
    const result = train(input, report);
    const seconds = Math.round((performance.now() - started) * 1000) / 1e6;
    return { ...result, summary: { ...result.summary, seconds } };
  } catch (error) {
    if (callbackError?.error === error || error instanceof SplitError || error instanceof TrainingError) {
      throw error;
    }
    throw new TrainingError(error instanceof Error ? error.message : String(error), { cause: error });
  }
}

/**
 * The snapshot's rows as training sees them: split, the target encoded for every labelled row (class
 * ids from all the snapshot's classes), and the spec's feature columns. The tune stage cuts its folds
 * from the same frame, so a trial learns from exactly what the train stage would.
 */
export interface TrainingFrame {
  rows: SplitRows;
  /** Rows with a target. */
  labelled: Uint32Array;
  /** The encoded target by table row; NaN where a row has none. */
  target: Float64Array;
  classLabels: string[] | undefined;
  /** The spec's features, every row. */
  featureTable: Table;
}

/** @throws TrainingError when a spec column is missing or of the wrong kind; SplitError when too few rows */
export function trainingFrame(table: Table, spec: TrainingSpec): TrainingFrame {
  checkColumns(table, spec);
  const rows = splitLabelledRows(table, spec.target, spec.split);
  const labelled = labelledRows(table, spec.target);
  const encoded = prepareTrainingData(table.select([spec.target]).take(labelled), {
    target: spec.target,
    features: [],
    task: modelTaskOf(spec.task),
  });
  const target = new Float64Array(table.rowCount).fill(Number.NaN);
  labelled.forEach((row, i) => (target[row] = encoded.target[i] as number));
  const featureTable = table.select(spec.features.map((feature) => feature.name));
  return { rows, labelled, target, classLabels: encoded.classLabels, featureTable };
}

/**
 * The training data of some of the frame's rows; `features` come from the rows a model trains on
 * (categories seen only elsewhere are unseen to it), as `trainingData` gives them.
 */
export function frameData(
  frame: TrainingFrame,
  spec: Pick<TrainingSpec, 'task'>,
  part: Uint32Array,
  features: Feature[],
  partTable: Table = frame.featureTable.take(part),
): TrainingData {
  return {
    ...encodeFeatures(partTable, features),
    task: modelTaskOf(spec.task),
    target: Float64Array.from(part, (row) => frame.target[row] as number),
    ...(frame.classLabels ? { classLabels: frame.classLabels } : {}),
  };
}

function train(
  input: TrainCandidateInput,
  report: (progress: CandidateProgress) => void,
): Omit<TrainedCandidate, 'summary'> & { summary: Omit<TrainingSummary, 'seconds'> } {
  const { table, spec } = input;
  const frame = trainingFrame(table, spec);
  const { rows } = frame;
  const trainData = trainingData(frame, spec, rows.train);
  const validationData =
    rows.validation.length > 0 ? frameData(frame, spec, rows.validation, trainData.features) : undefined;

  const trainer = spec.trainer.kind;
  const trained = trainerOf(trainer).train(trainData, spec.trainer.params, {
    validation: validationData,
    onProgress: report,
  });
  const details = trained.summary;
  const exportOptions = {
    ...(input.modelName === undefined ? {} : { docString: input.modelName }),
    ...(input.modelVersion === undefined ? {} : { producerVersion: String(input.modelVersion) }),
  };
  return {
    model: trained.model,
    onnx: exportOnnx(trained.model, exportOptions),
    // The row counts next to the trainer's name, where people reading the JSON look first.
    summary: {
      trainer,
      rows: partRows(rows),
      rowsWithoutTarget: table.rowCount - frame.labelled.length,
      ...details,
    },
  };
}

function partRows(rows: SplitRows): TrainingSummary['rows'] {
  return { train: rows.train.length, validation: rows.validation.length, test: rows.test.length };
}

/** Every column the spec names is in the table, and numeric features are numbers. */
function checkColumns(table: Table, spec: TrainingSpec): void {
  const has = `the snapshot has: ${table.columnNames.join(', ')}`;
  if (!table.has(spec.target)) {
    throw new TrainingError(
      `target: the snapshot has no column "${spec.target}" (${has}); take a new snapshot after changing the spec.`,
    );
  }
  spec.features.forEach((feature, index) => {
    if (!table.has(feature.name)) {
      throw new TrainingError(
        `features[${index}].name: the snapshot has no column "${feature.name}" (${has}); take a new snapshot after changing the spec.`,
      );
    }
    if (feature.kind === 'numeric' && table.column(feature.name).kind !== 'numeric') {
      throw new TrainingError(
        `features[${index}]: "${feature.name}" is numeric in the spec but holds text in the snapshot; ` +
          'list it as categorical, or fix the column and take a new snapshot.',
      );
    }
  });
}

/**
 * The training data of the frame's rows `part`, the rows a model trains on: its features described
 * from those rows, each categorical one's categories in order of their target there
 * (ml/categoryOrder.ts). The rows are encoded once; ordering the categories renumbers their codes.
 * The train stage and every tuning trial take theirs from here, and encode other rows (validation,
 * scoring) with its `features` through `frameData`.
 */
export function trainingData(
  frame: TrainingFrame,
  spec: Pick<TrainingSpec, 'task' | 'features'>,
  part: Uint32Array,
): TrainingData {
  const partTable = frame.featureTable.take(part);
  const data = frameData(frame, spec, part, describeFeatures(partTable, spec.features), partTable);
  return { ...data, ...orderCategoriesByTarget(data, data.target, data.task) };
}

/**
 * The model's features, of the kinds the spec gives, with the categories the training rows hold in
 * order of first appearance. '' is left out: it is how a missing category reaches the ONNX graph.
 */
export function describeFeatures(trainTable: Table, specFeatures: TrainingSpec['features']): Feature[] {
  return specFeatures.map((feature): Feature => {
    if (feature.kind === 'numeric') return { kind: 'numeric', name: feature.name };
    const column = trainTable.column(feature.name);
    const seen = new Set<string>();
    if (column.kind === 'numeric') {
      // Category codes that arrive as numbers (a shift number) are matched on their text.
      for (const value of column.values) if (!Number.isNaN(value)) seen.add(String(value));
    } else {
      for (const code of column.codes) {
        if (code !== MISSING_CODE) seen.add(column.dictionary[code] ?? '');
      }
    }
    seen.delete('');
    return { kind: 'categorical', name: feature.name, categories: [...seen] };
  });
}
