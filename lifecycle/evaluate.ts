/**
 * The evaluate stage as plain functions: an exported model scored with onnxruntime on the test rows
 * of a snapshot, and the task's metrics of those scores. What is measured is the ONNX file that will
 * be deployed, not the TypeScript model it came from, so a fault in export shows up here.
 *
 * The test rows come from `splitRows` with the spec's split, the same rows training held out. A
 * champion (the deployed version) is scored on the same rows for the quality gate's comparison,
 * when it still can be: its inputs, task and classes must fit the snapshot.
 */
import { prepareTrainingData } from '../ml/dataset';
import { binaryMetrics, multiclassMetrics, regressionMetrics } from '../ml/metrics';
import type { TaskKind } from '../ml/model';
import { exportOnnx, type KerfOnnxMetadata, readMetadata, scoreOnnx } from '../ml/onnx';
import type { TaskMetrics } from '../ml/slices';
import { MISSING_CODE, type Table } from '../ml/table';
import { FLOOR_KIND, trainerOf } from '../ml/trainers';
import type { PipelineSpec } from './spec/schema';
import { labelledRows, splitLabelledRows } from './split';
import { modelTaskOf } from './spec/metrics';

/** The parts of a pipeline spec evaluation reads. */
export type EvaluationSpec = Pick<PipelineSpec, 'task' | 'target' | 'split'>;

export interface EvaluateOnTestSetInput {
  /** The candidate's ONNX file (`trainCandidate(...).onnx`). */
  onnx: Uint8Array;
  /** The snapshot's table the candidate was trained from. */
  table: Table;
  spec: EvaluationSpec;
}

/** A model's scores and metrics on the test rows. */
export interface TestSetEvaluation {
  /** `regressionMetrics`, `binaryMetrics` or `multiclassMetrics` of the test rows. */
  metrics: TaskMetrics;
  /** Test-row targets: values for regression, class ids (by `classLabels`) otherwise. */
  y: Float64Array;
  /** Regression: values. Binary: probability of class 1. Multiclass: rows x classes, row-major. */
  prediction: Float64Array;
  /** The snapshot rows of the test set, ascending. */
  testRows: Uint32Array;
  /** Classification: the model's class labels, index = class id. */
  classLabels?: string[];
}

/** The baseline's metrics on the same test rows: the floor every candidate must beat. */
export interface BaselineFloor {
  /** The registry kind of the floor (`baseline`). */
  kind: string;
  metrics: TaskMetrics;
}

/** The candidate's evaluation and the floor it is judged against. */
export interface CandidateEvaluation extends TestSetEvaluation {
  floor: BaselineFloor;
}

export interface ScoreChampionInput {
  /** The champion's ONNX file. */
  onnx: Uint8Array;
  /** The snapshot's table the candidate is evaluated on. */
  table: Table;
  /** The candidate's spec: the champion is judged on its task and target. */
  spec: Pick<PipelineSpec, 'task' | 'target'>;
  /** The candidate's test rows (`evaluateOnTestSet(...).testRows`). */
  testRows: Uint32Array;
}

/** The champion's metrics on the candidate's test rows, or why they cannot be compared. */
export type ChampionScore =
  ({ comparable: true } & Omit<TestSetEvaluation, 'testRows'>) | { comparable: false; reason: string };

/** The model or the data cannot be evaluated as asked; the message says what to do. */
export class EvaluationError extends Error {
  /** Running the same step again on the same artifacts cannot help. */
  readonly nonRetryable = true;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EvaluationError';
  }
}

// Scoring an exported model in the shape the trainers predict lives with the ONNX scorer.
export { scoreOnnx };

/**
 * Scores the candidate on the spec's test rows and computes the task's metrics. The target is
 * encoded as training encodes it: values for regression, class ids by the model's class labels
 * (from the ONNX metadata) otherwise.
 *
 * @throws SplitError when the table has too few rows for the split
 * @throws EvaluationError when the file is not a Kerf model, its task is not the spec's, a column it
 *   takes or the target is missing, or a test row's class or target value does not fit
 */
