/**
 * What an exported ONNX file says about itself in `metadata_props`, so a scorer can build inputs and
 * read outputs from the file alone, without the TypeScript model it came from.
 */
import { z } from 'zod';
import type { Feature, Model, TaskKind } from '../model';
import { TRAINER_KINDS } from '../trainers';

/** metadata_props key holding {@link KerfOnnxMetadata} as JSON. */
export const METADATA_KEY = 'kerf.model';
/** Bumped when the graph's input/output conventions change. */
export const METADATA_FORMAT_VERSION = 1;

/** Graph output of regression models: [N, 1] float. */
export const PREDICTION_OUTPUT = 'prediction';
/** Graph output of classification models: [N, K] float, one row of class probabilities per input row. */
export const PROBABILITIES_OUTPUT = 'probabilities';

const featureSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('numeric'), name: z.string() }),
  z.object({ kind: z.literal('categorical'), name: z.string(), categories: z.array(z.string()) }),
]);

const metadataSchema = z.object({
  formatVersion: z.literal(METADATA_FORMAT_VERSION),
  /** The trainer registry's kind that made the model. */
  type: z.enum(TRAINER_KINDS),
  task: z.enum(['regression', 'binary', 'multiclass']),
  features: z.array(featureSchema),
  classLabels: z.array(z.string()).optional(),
  /** Graph output name and its width (columns per row). */
  output: z.object({ name: z.string(), width: z.number().int().positive() }),
});

/** The self-description stored in an exported model. */
export type KerfOnnxMetadata = z.infer<typeof metadataSchema>;

/** Output name of a task: probabilities for classification, the prediction otherwise. */
export function outputNameOf(task: TaskKind): string {
  return task === 'regression' ? PREDICTION_OUTPUT : PROBABILITIES_OUTPUT;
}

/** The metadata for a model whose graph output has `width` columns. */
export function describeModel(model: Model, width: number): KerfOnnxMetadata {
  // Built field by field (not spread) so the JSON key order, and thus the bytes, never vary.
  const features = model.features.map((feature): Feature =>
    feature.kind === 'numeric'
      ? { kind: 'numeric', name: feature.name }
      : { kind: 'categorical', name: feature.name, categories: [...feature.categories] },
  );
  return {
    formatVersion: METADATA_FORMAT_VERSION,
    type: model.type,
    task: model.task,
    features,
    ...(model.classLabels ? { classLabels: [...model.classLabels] } : {}),
    output: { name: outputNameOf(model.task), width },
  };
}

/**
 * Parses the JSON stored under {@link METADATA_KEY}.
 *
 * @throws when the JSON is not a metadata block this version understands
 */
export function parseMetadata(json: string): KerfOnnxMetadata {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (error) {
    throw new Error(`The ONNX model's "${METADATA_KEY}" metadata is not JSON: ${String(error)}`);
  }
  const parsed = metadataSchema.safeParse(raw);
  if (!parsed.success) {
    throw new Error(`The ONNX model's "${METADATA_KEY}" metadata is invalid: ${parsed.error.message}`);
  }
  return parsed.data;
}
