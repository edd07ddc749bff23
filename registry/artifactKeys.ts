/**
 * Where a pipeline's artifacts live in the bucket. A version's keys depend only on the model and the
 * version number, so a retried activity overwrites its own objects (with the same bytes) and never
 * leaves a second copy behind.
 */

/**
 * A pipeline spec by the SHA-256 of its canonical JSON (`specHash`): written when a run starts, read
 * by every stage, so a worker needs no `pipelines/` folder of its own.
 */
export function specKey(specHash: string): string {
  return `specs/${specHash}.json`;
}

export function snapshotRecordKey(pipeline: string, sha256: string): string {
  return `snapshots/${pipeline}/${sha256}.json`;
}

/**
 * A features stage's built table (the snapshot's rows with the derived features added), by the
 * SHA-256 of its bytes: the same spec on the same snapshot builds the same table, stored once.
 */
export function featureTableKey(pipeline: string, sha256: string): string {
  return `features/${pipeline}/${sha256}.arrow`;
}

export function versionPrefix(model: string, version: number): string {
  return `models/${model}/v${version}/`;
}

export const artifactKeys = (model: string, version: number) => {
  const prefix = versionPrefix(model, version);
  return {
    model: `${prefix}model.json`,
    onnx: `${prefix}model.onnx`,
    training: `${prefix}training.json`,
    predictions: `${prefix}test-predictions.json`,
    slices: `${prefix}fairness-slices.json`,
    manifest: `${prefix}manifest.json`,
    signature: `${prefix}manifest.sig`,
    card: `${prefix}card.html`,
    spec: `${prefix}spec.json`,
    reference: `${prefix}reference.json`,
    /** A forecast model's series, recent values and intervals (`lifecycle/forecast`). */
    forecastState: `${prefix}forecast-state.json`,
  };
};