export async function evaluateOnTestSet(input: EvaluateOnTestSetInput): Promise<CandidateEvaluation> {
  const { onnx, table, spec } = input;
  const metadata = metadataOf(onnx, 'candidate');
  const problem = inputProblem(metadata, table, spec);
  if (problem) throw new EvaluationError(`The candidate cannot be scored: ${problem}.`);
  const { train: trainRows, test: testRows } = splitLabelledRows(table, spec.target, spec.split);
  const unknown = unknownClasses(table, spec.target, testRows, metadata.classLabels ?? []);
  if (spec.task !== 'regression' && unknown.length > 0) {
    throw new EvaluationError(
      `target "${spec.target}": the test rows hold class${unknown.length === 1 ? '' : 'es'} ` +
        `${quoteList(unknown)} the candidate was not trained on (${quoteList(metadata.classLabels ?? [])}); ` +
        'evaluate the candidate on the snapshot it was trained from.',
    );
  }
  const tested = await scoreRows(onnx, metadata, table, spec, testRows);
  const floor = await baselineFloor(metadata, table, spec, trainRows, testRows);
  return { ...tested, testRows, floor };
}

/**
 * The baseline (default parameters: the mean, or the class frequencies) fitted on the training rows
 * and scored on the test rows through its exported ONNX on onnxruntime, as the candidate is, taking the
 * candidate's inputs and classes so both answer the same rows in the same terms.
 */
async function baselineFloor(
  metadata: KerfOnnxMetadata,
  table: Table,
  spec: EvaluationSpec,
  trainRows: Uint32Array,
  testRows: Uint32Array,
): Promise<BaselineFloor> {
  const baseline = trainerOf(FLOOR_KIND);
  const classLabels = metadata.classLabels;
  const { model } = baseline.train(
    {
      task: modelTaskOf(spec.task),
      features: metadata.features,
      columns: [],
      rowCount: trainRows.length,
      target: encodeTarget(table, spec.target, modelTaskOf(spec.task), trainRows, classLabels ?? []),
      ...(classLabels ? { classLabels } : {}),
    },
    baseline.params.parse({}),
  );
  const onnx = exportOnnx(model);
  const scored = await scoreRows(onnx, readMetadata(onnx), table, spec, testRows);
  return { kind: FLOOR_KIND, metrics: scored.metrics };
}

/**
 * Scores an older model (the champion) on the candidate's test rows, when it can be compared: it
 * must have the spec's task, every column it takes must be in the table with a kind it accepts, and
 * (classification) it must know every class of the test rows, and for binary have the same two classes
 * in the same order, so that "class 1" means the same to both.
 *
 * @throws EvaluationError when the file is not a Kerf ONNX export (a damaged or foreign artifact)
 */
export async function scoreChampion(input: ScoreChampionInput): Promise<ChampionScore> {
  const { onnx, table, spec, testRows } = input;
  const metadata = metadataOf(onnx, 'champion');
  for (const row of testRows) {
    if (row >= table.rowCount) {
      throw new RangeError(`testRows holds row ${row}, but the table has ${table.rowCount} rows`);
    }
  }
  const problem = inputProblem(metadata, table, spec);
  if (problem)
    return { comparable: false, reason: `The champion cannot be scored on this snapshot: ${problem}` };
  if (spec.task !== 'regression') {
    const labels = metadata.classLabels ?? [];
    const unknown = unknownClasses(table, spec.target, testRows, labels);
    if (unknown.length > 0) {
      return {
        comparable: false,
        reason: `The test rows hold ${quoteList(unknown)}, which the champion does not know (${quoteList(labels)})`,
      };
    }
    const current = tableClassLabels(table, spec.target, modelTaskOf(spec.task));
    if (spec.task === 'binary' && labels.join('\u0000') !== current.join('\u0000')) {
      return {
        comparable: false,
        reason: `The champion's classes are ${quoteList(labels)} but the data's are ${quoteList(current)}: class 1 would not mean the same`,
      };
    }
  }
  return { comparable: true, ...(await scoreRows(onnx, metadata, table, spec, testRows)) };
}

/** The task's metrics of targets and predictions (see {@link TestSetEvaluation}). */
export function metricsOf(
  task: TaskKind,
  y: Float64Array,
  prediction: Float64Array,
  classes: number,
): TaskMetrics {
  if (task === 'regression') return regressionMetrics(y, prediction);
  if (task === 'binary') return binaryMetrics(y, prediction);
  return multiclassMetrics(y, prediction, classes);
}

async function scoreRows(
  onnx: Uint8Array,
  metadata: KerfOnnxMetadata,
  table: Table,
  spec: Pick<PipelineSpec, 'task' | 'target'>,
  rows: Uint32Array,
): Promise<Omit<TestSetEvaluation, 'testRows'>> {
  const inputs = metadata.features.map((feature) => feature.name);
  const testTable = table.select(inputs).take(rows);
  const y = encodeTarget(table, spec.target, modelTaskOf(spec.task), rows, metadata.classLabels ?? []);
  const prediction = await scoreOnnx(onnx, testTable);
  const classLabels = metadata.classLabels;
  return {
    metrics: metricsOf(modelTaskOf(spec.task), y, prediction, metadata.output.width),
    y,
    prediction,
    ...(classLabels && spec.task !== 'regression' ? { classLabels: [...classLabels] } : {}),
  };
}

