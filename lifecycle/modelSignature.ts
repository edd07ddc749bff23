/**
 * The model's signature in the OpenSSF model-signing format (`model.sig`, what the PyPI package
 * `model-signing` 1.x verifies with `model_signing verify key`), so people without Kerf can check a
 * version's files: a Sigstore bundle holding a DSSE envelope over an in-toto Statement v1, whose
 * predicate lists every file of the model directory with its SHA-256 and whose subject is the
 * SHA-256 over those digests. Key-based: ECDSA (P-256 here), since that verifier takes elliptic-curve
 * keys only, and the bundle carries no certificate or transparency-log entry, only the key's hint.
 */
import { type KeyObject, createHash, createPublicKey, sign } from 'node:crypto';
import { canonicalJson } from './manifest';

/** The signature's file name in the model directory; the verifier leaves it out of the files it hashes. */
export const MODEL_SIGNATURE_FILE = 'model.sig';

/** The Sigstore bundle version model-signing writes and requires for key-based signatures. */
export const SIGSTORE_BUNDLE_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
/** The DSSE payload type of an in-toto statement. */
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const IN_TOTO_STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
/** model-signing's predicate, v1.0: `serialization` and `resources`. */
export const MODEL_SIGNING_PREDICATE_TYPE = 'https://model_signing/signature/v1.0';

/** One file of the model directory: its name there and its bytes, exactly as stored. */
export interface ModelFile {
  /**
   * A plain file name (letters, digits, `.`, `_`, `-`; not starting with a dot): the directory is
   * flat, so the verifier's path order and this module's name order are the same.
   */
  name: string;
  bytes: Uint8Array;
}

/** The in-toto statement model-signing reads: one subject (the model), the files in the predicate. */
export interface ModelSigningStatement {
  _type: typeof IN_TOTO_STATEMENT_TYPE;
  subject: [{ name: string; digest: { sha256: string } }];
  predicateType: typeof MODEL_SIGNING_PREDICATE_TYPE;
  predicate: {
    /** How the verifier rebuilds the list from a directory: each file whole, hashed with SHA-256. */
    serialization: {
      method: 'files';
      hash_type: 'sha256';
      allow_symlinks: false;
      ignore_paths: [typeof MODEL_SIGNATURE_FILE];
    };
    /** Every file, by name, in name order. */
    resources: { name: string; algorithm: 'sha256'; digest: string }[];
  };
}

/** The Sigstore bundle written to `model.sig`. */
export interface ModelSignatureBundle {
  mediaType: typeof SIGSTORE_BUNDLE_MEDIA_TYPE;
  verificationMaterial: { publicKey: { hint: string }; tlogEntries: [] };
  dsseEnvelope: {
    /** The statement's JSON, base64. */
    payload: string;
    payloadType: typeof IN_TOTO_PAYLOAD_TYPE;
    /** The ECDSA signature (DER, base64) over the envelope's PAE; model-signing writes an empty key id. */
    signatures: [{ sig: string; keyid: '' }];
  };
}

/** What {@link signModel} signs with: an ECDSA private key on P-256, P-384 or P-521. */
export interface ModelSigningPrivateKey {
  privateKey: KeyObject;
}

/** A signed model directory: the text of `model.sig` and what it says. */
export interface SignedModel {
  /** Store and hand out byte for byte as `model.sig`. */
  bundleJson: string;
  bundle: ModelSignatureBundle;
  statement: ModelSigningStatement;
}

/**
 * The in-toto statement of a model directory. The subject's digest is SHA-256 over the files'
 * digests (raw bytes, in the order listed), which is how model-signing names a model's contents.
 *
 * @param modelName the subject's name; the verifier only reports it (Kerf uses `<model>-v<N>`)
 * @throws when there is no file, a name is not a plain file name, or a name repeats
 */
