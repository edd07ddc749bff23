/**
 * The key of the model's OpenSSF model-signing signature (`model.sig`, `lifecycle/modelSignature.ts`).
 * model-signing's key-based verifier takes ECDSA keys only, not Kerf's Ed25519 manifest key, so this
 * is a key of its own: from configuration in production, else a development P-256 key created on
 * first run beside the manifest key, with its public half (what people verify with) in a `.pub` file.
 */
import { type KeyObject, createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import path from 'node:path';
import { readOrCreateKeyFile, recordPublicKey } from './keyFiles';
import { ecdsaHashOf, publicKeyHint } from './modelSignature';

/** A loaded model-signing key. */
export interface ModelSigningKey {
  privateKey: KeyObject;
  /** The public half (SPKI, PEM): what `model_signing verify key --public_key` is given. */
  publicKeyPem: string;
  /** {@link publicKeyHint} of the public half, as `model.sig` names its key. */
  hint: string;
  /** True when this call created the key file. */
  created: boolean;
  /** Where the key came from. */
  source: 'configuration' | 'key-file';
  /** The development key file, when the key came from one. */
  keyFile?: string;
  /** The file holding the public half (`<keyFile>.pub`), when the key came from a key file. */
  publicKeyFile?: string;
}

/** Options of {@link loadOrCreateModelSigningKey}. */
export interface ModelSigningKeyOptions {
  /**
   * An ECDSA private key (P-256, P-384 or P-521) in PEM form, from configuration. When given it is
   * the key, and no file is read or written.
   */
  privateKeyPem?: string;
  /**
   * The development key file (for example `.data/keys/model-signing-dev.pem`): read when it exists,
   * created with a new P-256 key (mode 0600, parent folders too) when it does not.
   */
  keyFile?: string;
}

const makeOne = 'e.g. the output of `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`';

/**
 * The model-signing key: `privateKeyPem` when given, else the development key in `keyFile`, created
 * on first run (two processes starting at once end up with the same key).
 *
 * @throws when neither option is given, or the PEM or key file does not hold an ECDSA private key on
 *   a curve model-signing accepts
 */
export async function loadOrCreateModelSigningKey(options: ModelSigningKeyOptions): Promise<ModelSigningKey> {
  if (options.privateKeyPem !== undefined) {
    const privateKey = parsePrivateKey(
      options.privateKeyPem,
      'The configured model-signing key (KERF_MODEL_SIGNING_KEY)',
      `set it to an ECDSA P-256 private key in PEM form, ${makeOne}`,
    );
    return { ...describeKey(privateKey), created: false, source: 'configuration' };
  }
  if (options.keyFile === undefined) {
    throw new Error(
      'No model-signing key: give privateKeyPem (from configuration) or keyFile (a development key file)',
    );
  }
  const keyFile = path.resolve(options.keyFile);
  const { pem, created } = await readOrCreateKeyFile(
    keyFile,
    newP256KeyPem,
    'the development model-signing key',
  );
  const privateKey = parsePrivateKey(
    pem,
    `The development model-signing key file ${keyFile}`,
    `delete it to have a new development key created, or put an ECDSA P-256 private key (PEM) there, ${makeOne}`,
  );
  const described = describeKey(privateKey);
  const publicKeyFile = `${keyFile}.pub`;
  await recordPublicKey(publicKeyFile, described.publicKeyPem, 'the public model-signing key');
  return { ...described, created, source: 'key-file', keyFile, publicKeyFile };
}

function describeKey(privateKey: KeyObject): Pick<ModelSigningKey, 'privateKey' | 'publicKeyPem' | 'hint'> {
  const publicKeyPem = createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString();
  return { privateKey, publicKeyPem, hint: publicKeyHint(publicKeyPem) };
}

function parsePrivateKey(pem: string, what: string, todo: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (error) {
    throw new Error(
      `${what} is not a private key in PEM form (${error instanceof Error ? error.message : String(error)}): ${todo}`,
    );
  }
  try {
    ecdsaHashOf(key);
  } catch (error) {
    throw new Error(`${what}: ${error instanceof Error ? error.message : String(error)}; ${todo}`);
  }
  return key;
}

function newP256KeyPem(): string {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}
