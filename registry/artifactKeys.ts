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
    /** The tune stage's plan, every trial and the winner (`activities/lifecycle/tune.ts`). */
    tuning: `${prefix}tuning.json`,
    predictions: `${prefix}test-predictions.json`,
    slices: `${prefix}fairness-slices.json`,
    manifest: `${prefix}manifest.json`,
    signature: `${prefix}manifest.sig`,
    /** The OpenSSF model-signing signature of the model directory ({@link modelDirectoryKeys}). */
    modelSignature: `${prefix}model.sig`,
    card: `${prefix}card.html`,
    spec: `${prefix}spec.json`,
    reference: `${prefix}reference.json`,
    /** A forecast model's series, recent values and intervals (`lifecycle/forecast`). */
    forecastState: `${prefix}forecast-state.json`,
  };
};

/**
 * The objects of a version's model directory, which `model.sig` signs (OpenSSF model signing): the
 * ONNX graph, a forecast's state, Kerf's manifest and its signature, and the model card. Each file's
 * name in the directory is the last part of its key, so the directory is the version's folder
 * (`models/<model>/v<N>/`) with only these files and `model.sig` in it: that folder, downloaded,
 * is what `model_signing verify key` checks. The version's other objects (training summary, test
 * predictions, slices, profile, spec copy) are Kerf's working files and stay out of it.
 */
export function modelDirectoryKeys(
  model: string,
  version: number,
  options: { forecastState: boolean },
): { name: string; key: string }[] {
  const keys = artifactKeys(model, version);
  const prefix = versionPrefix(model, version);
  return [
    keys.onnx,
    ...(options.forecastState ? [keys.forecastState] : []),
    keys.manifest,
    keys.signature,
    keys.card,
  ].map((key) => ({ name: key.slice(prefix.length), key }));
}
