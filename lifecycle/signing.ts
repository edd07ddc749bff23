/**
 * Ed25519 keys and signatures for model manifests (node:crypto). The signing key comes from
 * configuration in production; on a developer's machine a key file is created on first run, so
 * artifacts are always signed and always verified, and the public half is written beside it.
 */
import {
  type KeyObject,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign as cryptoSign,
  verify as cryptoVerify,
} from 'node:crypto';
import path from 'node:path';
import { readOrCreateKeyFile, recordPublicKey } from './keyFiles';

/** A loaded signing key. */
export interface SigningKey {
  privateKey: KeyObject;
  /** The public half (SPKI, PEM): what verifiers are configured to trust. */
  publicKeyPem: string;
  /** {@link keyIdOf} the public key: names the key in manifests. */
  keyId: string;
  /** True when this call created the key file (a new development key: record its public half). */
  created: boolean;
  /** Where the key came from. */
  source: 'configuration' | 'key-file';
  /** The development key file, when the key came from one. */
  keyFile?: string;
  /** The file holding the public half (`<keyFile>.pub`), when the key came from a key file. */
  publicKeyFile?: string;
}

/** Options of {@link loadOrCreateSigningKey}. */
export interface SigningKeyOptions {
  /**
   * An Ed25519 private key in PEM form (PKCS#8), from configuration. When given it is the key, and
   * no file is read or written.
   */
  privateKeyPem?: string;
  /**
   * The development key file (for example `.data/keys/manifest-signing-dev.pem`): read when it
   * exists, created (mode 0600, parent folders too) when it does not.
   */
  keyFile?: string;
}

/**
 * The manifest signing key: `privateKeyPem` when given, else the development key in `keyFile`,
 * created on first run. Two processes starting at once end up with the same key: each writes a
 * private temporary file and hard-links it into place, which never replaces an existing key.
 *
 * @throws when neither option is given, or the PEM or key file does not hold an Ed25519 private key
 */
export async function loadOrCreateSigningKey(options: SigningKeyOptions): Promise<SigningKey> {
  if (options.privateKeyPem !== undefined) {
    const privateKey = parsePrivateKey(
      options.privateKeyPem,
      'The configured manifest signing key (privateKeyPem)',
      'set it to an Ed25519 private key in PEM form, e.g. the output of `openssl genpkey -algorithm ed25519`',
    );
    return { ...describeKey(privateKey), created: false, source: 'configuration' };
  }
  if (options.keyFile === undefined) {
    throw new Error(
      'No manifest signing key: give privateKeyPem (from configuration) or keyFile (a development key file)',
    );
  }
  const keyFile = path.resolve(options.keyFile);
  const { pem, created } = await readOrCreateKeyFile(
    keyFile,
    newEd25519KeyPem,
    'the development signing key',
  );
  const privateKey = parsePrivateKey(
    pem,
    `The development signing key file ${keyFile}`,
    'delete it to have a new development key created, or put an Ed25519 private key (PEM) there',
  );
  const described = describeKey(privateKey);
  const publicKeyFile = `${keyFile}.pub`;
  await recordPublicKey(publicKeyFile, described.publicKeyPem, 'the public signing key');
  return { ...described, created, source: 'key-file', keyFile, publicKeyFile };
}

/** Signs `bytes` with the key; returns the 64-byte Ed25519 signature in base64. */
export function sign(bytes: Uint8Array, key: Pick<SigningKey, 'privateKey'>): string {
  return cryptoSign(null, bytes, key.privateKey).toString('base64');
}

/**
 * Whether `signature` (base64) is the Ed25519 signature of `bytes` by `publicKey` (PEM, or a key
 * parsed once with {@link parsePublicKey}). A signature that is not canonical base64 of 64 bytes is
 * invalid: lenient decoding would let a changed character decode to the same bytes.
 *
 * @throws when `publicKey` is not an Ed25519 public key (a configuration error, not a bad signature)
 */
export function verify(bytes: Uint8Array, signature: string, publicKey: string | KeyObject): boolean {
  const key =
    typeof publicKey === 'string' ? parsePublicKey(publicKey, 'The public key to verify with') : publicKey;
  if (key.type !== 'public' || key.asymmetricKeyType !== 'ed25519') {
    throw new Error('The key to verify with is not an Ed25519 public key');
  }
  const decoded = decodeBase64Strictly(signature);
  if (decoded?.length !== 64) return false;
  return cryptoVerify(null, bytes, key, decoded);
}

/** The key id of an Ed25519 public key: the first 16 hex digits of SHA-256 over its DER (SPKI) form. */
export function keyIdOf(publicKey: KeyObject | string): string {
  const key = typeof publicKey === 'string' ? parsePublicKey(publicKey, 'The public key') : publicKey;
  const der = key.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex').slice(0, 16);
}

/**
 * Parses an Ed25519 public key in PEM form.
 *
 * @param what names the key in the error, e.g. `trustedPublicKeys[1]`
 * @throws when the PEM does not hold an Ed25519 public key
 */
export function parsePublicKey(pem: string, what: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (error) {
    throw new Error(`${what} is not a public key in PEM form: ${errorMessage(error)}`);
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new Error(
      `${what} is a ${key.asymmetricKeyType ?? 'unknown'} key; manifests are signed with Ed25519`,
    );
  }
  return key;
}

/** Decodes base64 only when it is exactly what encoding the decoded bytes gives back. */
export function decodeBase64Strictly(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : undefined;
}

function describeKey(privateKey: KeyObject): Pick<SigningKey, 'privateKey' | 'publicKeyPem' | 'keyId'> {
  const publicKey = createPublicKey(privateKey);
  const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  return { privateKey, publicKeyPem, keyId: keyIdOf(publicKey) };
}

function parsePrivateKey(pem: string, what: string, todo: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (error) {
    throw new Error(`${what} is not a private key in PEM form (${errorMessage(error)}): ${todo}`);
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new Error(`${what} is a ${key.asymmetricKeyType ?? 'unknown'} key, not Ed25519: ${todo}`);
  }
  return key;
}

function newEd25519KeyPem(): string {
  return generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
