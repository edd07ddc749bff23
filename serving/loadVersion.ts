/**
 * Loading one registered version for serving: its ONNX file, manifest and signature are read from
 * the object store, the manifest's signature is checked against the registry's signing keys and the
 * ONNX bytes against the manifest's SHA-256 (`verifyArtifact`), the manifest must be this version's,
 * and only then do the bytes reach onnxruntime. Anything else is refused with a reason.
 */
import type { InferenceSession } from 'onnxruntime-node';
import type pg from 'pg';
import { artifactKeys } from '../registry/artifactKeys';
import { TamperedArtifactError, type TamperReason, verifyArtifact, sha256Hex } from '../lifecycle/manifest';
import type { Feature, TaskKind } from '../ml/model';
import { OnnxScorer } from '../ml/onnx';
import { ObjectNotFoundError, type ObjectStore } from '../platform/objectStore';
import { getVersion, listSigningKeys } from '../registry';
import { collectedMessage, versionCollection } from '../registry/collected';
import { errorMessage } from './errors';
import { modelTaskOf } from '../lifecycle/spec/metrics';
import { type ForecastState, verifyForecastState } from '../lifecycle/forecast';
import { EntityHistoryError, loadServedHistory } from './entityHistory';
import { FeatureBuildMismatchError, servingFeatureBuild, type ServingFeatureBuild } from './featureBuild';

/** A version ready to score. */
export interface LoadedVersion {
  model: string;
  version: number;
  task: TaskKind;
  scorer: OnnxScorer;
  /**
   * What a request carries: the input contract from the ONNX file (names, kinds, and the categories
   * seen in training); for a model with derived features, its source features and the columns the
   * derived expressions read instead (`featureBuild` computes the rest).
   */
  features: Feature[];
  /**
   * A model with derived or history features: how they are computed from a request's columns (and,
   * for history features, from the entity history loaded with the version).
   */
  featureBuild?: ServingFeatureBuild;
  /** Classification: the class labels, in the order of the probabilities. */
  classLabels?: string[];
  /** A forecast model: its series, their recent values and intervals (signed with the manifest). */
  forecast?: ForecastState;
  /** The key that signed the manifest. */
  keyId: string;
  onnxKey: string;
  onnxSha256: string;
  loadedAt: Date;
}

/**
 * Why a version was not loaded: a tampered artifact (the reasons of `TamperedArtifactError`), a
 * valid manifest of another version or model (`manifest-mismatch`), an ONNX file whose inputs are not
 * the manifest's (`contract-mismatch`), derived features whose pinned definition this code would not
 * compute as signed (`feature-build-mismatch`, one of the tamper reasons), an artifact missing from the registry or the store
 * (`artifact-missing`), an ONNX file onnxruntime refuses (`onnx-invalid`), or the store, the
 * database or the key configuration failing (`unavailable`).
 */
export type RefusalReason =
  | TamperReason
  | 'manifest-mismatch'
  | 'contract-mismatch'
  | 'artifact-missing'
  | 'onnx-invalid'
  | 'unavailable';

/** A version serving would not load. */
export class ModelLoadRefusedError extends Error {
  override readonly name = 'ModelLoadRefusedError';

