/**
 * The public halves of the Ed25519 keys that sign artifact manifests. Deploy and serving look a
 * manifest's key id up here to verify it; the private half never reaches the database.
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import type pg from 'pg';
import { appendAudit } from './audit';
import { RegistryError } from './errors';
import { checkText, checkToken } from './inputs';
import { inTransaction, type Queryable } from './sql';
import type { SigningKeyRecord } from './types';

export interface SigningKeyInput {
  /** The id manifests name their key by. */
  keyId: string;
  /** The public key as PEM (SPKI, `-----BEGIN PUBLIC KEY-----`), or a public KeyObject. */
  publicKey: string | KeyObject;
  /** Who records it, for the audit log. */
  actor: string;
}

interface SigningKeyRow {
  key_id: string;
  public_key_pem: string;
  created_at: Date;
}

function keyFromRow(row: SigningKeyRow): SigningKeyRecord {
  return { keyId: row.key_id, publicKeyPem: row.public_key_pem, createdAt: row.created_at };
}

/**
 * Records a public key under its id, with a `signing-key-recorded` audit row. Recording the same key
 * again changes nothing; another key under a recorded id is refused (a key id means one key forever).
 *
 * @returns the key as stored (canonical SPKI PEM) and whether this call recorded it
 * @throws RegistryError (`invalid-input`) for something that is not an Ed25519 public key,
 *   (`conflict`) when the id already names another key
 */
export async function recordSigningKey(
  pool: pg.Pool,
  input: SigningKeyInput,
): Promise<{ key: SigningKeyRecord; recorded: boolean }> {
  checkToken(input.keyId, 'keyId');
  checkText(input.actor, 'actor', 'who records the key, e.g. a user name');
  const pem = canonicalPublicKeyPem(input.publicKey);
  return inTransaction(pool, async (client) => {
    const { rows: inserted } = await client.query<SigningKeyRow>(
      `INSERT INTO registry.signing_keys (key_id, public_key_pem) VALUES ($1, $2)
       ON CONFLICT (key_id) DO NOTHING RETURNING key_id, public_key_pem, created_at`,
      [input.keyId, pem],
    );
    const created = inserted[0];
    if (created) {
      await appendAudit(client, {
        actor: input.actor,
        action: 'signing-key-recorded',
        details: { keyId: input.keyId, sha256: fingerprint(pem) },
      });
      return { key: keyFromRow(created), recorded: true };
    }
    const existing = await getSigningKey(client, input.keyId);
    if (existing.publicKeyPem !== pem) {
      throw new RegistryError(
        'conflict',
        `Signing key ${input.keyId} is already recorded with another public key (sha256 ${fingerprint(existing.publicKeyPem)}): ` +
          'give the new key a new id',
      );
    }
    return { key: existing, recorded: false };
  });
}

/** @throws RegistryError (`not-found`) when no key has that id */
export async function getSigningKey(db: Queryable, keyId: string): Promise<SigningKeyRecord> {
  const { rows } = await db.query<SigningKeyRow>(
    'SELECT key_id, public_key_pem, created_at FROM registry.signing_keys WHERE key_id = $1',
    [keyId],
  );
  const row = rows[0];
  if (!row) {
    throw new RegistryError(
      'not-found',
      `Signing key ${keyId} is not recorded, so nothing it signed can be trusted: record its public half ` +
        '(recordSigningKey) or re-sign the manifest with a recorded key',
    );
  }
  return keyFromRow(row);
}

/** Every recorded key, oldest first. */
export async function listSigningKeys(db: Queryable): Promise<SigningKeyRecord[]> {
  const { rows } = await db.query<SigningKeyRow>(
    'SELECT key_id, public_key_pem, created_at FROM registry.signing_keys ORDER BY created_at, key_id',
  );
  return rows.map(keyFromRow);
}

function canonicalPublicKeyPem(key: string | KeyObject): string {
  if (typeof key !== 'string' && key.type !== 'public') {
    throw new RegistryError(
      'invalid-input',
      `publicKey is a ${key.type} key: give the public half only; the private half never leaves the signer`,
    );
  }
  let publicKey: KeyObject;
  try {
    publicKey = typeof key === 'string' ? createPublicKey(key) : key;
  } catch (error) {
    throw new RegistryError(
      'invalid-input',
      `publicKey is not a readable public key (${(error as Error).message}): give the SPKI PEM text ` +
        "(crypto.generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }))",
      { cause: error },
    );
  }
  if (publicKey.asymmetricKeyType !== 'ed25519') {
    throw new RegistryError(
      'invalid-input',
      `publicKey is a ${publicKey.asymmetricKeyType ?? 'unknown'} key; manifests are signed with Ed25519: give an Ed25519 public key`,
    );
  }
  return publicKey.export({ type: 'spki', format: 'pem' }).toString();
}

function fingerprint(pem: string): string {
  return createHash('sha256')
    .update(createPublicKey(pem).export({ type: 'spki', format: 'der' }))
    .digest('hex');
}
