/**
 * The trust root of manifest signatures: the Ed25519 public keys an admin trusted, and revoked. Deploy,
 * evaluation and serving verify a manifest only against keys trusted here and not revoked; a worker
 * refuses to start with a key that is not. The private halves never reach the database.
 *
 * Trusting and revoking are admin acts: the table is written on the owner connection only (the
 * application role may read it, see migration 000007), and each act is audited with its actor.
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import type pg from 'pg';
import { keyIdOf } from '../lifecycle/signing';
import { appendAudit } from './audit';
import { TableColumns } from './columns';
import { RegistryError } from './errors';
import { checkText, checkToken } from './inputs';
import { inTransaction, type Queryable, readOne } from './sql';
import type { SigningKeyRecord } from './types';

export interface TrustSigningKeyInput {
  /** The public key as PEM (SPKI, `-----BEGIN PUBLIC KEY-----`), or a public KeyObject. */
  publicKey: string | KeyObject;
  /** What the key is, for people: `worker on press-shop-2`, `CI release key`. */
  name: string;
  /** The admin who trusts it, as the CLI authenticated them. */
  actor: string;
}

export interface RevokeSigningKeyInput {
  keyId: string;
  /** The admin who revokes it, as the CLI authenticated them. */
  actor: string;
  /** Why, for the audit log and `kerf keys list`. */
  reason?: string;
}

/** Whether artifacts signed by a key are trusted: `trusted`, `revoked`, or `unknown` (never trusted). */
export type SigningKeyTrust = 'trusted' | 'revoked' | 'unknown';

/** What verifiers need: the keys to verify with, and the revoked ones to name in a refusal. */
export interface VerificationKeys {
  trustedPublicKeys: string[];
  /** Revoked key id to a short description (`revoked by alice at 2026-...`). */
  revokedKeys: Map<string, string>;
}

interface TrustedKeyRow {
  key_id: string;
  name: string;
  public_key_pem: string;
  trusted_by: string;
  trusted_at: Date;
  revoked_by: string | null;
  revoked_at: Date | null;
  revoke_reason: string | null;
}

const COLUMNS = new TableColumns<TrustedKeyRow>([
  'key_id',
  'name',
  'public_key_pem',
  'trusted_by',
  'trusted_at',
  'revoked_by',
  'revoked_at',
  'revoke_reason',
]);

/**
 * Trusts a public key under its key id (derived from the key, as manifests name it), with a
 * `signing-key-trusted` audit row. Trusting a trusted key again changes nothing.
 *
 * @param pool the owner connection: the application role may not write the trust root
 * @returns the key as stored and whether this call trusted it
 * @throws RegistryError (`invalid-input`) for something that is not an Ed25519 public key or an
 *   empty name or actor, (`conflict`) for a key that was revoked (it is never trusted again)
 */
export async function trustSigningKey(
  pool: pg.Pool,
  input: TrustSigningKeyInput,
): Promise<{ key: SigningKeyRecord; trusted: boolean }> {
  checkText(input.name, 'name', 'what the key is, e.g. --name "worker on press-shop-2"');
  checkText(input.actor, 'actor', 'the admin who trusts the key');
  const pem = canonicalPublicKeyPem(input.publicKey);
  const keyId = keyIdOf(pem);
  return inTransaction(pool, async (client) => {
    const { rows: inserted } = await client.query<TrustedKeyRow>(
      `INSERT INTO registry.trusted_signing_keys (key_id, name, public_key_pem, trusted_by)
       VALUES ($1, $2, $3, $4) ON CONFLICT (key_id) DO NOTHING RETURNING ${COLUMNS.sql}`,
      [keyId, input.name.trim(), pem, input.actor],
    );
    const created = inserted[0];
    if (created) {
      await appendAudit(client, {
        actor: input.actor,
        action: 'signing-key-trusted',
        details: { keyId, name: created.name, sha256: fingerprint(pem) },
      });
      return { key: COLUMNS.record(created), trusted: true };
    }
    const existing = await getSigningKey(client, keyId);
    if (existing.revokedAt) {
      throw new RegistryError(
        'conflict',
        `Signing key ${keyId} was revoked by ${existing.revokedBy ?? '?'} at ${existing.revokedAt.toISOString()} ` +
          'and is never trusted again: sign with a new key and trust that one',
      );
    }
    return { key: existing, trusted: false };
  });
}

/**
 * Revokes a trusted key, with a `signing-key-revoked` audit row: from then on deploy, evaluation and
 * serving refuse what it signed, and a worker holding it refuses to start.
 *
 * @param pool the owner connection
 * @returns the key as stored and whether this call revoked it (false: it was revoked already)
 * @throws RegistryError (`not-found`) when no key with that id was ever trusted
 */