function metadataOf(onnx: Uint8Array, whose: 'candidate' | 'champion'): KerfOnnxMetadata {
  try {
    return readMetadata(onnx);
  } catch (error) {
    throw new EvaluationError(
      `The ${whose}'s ONNX file cannot be read as a Kerf model (${error instanceof Error ? error.message : String(error)}); ` +
        'it was damaged or replaced: register it again from its training run.',
      { cause: error },
    );
  }
}

/** Why the model cannot be scored on this table (task, inputs, target), or undefined when it can. */
function inputProblem(
  metadata: KerfOnnxMetadata,
  table: Table,
  spec: Pick<PipelineSpec, 'task' | 'target'>,
): string | undefined {
  if (metadata.task !== spec.task)
    return `it is a ${metadata.task} model but the spec's task is ${spec.task}`;
  if (spec.task !== 'regression' && !metadata.classLabels) return 'its metadata lists no class labels';
  const missing = metadata.features
    .filter((feature) => !table.has(feature.name))
    .map((feature) => feature.name);
  if (missing.length > 0) {
    return `it takes column${missing.length === 1 ? '' : 's'} ${quoteList(missing)}, which the snapshot does not hold (the spec's features changed)`;
  }
  const retyped = metadata.features.filter(
    (feature) => feature.kind === 'numeric' && table.column(feature.name).kind !== 'numeric',
  );
  if (retyped.length > 0) {
    return `it takes ${quoteList(retyped.map((feature) => feature.name))} as numbers, but the snapshot holds text there`;
  }
  if (!table.has(spec.target)) return `the snapshot has no target column "${spec.target}"`;
  if (spec.task === 'regression' && table.column(spec.target).kind !== 'numeric') {
    return `target "${spec.target}" holds text, but regression needs numbers`;
  }
  return undefined;
}

/** A row's class label as training reads it: numbers by their text, undefined when missing. */
function labelReader(table: Table, target: string): (row: number) => string | undefined {
  const column = table.column(target);
  if (column.kind === 'numeric') {
    return (row) => {
      const value = column.values[row] as number;
      return Number.isNaN(value) ? undefined : String(value);
    };
  }
  return (row) => {
    const code = column.codes[row] as number;
    return code === MISSING_CODE ? undefined : column.dictionary[code];
  };
}

/** The target of the rows: values for regression, ids into `classLabels` otherwise. */
function encodeTarget(
  table: Table,
  target: string,
  task: TaskKind,
  rows: Uint32Array,
  classLabels: readonly string[],
): Float64Array {
  const y = new Float64Array(rows.length);
  const labelOf = labelReader(table, target);
  const classId = new Map(classLabels.map((label, id) => [label, id]));
  const values = task === 'regression' ? table.numeric(target).values : undefined;
  rows.forEach((row, i) => {
    const value = values ? (values[row] as number) : classId.get(labelOf(row) ?? '');
    if (value === undefined || Number.isNaN(value)) {
      throw new EvaluationError(
        `target "${target}" is missing in row ${row + 1} of the snapshot: drop or fill such rows, then take a new snapshot.`,
      );
    }
    y[i] = value;
  });
  return y;
}

/** The labels of the rows' classes that `classLabels` does not hold, in order of first appearance. */
function unknownClasses(
  table: Table,
  target: string,
  rows: Uint32Array,
  classLabels: readonly string[],
): string[] {
  if (!table.has(target)) return [];
  const known = new Set(classLabels);
  const unknown = new Set<string>();
  const labelOf = labelReader(table, target);
  for (const row of rows) {
    const label = labelOf(row);
    if (label !== undefined && !known.has(label)) unknown.add(label);
  }
  return [...unknown];
}

/** The class labels training gives the table's target (`trainCandidate` encodes it the same way). */
function tableClassLabels(table: Table, target: string, task: TaskKind): string[] {
  const labelled = table.select([target]).take(labelledRows(table, target));
  return prepareTrainingData(labelled, { target, features: [], task }).classLabels ?? [];
}

function quoteList(items: readonly string[]): string {
  return items.map((item) => `"${item}"`).join(', ');
}
