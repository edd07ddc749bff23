/**
 * People in `access.users` and their CLI keys in `access.user_keys`: add, list, disable, issue a
 * key (shown once), and authenticate a presented key. Admin actions are audited.
 */
import type pg from 'pg';
import { appendAudit, type AuditInput } from '../registry/audit';
import { TableColumns } from '../registry/columns';
import { inTransaction, type Queryable } from '../registry/sql';
import { AccessError } from './errors';
import { type AccessUser, type Role, EVERY_MODEL } from './roles';
import { issueSecret, parseSecret, secretExample, verifySecret } from './secrets';

/** A person whose key verified just now. */
export interface Identity {
  user: AccessUser;
  keyId: string;
  /** How they proved it. */
  method: 'cli-key';
}

interface UserRow {
  name: string;
  display_name: string;
  roles: Role[];
  models: string[];
  disabled_at: Date | null;
}

const USER_COLUMNS = new TableColumns<UserRow>(['name', 'display_name', 'roles', 'models', 'disabled_at']);
const USER_NAME = /^[a-z][a-z0-9._-]{0,62}$/;
const MODEL_NAME = /^[a-z0-9]+(-[a-z0-9]+)*$/;

function checkUserName(name: string): void {
  if (!USER_NAME.test(name)) {
    throw new AccessError(
      'invalid-input',
      `user name ${JSON.stringify(name.slice(0, 80))} is not usable: start with a letter, then lower-case letters, digits, ".", "_" or "-" (at most 63)`,
    );
  }
}

function checkModels(models: string[]): void {
  for (const model of models) {
    if (model !== EVERY_MODEL && (!MODEL_NAME.test(model) || model.length > 63)) {
      throw new AccessError(
        'invalid-input',
        `model ${JSON.stringify(model.slice(0, 80))} is not a pipeline name: use kebab-case names, or * for every model`,
      );
    }
  }
}

/** Who acts in the audit log for an admin action: the admin, or `bootstrap` for the first one. */
export type AdminActor = Identity | 'bootstrap';

function actorName(by: AdminActor): string {
  return by === 'bootstrap' ? 'bootstrap' : by.user.name;
}

/** Refuses anyone who is not an enabled admin. */
export function requireAdmin(identity: Identity): void {
  if (identity.user.disabledAt || !identity.user.roles.includes('admin')) {
    throw new AccessError('forbidden', `user ${identity.user.name} is not an admin: ask an admin to do this`);
  }
}

/** What an admin change writes to the audit log (the actor is added from who made it). */
export type AdminChangeAudit = Omit<AuditInput, 'actor'>;

/** Returned by an admin change that found nothing to do: it writes no audit entry. */
export const NOTHING_CHANGED = Symbol('nothing changed');

/**
 * Runs an admin's change in one transaction with its audit entry, so the change and its record
 * commit together or not at all. Refuses anyone but an enabled admin (or `bootstrap`, which
 * `addUser` checks itself).
 */
export async function changeAsAdmin<T>(
  pool: pg.Pool,
  by: AdminActor,
  audit: AdminChangeAudit,
  change: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  if (by !== 'bootstrap') requireAdmin(by);
  return inTransaction(pool, async (client) => {
    const result = await change(client);
    if (result !== NOTHING_CHANGED) await appendAudit(client, { actor: actorName(by), ...audit });
    return result;
  });
}

/** Whether nobody has been added yet: then the first admin may be added without a key. */
export async function accessIsEmpty(db: Queryable): Promise<boolean> {
  const { rows } = await db.query<{ any: boolean }>('SELECT EXISTS (SELECT 1 FROM access.users) AS any');
  return !rows[0]?.any;
}

export interface NewUser {
  name: string;
  displayName?: string;
  roles: Role[];
  /** Pipeline names, or `*`. */
  models: string[];
}

/**
 * Adds a user and issues their first key (returned once; only its hash is stored). `bootstrap`
 * adds the first admin of an empty access schema and is refused once anyone exists.
 *
 * @throws AccessError (`forbidden`, `conflict`, `invalid-input`)
 */
export async function addUser(
  pool: pg.Pool,
  user: NewUser,
  by: AdminActor,
): Promise<{ user: AccessUser; key: string }> {
  checkUserName(user.name);
  checkModels(user.models);
  const key = await issueSecret('user-key');
  const audit = {
    action: 'user-added',
    details: { user: user.name, roles: user.roles, models: user.models, keyId: key.id },
  };
  return changeAsAdmin(pool, by, audit, async (client) => {
    // Two first starts at once: one of them adds the first admin, the other is refused.
    await client.query("SELECT pg_advisory_xact_lock(hashtext('kerf-access-users'))");
    if (by === 'bootstrap') {
      if (!(await accessIsEmpty(client))) {
        throw new AccessError(
          'forbidden',
          'users exist already: only an admin adds users (log in with `kerf login` or KERF_KEY)',
        );
      }
      if (!user.roles.includes('admin')) {
        throw new AccessError('invalid-input', 'the first user must be an admin (--role admin)');
      }
    }
    const existing = await client.query('SELECT 1 FROM access.users WHERE name = $1', [user.name]);
    if (existing.rowCount) throw new AccessError('conflict', `user ${user.name} exists already`);
    const { rows } = await client.query<UserRow>(
      `INSERT INTO access.users (name, display_name, roles, models, created_by)
       VALUES ($1, $2, $3, $4, $5) RETURNING ${USER_COLUMNS.sql}`,
      [user.name, user.displayName ?? '', user.roles, user.models, actorName(by)],
    );
    await client.query('INSERT INTO access.user_keys (key_id, user_name, secret_hash) VALUES ($1, $2, $3)', [
      key.id,
      user.name,
      key.hash,
    ]);
    return { user: USER_COLUMNS.record(rows[0] as UserRow), key: key.text };
  });
}

