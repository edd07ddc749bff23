/** The CLI's authenticated person: the key from KERF_KEY or the credentials file, verified against the database. */
import os from 'node:os';
import type pg from 'pg';
import { authenticateKey, type Identity, loginSettings, presentedKey } from '../../access';
import { loadConfig, type KerfConfig } from '../../platform/config';
import { createPool } from '../../platform/database';
import { defaultPaths } from '../../platform/paths';

/** Runs `work` with a pool on Kerf's database; the pool is ended afterwards. */
export async function withDatabase<T>(
  applicationName: string,
  work: (pool: pg.Pool, config: KerfConfig) => Promise<T>,
): Promise<T> {
  const config = loadConfig(process.env, defaultPaths);
  const pool = createPool(config.postgres, { max: 2, applicationName });
  try {
    return await work(pool, config);
  } finally {
    await pool.end();
  }
}

/**
 * The person running this command, from their key (KERF_KEY, else the credentials file).
 *
 * @throws AccessError (`unauthenticated`) with what to do
 */
export async function currentIdentity(pool: pg.Pool): Promise<Identity> {
  const key = await presentedKey(loginSettings(process.env, os.homedir()));
  return authenticateKey(pool, key);
}

/** Runs `work` against the database as the logged-in person (their identity from their key). */
export async function asLoggedIn<T>(
  applicationName: string,
  work: (pool: pg.Pool, by: Identity) => Promise<T>,
): Promise<T> {
  return withDatabase(applicationName, async (pool) => work(pool, await currentIdentity(pool)));
}

/** The refusal of the removed `--as` option: a typed name proves nothing. */
export const AS_REMOVED =
  '--as is no longer accepted: a typed name proves nothing. Log in (`kerf login`, or set KERF_KEY) and Kerf takes your name from your key.';