  /**
   * @param message for `/v1/status` and a 503: never the text of an internal error (PostgreSQL's,
   *   the object store's), which goes in `cause` for the serving log
   */
  constructor(
    readonly reason: RefusalReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /**
   * Whether trying again later may succeed: the store or database was unreachable, or an object
   * was not there yet. A refused artifact stays refused until its alias is moved again.
   */
  get retryable(): boolean {
    return this.reason === 'unavailable' || this.reason === 'artifact-missing';
  }
}

export interface LoadVersionDeps {
  pool: pg.Pool;
  objectStore: ObjectStore;
}

/**
 * Reads, verifies and loads a version.
 *
 * @param options.sessionOptions onnxruntime's session options (batch scoring runs one thread per
 *   chunk, with chunks side by side)
 *   @default onnxruntime's defaults
 * @throws ModelLoadRefusedError saying why it was not loaded
 */
export async function loadVersion(
  deps: LoadVersionDeps,
  model: string,
  version: number,
  options: { sessionOptions?: InferenceSession.SessionOptions } = {},
): Promise<LoadedVersion> {
  const label = `${model} v${version}`;
  let fetched: { manifestJson: Uint8Array; signature: Uint8Array; onnxBytes: Uint8Array; onnxKey: string };
  let trustedPublicKeys: string[];
  try {
    const record = await getVersion(deps.pool, model, version);
    const { onnxKey, manifestKey } = record.artifacts;
    if (onnxKey === null || manifestKey === null) {
      throw new ModelLoadRefusedError(
        'artifact-missing',
        `${label} has no ONNX file or manifest recorded in the registry, so it cannot serve: deploy a version the lifecycle packaged`,
      );
    }
    const [manifestJson, signature, onnxBytes] = await Promise.all([
      deps.objectStore.get(manifestKey),
      deps.objectStore.get(artifactKeys(model, version).signature),
      deps.objectStore.get(onnxKey),
    ]);
    fetched = { manifestJson, signature, onnxBytes, onnxKey };
    trustedPublicKeys = (await listSigningKeys(deps.pool)).map((key) => key.publicKeyPem);
  } catch (error) {
    if (error instanceof ModelLoadRefusedError) throw error;
    if (error instanceof ObjectNotFoundError) {
      // Garbage collection says so when it removed them (it never removes an approved version's).
      const collected = await versionCollection(deps.pool, model, version).catch(() => undefined);
      throw new ModelLoadRefusedError(
        'artifact-missing',
        collected
          ? `${label} cannot be loaded: ${collectedMessage(collected)}; deploy another version`
          : `${label} cannot be loaded: ${error.message}; the artifact was deleted or never stored, so deploy another version`,
      );
    }
    throw new ModelLoadRefusedError(
      'unavailable',
      `${label} could not be read from the object store or the registry; serving tries again at its next check (the serving log has the error)`,
      { cause: error },
    );
  }

  let verified: ReturnType<typeof verifyArtifact>;
  try {
    verified = verifyArtifact({
      manifestJson: fetched.manifestJson,
      signature: Buffer.from(fetched.signature).toString('utf8'),
      onnxBytes: fetched.onnxBytes,
      trustedPublicKeys,
    });
  } catch (error) {
    if (error instanceof TamperedArtifactError) {
      throw new ModelLoadRefusedError(error.reason, `${label} was not loaded: ${error.message}`);
    }
    // No trusted keys, or an unreadable one: a configuration problem, not the artifact's.
    throw new ModelLoadRefusedError(
      'unavailable',
      `${label} cannot be verified: no trusted signing key could be used; an admin trusts the signing key's public half (\`kerf keys trust FILE --name NAME\`; the serving log has the error)`,
      { cause: error },
    );
  }
  const { manifest } = verified;
  if (
    manifest.modelName !== model ||
    manifest.version !== String(version) ||
    manifest.onnx.key !== fetched.onnxKey
  ) {
    throw new ModelLoadRefusedError(
      'manifest-mismatch',
      `${label} was not loaded: its signed manifest is that of model ${manifest.modelName} version ${manifest.version} ` +
        `(${manifest.onnx.key}); an artifact was copied over another, so do not serve it`,
    );
  }

  let scorer: OnnxScorer;
  try {
    scorer = await OnnxScorer.load(fetched.onnxBytes, options.sessionOptions);
  } catch (error) {
    throw new ModelLoadRefusedError(
      'onnx-invalid',
      `${label} passed verification but onnxruntime refuses it: ${errorMessage(error)}`,
    );
  }
  const { metadata } = scorer;
  const contract = metadata.features.map((feature) => `${feature.name}:${feature.kind}`).join(',');
  const signed = manifest.features.map((feature) => `${feature.name}:${feature.kind}`).join(',');
  if (contract !== signed || metadata.task !== modelTaskOf(manifest.task)) {
    await scorer.release();
    throw new ModelLoadRefusedError(
      'contract-mismatch',
      `${label} was not loaded: its ONNX file takes ${contract} (${metadata.task}) but its signed manifest says ` +
        `${signed} (${manifest.task})`,
    );
  }
  let featureBuild: ServingFeatureBuild | undefined;
  try {
    featureBuild = servingFeatureBuild(manifest, metadata.features);
  } catch (error) {
    await scorer.release();
    if (error instanceof FeatureBuildMismatchError) {
      throw new ModelLoadRefusedError('feature-build-mismatch', `${label} was not loaded: ${error.message}`);
    }
    throw error;
  }
  const history = featureBuild?.build.definition.history;
  const pinnedTable = manifest.featureBuild?.table;
  if (featureBuild && history && pinnedTable) {
    try {
      featureBuild.history = await loadServedHistory(deps, model, history, pinnedTable);
    } catch (error) {
      await scorer.release();
      if (error instanceof EntityHistoryError) {
        throw new ModelLoadRefusedError(
          'feature-build-mismatch',
          `${label} was not loaded: ${error.message}`,
        );
      }
      if (error instanceof ObjectNotFoundError) {
        throw new ModelLoadRefusedError(
          'artifact-missing',
          `${label} cannot be loaded: the built table its history features read, ${pinnedTable.key}, is missing; deploy another version`,
        );
      }
      throw new ModelLoadRefusedError(
        'unavailable',
        `${label}'s entity history could not be read; serving tries again at its next check (the serving log has the error)`,
        { cause: error },
      );
    }
  }
  let forecast: ForecastState | undefined;
  if (manifest.forecast) {
    try {
      forecast = verifyForecastState(
        await deps.objectStore.get(manifest.forecast.key),
        manifest.forecast,
        label,
      );
    } catch (error) {
      await scorer.release();
      if (error instanceof TamperedArtifactError) {
        throw new ModelLoadRefusedError(error.reason, `${label} was not loaded: ${error.message}`);
      }
      if (error instanceof ObjectNotFoundError) {
        throw new ModelLoadRefusedError(
          'artifact-missing',
          `${label} cannot be loaded: its forecast state ${manifest.forecast.key} is missing; deploy another version`,
        );
      }
      throw new ModelLoadRefusedError(
        'unavailable',
        `${label}'s forecast state could not be read; serving tries again at its next check (the serving log has the error)`,
        { cause: error },
      );
    }
  }
  return {
    model,
    version,
    task: metadata.task,
    ...(forecast ? { forecast } : {}),
    scorer,
    features: featureBuild ? featureBuild.requestFeatures : metadata.features,
    ...(featureBuild ? { featureBuild } : {}),
    ...(metadata.classLabels ? { classLabels: metadata.classLabels } : {}),
    keyId: verified.keyId,
    onnxKey: fetched.onnxKey,
    onnxSha256: sha256Hex(fetched.onnxBytes),
    loadedAt: new Date(),
  };
}