export async function revokeSigningKey(
  pool: pg.Pool,
  input: RevokeSigningKeyInput,
): Promise<{ key: SigningKeyRecord; revoked: boolean }> {
  checkToken(input.keyId, 'keyId');
  checkText(input.actor, 'actor', 'the admin who revokes the key');
  return inTransaction(pool, async (client) => {
    const { rows } = await client.query<TrustedKeyRow>(
      `UPDATE registry.trusted_signing_keys
          SET revoked_by = $2, revoked_at = now(), revoke_reason = $3
        WHERE key_id = $1 AND revoked_at IS NULL RETURNING ${COLUMNS.sql}`,
      [input.keyId, input.actor, input.reason ?? null],
    );
    const revoked = rows[0];
    if (!revoked) return { key: await getSigningKey(client, input.keyId), revoked: false };
    await appendAudit(client, {
      actor: input.actor,
      action: 'signing-key-revoked',
      details: { keyId: input.keyId, name: revoked.name, reason: input.reason ?? null },
    });
    return { key: COLUMNS.record(revoked), revoked: true };
  });
}

/** @throws RegistryError (`not-found`) when no key with that id was ever trusted */
export async function getSigningKey(db: Queryable, keyId: string): Promise<SigningKeyRecord> {
  const row = await readOne<TrustedKeyRow>(
    db,
    `SELECT ${COLUMNS.sql} FROM registry.trusted_signing_keys WHERE key_id = $1`,
    [keyId],
    `Signing key ${keyId} is not trusted, so nothing it signed can be: an admin trusts its public half ` +
      'with `kerf keys trust FILE --name NAME`, or re-sign with a trusted key',
  );
  return COLUMNS.record(row);
}

/** Whether a key is trusted now, was revoked, or was never trusted. */
export async function signingKeyTrust(db: Queryable, keyId: string): Promise<SigningKeyTrust> {
  const { rows } = await db.query<{ revoked: boolean }>(
    'SELECT revoked_at IS NOT NULL AS revoked FROM registry.trusted_signing_keys WHERE key_id = $1',
    [keyId],
  );
  const row = rows[0];
  if (!row) return 'unknown';
  return row.revoked ? 'revoked' : 'trusted';
}

/** The keys signatures are verified with: trusted and not revoked, oldest first. */
export async function listSigningKeys(db: Queryable): Promise<SigningKeyRecord[]> {
  const { rows } = await db.query<TrustedKeyRow>(
    `SELECT ${COLUMNS.sql} FROM registry.trusted_signing_keys WHERE revoked_at IS NULL
      ORDER BY trusted_at, key_id`,
  );
  return rows.map(COLUMNS.record);
}

/** Every key ever trusted, revoked ones included, oldest first (for `kerf keys list`). */
export async function listAllSigningKeys(db: Queryable): Promise<SigningKeyRecord[]> {
  const { rows } = await db.query<TrustedKeyRow>(
    `SELECT ${COLUMNS.sql} FROM registry.trusted_signing_keys ORDER BY trusted_at, key_id`,
  );
  return rows.map(COLUMNS.record);
}

/** The trusted public keys and the revoked ids, read in one query, for `verifyArtifact`. */
export async function verificationKeys(db: Queryable): Promise<VerificationKeys> {
  const keys = await listAllSigningKeys(db);
  const revokedKeys = new Map<string, string>();
  const trustedPublicKeys: string[] = [];
  for (const key of keys) {
    if (key.revokedAt) {
      revokedKeys.set(key.keyId, `revoked by ${key.revokedBy ?? '?'} at ${key.revokedAt.toISOString()}`);
    } else {
      trustedPublicKeys.push(key.publicKeyPem);
    }
  }
  return { trustedPublicKeys, revokedKeys };
}

function canonicalPublicKeyPem(key: string | KeyObject): string {
  if (typeof key !== 'string' && key.type !== 'public') {
    throw new RegistryError(
      'invalid-input',
      `publicKey is a ${key.type} key: give the public half only; the private half never leaves the signer`,
    );
  }
  if (typeof key === 'string' && key.includes('PRIVATE KEY')) {
    throw new RegistryError(
      'invalid-input',
      'publicKey is a private key: give the public half only (the .pub file beside the key), the private half never leaves the signer',
    );
  }
  let publicKey: KeyObject;
  try {
    publicKey = typeof key === 'string' ? createPublicKey(key) : key;
  } catch (error) {
    throw new RegistryError(
      'invalid-input',
      `publicKey is not a readable public key (${(error as Error).message}): give the SPKI PEM text, ` +
        'e.g. the .pub file beside a development key or `openssl pkey -in KEY.pem -pubout`',
      { cause: error },
    );
  }
  if (publicKey.type !== 'public') {
    throw new RegistryError(
      'invalid-input',
      `publicKey is a ${publicKey.type} key: give the public half only; the private half never leaves the signer`,
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