export function modelSigningStatement(modelName: string, files: readonly ModelFile[]): ModelSigningStatement {
  checkFiles(files);
  // Code-unit order, which for plain ASCII file names is the verifier's path order too.
  const sorted = [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const root = createHash('sha256');
  const resources = sorted.map((file) => {
    const digest = createHash('sha256').update(file.bytes).digest();
    root.update(digest);
    return { name: file.name, algorithm: 'sha256' as const, digest: digest.toString('hex') };
  });
  return {
    _type: IN_TOTO_STATEMENT_TYPE,
    subject: [{ name: modelName, digest: { sha256: root.digest('hex') } }],
    predicateType: MODEL_SIGNING_PREDICATE_TYPE,
    predicate: {
      serialization: {
        method: 'files',
        hash_type: 'sha256',
        allow_symlinks: false,
        ignore_paths: [MODEL_SIGNATURE_FILE],
      },
      resources,
    },
  };
}

/**
 * Signs a model directory: the statement of {@link modelSigningStatement} as canonical JSON in a
 * DSSE envelope, signed with ECDSA over its pre-authentication encoding, in a Sigstore bundle whose
 * verification material is the key's hint ({@link publicKeyHint}). ECDSA signatures are randomised:
 * two calls give two different, equally valid, bundles.
 *
 * @throws when the key is not an ECDSA key on a curve model-signing accepts, or the files are invalid
 */
export function signModel(
  input: { modelName: string; files: readonly ModelFile[] },
  key: ModelSigningPrivateKey,
): SignedModel {
  const hash = ecdsaHashOf(key.privateKey);
  const statement = modelSigningStatement(input.modelName, input.files);
  const payload = Buffer.from(canonicalJson(statement), 'utf8');
  const signature = sign(hash, dssePae(IN_TOTO_PAYLOAD_TYPE, payload), key.privateKey);
  const publicKeyPem = createPublicKey(key.privateKey).export({ type: 'spki', format: 'pem' }).toString();
  const bundle: ModelSignatureBundle = {
    mediaType: SIGSTORE_BUNDLE_MEDIA_TYPE,
    verificationMaterial: { publicKey: { hint: publicKeyHint(publicKeyPem) }, tlogEntries: [] },
    dsseEnvelope: {
      payload: payload.toString('base64'),
      payloadType: IN_TOTO_PAYLOAD_TYPE,
      signatures: [{ sig: signature.toString('base64'), keyid: '' }],
    },
  };
  return { bundleJson: `${JSON.stringify(bundle, null, 2)}\n`, bundle, statement };
}

/**
 * DSSE v1's pre-authentication encoding, what the envelope's signature covers:
 * `DSSEv1 <len(type)> <type> <len(payload)> <payload>`, lengths in bytes, in decimal.
 */
export function dssePae(payloadType: string, payload: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.byteLength} `, 'utf8'),
    type,
    Buffer.from(` ${payload.byteLength} `, 'utf8'),
    payload,
  ]);
}

/**
 * How a model-signing bundle names its key: SHA-256 (hex) of the public key's SPKI PEM text, which
 * the verifier recomputes from the key it is given and compares before it checks the signature.
 */
export function publicKeyHint(publicKeyPem: string): string {
  return createHash('sha256').update(publicKeyPem, 'utf8').digest('hex');
}

/**
 * The digest model-signing pairs with an ECDSA key's curve (as Sigstore's specs do).
 *
 * @throws when the key is not ECDSA on P-256, P-384 or P-521, the curves model-signing accepts
 */
export function ecdsaHashOf(key: KeyObject): 'sha256' | 'sha384' | 'sha512' {
  const curve = key.asymmetricKeyType === 'ec' ? key.asymmetricKeyDetails?.namedCurve : undefined;
  switch (curve) {
    case 'prime256v1':
      return 'sha256';
    case 'secp384r1':
      return 'sha384';
    case 'secp521r1':
      return 'sha512';
    default:
      throw new Error(
        `The model-signing key is ${key.asymmetricKeyType === 'ec' ? `an EC key on ${curve ?? 'an unnamed curve'}` : `a ${key.asymmetricKeyType ?? 'unknown'} key`}; ` +
          'model-signing verifies ECDSA keys on P-256, P-384 or P-521 only',
      );
  }
}

const plainFileName = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

function checkFiles(files: readonly ModelFile[]): void {
  if (files.length === 0) throw new Error('A model directory to sign needs at least one file');
  const seen = new Set<string>();
  for (const { name } of files) {
    if (!plainFileName.test(name)) {
      throw new Error(
        `${JSON.stringify(name)} is not a plain file name (letters, digits, ".", "_", "-", not starting with "."): the signed model directory is flat`,
      );
    }
    if (name === MODEL_SIGNATURE_FILE) {
      throw new Error(
        `${MODEL_SIGNATURE_FILE} is the signature itself and cannot be one of the files it signs`,
      );
    }
    if (seen.has(name)) throw new Error(`The model directory lists ${name} twice`);
    seen.add(name);
  }
}
