/**
 * Reads a registered version's ONNX file, manifest and signature and verifies them against the keys
 * an admin trusted (revoked keys refused) before anyone uses the bytes: deploy before an alias moves,
 * evaluation before it scores the production model (the champion) against a candidate.
 */
import type pg from 'pg';
import { TamperedArtifactError, verifyArtifact, type VerifiedArtifact } from '../../lifecycle/manifest';
import type { ObjectStore } from '../../platform/objectStore';
import { getVersion, verificationKeys } from '../../registry';
import { artifactKeys } from '../../registry/artifactKeys';

/** A version's artifact whose signature, key and ONNX SHA-256 were verified. */
export interface ReadArtifact extends VerifiedArtifact {
  onnxKey: string;
  onnxBytes: Uint8Array;
}

/**
 * The version's ONNX bytes, once its manifest is verified: signed by a trusted, unrevoked key, the
 * ONNX file's SHA-256 and size as signed, and the manifest naming this very model, version and file
 * (a validly signed manifest of another version copied over this one is refused too).
 *
 * @throws TamperedArtifactError saying what failed; ObjectNotFoundError when an object is missing
 */
export async function readVerifiedArtifact(
  pool: pg.Pool,
  objectStore: ObjectStore,
  model: string,
  version: number,
): Promise<ReadArtifact> {
  const record = await getVersion(pool, model, version);
  const keys = artifactKeys(model, version);
  const onnxKey = record.artifacts.onnxKey ?? keys.onnx;
  const [manifestJson, signature, onnxBytes, trust] = await Promise.all([
    objectStore.get(record.artifacts.manifestKey ?? keys.manifest),
    objectStore.get(keys.signature),
    objectStore.get(onnxKey),
    verificationKeys(pool),
  ]);
  const verified = verifyArtifact({
    manifestJson,
    signature: Buffer.from(signature).toString('utf8'),
    onnxBytes,
    trustedPublicKeys: trust.trustedPublicKeys,
    revokedKeys: trust.revokedKeys,
  });
  const { manifest } = verified;
  if (manifest.modelName !== model || manifest.version !== String(version) || manifest.onnx.key !== onnxKey) {
    throw new TamperedArtifactError(
      'manifest-malformed',
      `The signed manifest stored for ${model} version ${version} is that of model ${manifest.modelName} version ` +
        `${manifest.version} (${manifest.onnx.key}): an artifact was copied over another; do not use it.`,
    );
  }
  return { ...verified, onnxKey, onnxBytes };
}
