/**
 * A scored row as the API answers it and the log keeps it: the number for a regression; for a
 * classifier, the most probable class label with every class's probability by label.
 */
import type { OnnxScores } from '../ml/onnx';
import type { LoadedVersion } from './loadVersion';
import type { PredictionOutput } from './predictionLog';

/** A prediction's value: the number (regression), or the label with each class's probability. */
export type PredictionValue = number | { label: string; probabilities: Record<string, number> };

/** What a version's output looks like: columns per row and the class labels. */
export interface OutputShape {
  width: number;
  classLabels?: readonly string[];
}

export function outputShape(version: LoadedVersion): OutputShape {
  return {
    width: version.scorer.metadata.output.width,
    ...(version.classLabels ? { classLabels: version.classLabels } : {}),
  };
}

/** Row `row` of a run's scores as the logged output and the answered value. */
export function predictionOf(
  scores: OnnxScores,
  row: number,
  shape: OutputShape,
): { output: PredictionOutput; value: PredictionValue } {
  if (scores.prediction) {
    const value = scores.prediction[row] as number;
    return { output: { value }, value };
  }
  const { width } = shape;
  // A model exported without class labels names its classes by their index.
  const labels = Array.from({ length: width }, (_, k) => shape.classLabels?.[k] ?? String(k));
  const probabilities: Record<string, number> = {};
  let best = 0;
  for (let k = 0; k < width; k++) {
    const p = scores.probabilities?.[row * width + k] ?? Number.NaN;
    probabilities[labels[k] as string] = p;
    // The first of equal probabilities wins, so ties always give the same label.
    if (p > (scores.probabilities?.[row * width + best] ?? Number.NaN)) best = k;
  }
  const classified = { label: labels[best] as string, probabilities };
  return { output: classified, value: classified };
}
