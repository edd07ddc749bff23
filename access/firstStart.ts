/**
 * The people of a fresh local Kerf: on the first start (an empty access schema) an admin (who also
 * starts runs) and an approver of the shipped pipelines, their keys in 0600 files under
 * `.data/credentials/`, so the README's two commands and one approval reach a deployed model.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type pg from 'pg';
import { presentedKey, storeKey } from './credentials';
import { authenticateKey, accessIsEmpty, addUser, type Identity } from './users';

/** The first admin's name. */
export const FIRST_ADMIN = 'kerf-admin';
/** The first approver's name: an approver in every shipped spec. */
export const FIRST_APPROVER = 'shop-manager';

export interface FirstPeople {
  /** The admin, authenticated from their credentials file; undefined when that file is gone. */
  admin?: Identity;
  /** Where each person's key is kept. */
  credentialsFiles: { admin: string; approver: string };
  /** True when this call created them. */
  created: boolean;
}

/** The pipeline names of the shipped specs (`pipelines/*.json`). */
async function shippedPipelines(pipelinesDir: string): Promise<string[]> {
  const names: string[] = [];
  for (const file of (await readdir(pipelinesDir)).filter((name) => name.endsWith('.json')).sort()) {
    const spec = JSON.parse(await readFile(path.join(pipelinesDir, file), 'utf8')) as { name?: unknown };
    if (typeof spec.name === 'string') names.push(spec.name);
  }
  return names;
}

/**
 * Creates the first admin and approver when nobody exists yet; afterwards finds the admin again
 * from their credentials file (an admin may have changed things since: then nothing is created).
 */
export async function ensureFirstPeople(
  pool: pg.Pool,
  options: { credentialsDir: string; pipelinesDir: string },
): Promise<FirstPeople> {
  const credentialsFiles = {
    admin: path.join(options.credentialsDir, FIRST_ADMIN),
    approver: path.join(options.credentialsDir, FIRST_APPROVER),
  };
  if (await accessIsEmpty(pool)) {
    const admin = await addUser(
      pool,
      { name: FIRST_ADMIN, displayName: 'Kerf admin (first start)', roles: ['admin', 'starter'], models: [] },
      'bootstrap',
    );
    const identity = await authenticateKey(pool, admin.key);
    const approver = await addUser(
      pool,
      {
        name: FIRST_APPROVER,
        displayName: 'Shop manager (first start)',
        roles: ['approver', 'operator'],
        models: await shippedPipelines(options.pipelinesDir),
      },
      identity,
    );
    await storeKey(credentialsFiles.admin, admin.key);
    await storeKey(credentialsFiles.approver, approver.key);
    return { admin: identity, credentialsFiles, created: true };
  }
  try {
    const key = await presentedKey({ credentialsFile: credentialsFiles.admin });
    return { admin: await authenticateKey(pool, key), credentialsFiles, created: false };
  } catch {
    return { credentialsFiles, created: false };
  }
}
