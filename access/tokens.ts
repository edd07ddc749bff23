/**
 * Service tokens of API clients (`access.service_tokens`): add (shown once), list, revoke, and
 * authenticate a presented bearer token with its scopes.
 */
import type pg from 'pg';
import { TableColumns } from '../registry/columns';
import type { Queryable } from '../registry/sql';
import { AccessError } from './errors';
import type { Scope } from './roles';
import { issueSecret, parseSecret, verifySecret } from './secrets';
import { changeAsAdmin, requireAdmin, type Identity } from './users';

export interface ServiceToken {
  tokenId: string;
  name: string;
  scopes: Scope[];
  createdAt: Date;
  createdBy: string;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
}

interface TokenRow {
  token_id: string;
  name: string;
  scopes: Scope[];
  created_at: Date;
  created_by: string;
  revoked_at: Date | null;
  last_used_at: Date | null;
}

const TOKEN_COLUMNS = new TableColumns<TokenRow>([
  'token_id',
  'name',
  'scopes',
  'created_at',
  'created_by',
  'revoked_at',
  'last_used_at',
]);
const TOKEN_NAME = /^[a-z][a-z0-9._-]{0,62}$/;

/**
 * Adds a token for an API client; the token text is returned once (only its hash is stored).
 *
 * @throws AccessError (`forbidden`, `conflict`, `invalid-input`)
 */
export async function addServiceToken(
  pool: pg.Pool,
  input: { name: string; scopes: Scope[] },
  by: Identity,
): Promise<{ token: ServiceToken; text: string }> {
  // Before the name check (changeAsAdmin checks again): a non-admin learns nothing about names.
  requireAdmin(by);
  if (!TOKEN_NAME.test(input.name)) {
    throw new AccessError(
      'invalid-input',
      `token name ${JSON.stringify(input.name.slice(0, 80))} is not usable: a letter, then lower-case letters, digits, ".", "_" or "-"`,
    );
  }
  const secret = await issueSecret('service-token');
  const audit = {
    action: 'service-token-added',
    details: { token: input.name, tokenId: secret.id, scopes: input.scopes },
  };
  return changeAsAdmin(pool, by, audit, async (client) => {
    const existing = await client.query('SELECT 1 FROM access.service_tokens WHERE name = $1', [input.name]);
    if (existing.rowCount) throw new AccessError('conflict', `a token named ${input.name} exists already`);
    const { rows } = await client.query<TokenRow>(
      `INSERT INTO access.service_tokens (token_id, name, scopes, secret_hash, created_by)
       VALUES ($1, $2, $3, $4, $5) RETURNING ${TOKEN_COLUMNS.sql}`,
      [secret.id, input.name, input.scopes, secret.hash, by.user.name],
    );
    return { token: TOKEN_COLUMNS.record(rows[0] as TokenRow), text: secret.text };
  });
}

/** Every token (never its secret), by name. */
export async function listServiceTokens(db: Queryable): Promise<ServiceToken[]> {
  const { rows } = await db.query<TokenRow>(
    `SELECT ${TOKEN_COLUMNS.sql} FROM access.service_tokens ORDER BY name`,
  );
  return rows.map(TOKEN_COLUMNS.record);
}

/** Revokes a token by name: the API refuses it from the next request on. */
export async function revokeServiceToken(pool: pg.Pool, name: string, by: Identity): Promise<void> {
  await changeAsAdmin(
    pool,
    by,
    { action: 'service-token-revoked', details: { token: name } },
    async (client) => {
      const { rowCount } = await client.query(
        'UPDATE access.service_tokens SET revoked_at = now() WHERE name = $1 AND revoked_at IS NULL',
        [name],
      );
      if (!rowCount) throw new AccessError('not-found', `no token named ${name} in use`);
    },
  );
}

/** A token row as the API checks it. */
export interface TokenRecord {
  tokenId: string;
  name: string;
  scopes: Scope[];
  secretHash: string;
  revoked: boolean;
}

/** The stored record of a presented token's id, or undefined when it is not shaped like a token or unknown. */
export async function findServiceToken(
  db: Queryable,
  presented: string,
): Promise<{ record: TokenRecord; secret: string } | undefined> {
  const parsed = parseSecret('service-token', presented);
  if (!parsed) return undefined;
  const { rows } = await db.query<{
    token_id: string;
    name: string;
    scopes: Scope[];
    secret_hash: string;
    revoked: boolean;
  }>(
    `SELECT token_id, name, scopes, secret_hash, revoked_at IS NOT NULL AS revoked
     FROM access.service_tokens WHERE token_id = $1`,
    [parsed.id],
  );
  const row = rows[0];
  if (!row) return undefined;
  return {
    record: {
      tokenId: row.token_id,
      name: row.name,
      scopes: row.scopes,
      secretHash: row.secret_hash,
      revoked: row.revoked,
    },
    secret: parsed.secret,
  };
}

/** Whether the presented secret is the token's (scrypt, constant-time compare). */
export function tokenSecretMatches(secret: string, record: TokenRecord): Promise<boolean> {
  return verifySecret(secret, record.secretHash);
}

/** Notes that a token was used (the caller throttles this). */
export async function touchServiceToken(db: Queryable, tokenId: string): Promise<void> {
  await db.query('UPDATE access.service_tokens SET last_used_at = now() WHERE token_id = $1', [tokenId]);
}