/** Every user, by name. */
export async function listUsers(db: Queryable): Promise<AccessUser[]> {
  const { rows } = await db.query<UserRow>(`SELECT ${USER_COLUMNS.sql} FROM access.users ORDER BY name`);
  return rows.map(USER_COLUMNS.record);
}

/** One user, or undefined. */
export async function getUser(db: Queryable, name: string): Promise<AccessUser | undefined> {
  const { rows } = await db.query<UserRow>(`SELECT ${USER_COLUMNS.sql} FROM access.users WHERE name = $1`, [
    name,
  ]);
  return rows[0] ? USER_COLUMNS.record(rows[0]) : undefined;
}

/** Disables a user: their keys stop working and their unused codes stop verifying. */
export async function disableUser(pool: pg.Pool, name: string, by: Identity): Promise<void> {
  await changeAsAdmin(pool, by, { action: 'user-disabled', details: { user: name } }, async (client) => {
    const { rowCount } = await client.query(
      'UPDATE access.users SET disabled_at = now() WHERE name = $1 AND disabled_at IS NULL',
      [name],
    );
    if (rowCount) return undefined;
    if (!(await getUser(client, name))) throw new AccessError('not-found', `no user ${name}`);
    return NOTHING_CHANGED;
  });
}

/** Issues a new key for a user (their other keys keep working until revoked); returned once. */
export async function issueUserKey(pool: pg.Pool, name: string, by: Identity): Promise<string> {
  const key = await issueSecret('user-key');
  await changeAsAdmin(
    pool,
    by,
    { action: 'user-key-issued', details: { user: name, keyId: key.id } },
    async (client) => {
      const user = await getUser(client, name);
      if (!user) throw new AccessError('not-found', `no user ${name}`);
      await client.query(
        'INSERT INTO access.user_keys (key_id, user_name, secret_hash) VALUES ($1, $2, $3)',
        [key.id, name, key.hash],
      );
    },
  );
  return key.text;
}

/** Revokes one key by its id (the part after `kk_`). */
export async function revokeUserKey(pool: pg.Pool, keyId: string, by: Identity): Promise<void> {
  await changeAsAdmin(pool, by, { action: 'user-key-revoked', details: { keyId } }, async (client) => {
    const { rowCount } = await client.query(
      'UPDATE access.user_keys SET revoked_at = now() WHERE key_id = $1 AND revoked_at IS NULL',
      [keyId],
    );
    if (!rowCount) throw new AccessError('not-found', `no key ${keyId} in use`);
  });
}

const NOT_A_KEY = `that is not a Kerf key (${secretExample('user-key')}): log in with a key an admin issued you (\`kerf users key NAME\`)`;

/**
 * Who a presented key belongs to. The key is looked up by its id and verified with scrypt once; a
 * revoked key or a disabled user is refused like a wrong key, in words that do not say which.
 *
 * @throws AccessError (`unauthenticated`)
 */
export async function authenticateKey(db: Queryable, presented: unknown): Promise<Identity> {
  const parsed = parseSecret('user-key', presented);
  if (!parsed) throw new AccessError('unauthenticated', NOT_A_KEY);
  const { rows } = await db.query<UserRow & { secret_hash: string; revoked_at: Date | null }>(
    `SELECT u.name, u.display_name, u.roles, u.models, u.disabled_at, k.secret_hash, k.revoked_at
     FROM access.user_keys k JOIN access.users u ON u.name = k.user_name WHERE k.key_id = $1`,
    [parsed.id],
  );
  const row = rows[0];
  const verified = row ? await verifySecret(parsed.secret, row.secret_hash) : false;
  if (!row || !verified || row.revoked_at || row.disabled_at) {
    throw new AccessError(
      'unauthenticated',
      'the key was not accepted (unknown, wrong, revoked, or its user is disabled): ask an admin for a new one',
    );
  }
  await db.query('UPDATE access.user_keys SET last_used_at = now() WHERE key_id = $1', [parsed.id]);
  return { user: USER_COLUMNS.record(row), keyId: parsed.id, method: 'cli-key' };
}

/** Refuses anyone without `role`. */
export function requireRole(identity: Identity, role: Role): void {
  const { user } = identity;
  if (user.disabledAt || !user.roles.includes(role)) {
    throw new AccessError(
      'forbidden',
      `user ${user.name} is not a ${role}: ask an admin for the ${role} role`,
    );
  }
}
