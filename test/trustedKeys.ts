/**
 * Trust for the signing key test workers use: an explicit admin step in each test's setup, as a
 * deployment's admin would run `kerf keys trust`, since workers no longer vouch for their own key.
 */
import type pg from 'pg';
import type { KerfConfig } from '../platform/config';
import { loadOrCreateSigningKey, type SigningKey } from '../lifecycle/signing';
import { trustSigningKey } from '../registry';

/**
 * Trusts the signing key workers built from `config` will use (the worktree's development key unless
 * the config names another) in the database behind `pool`.
 *
 * @returns the key, for tests that sign or check with it
 */
export async function trustWorkerSigningKey(pool: pg.Pool, config: KerfConfig): Promise<SigningKey> {
  const key = await loadOrCreateSigningKey(config.signing);
  await trustSigningKey(pool, { publicKey: key.publicKeyPem, name: 'test workers', actor: 'test-admin' });
  return key;
}
