/**
 * The embedded stack's generated secrets (database passwords, S3 keys): one 0600 file each under
 * `<dataDir>/secrets/` (a 0700 folder), made on first use with node:crypto and read back afterwards,
 * so nothing secret is fixed in the source or passed on a command line.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** The secrets the embedded stack keeps, by file name. */
export type EmbeddedSecretName =
  | 'postgres-admin-password'
  | 'postgres-owner-password'
  | 'postgres-app-password'
  | 'postgres-reader-password'
  | 'postgres-temporal-password'
  | 's3-access-key-id'
  | 's3-secret-access-key'
  | 'webhook-signing-secret';

/** The secrets every embedded stack makes; `postgres-temporal-password` only exists in cluster mode. */
export const EMBEDDED_SECRET_NAMES: readonly EmbeddedSecretName[] = [
  'postgres-admin-password',
  'postgres-owner-password',
  'postgres-app-password',
  'postgres-reader-password',
  's3-access-key-id',
  's3-secret-access-key',
];

/** Where the embedded stack keeps its secrets. */
export const secretsDir = (dataDir: string) => path.join(dataDir, 'secrets');

/** Reads a secret by name; the configuration takes one of these so tests can hand in their own. */
export type SecretSource = (name: EmbeddedSecretName) => string;

/**
 * A secret source over `<dataDir>/secrets/`: each secret is read from its file, or made (24 random
 * bytes, base64url) and written 0600 when the file does not exist yet.
 *
 * Safe when several processes start at once: the new secret is written to a private temporary file
 * and hard-linked into place, which fails when another process got there first; its secret is then
 * read instead, so every process ends up with the same one.
 */
export function fileSecrets(dataDir: string): SecretSource {
  const dir = secretsDir(dataDir);
  return (name) => {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // A folder made earlier by hand (or by an older Kerf) may be wider: secrets are for this user only.
    if ((statSync(dir).mode & 0o077) !== 0) chmodSync(dir, 0o700);
    const file = path.join(dir, name);
    const existing = readSecretFile(file);
    if (existing !== undefined) return existing;
    const secret = randomBytes(24).toString('base64url');
    const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    writeFileSync(temporary, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    try {
      linkSync(temporary, file);
      return secret;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const winner = readSecretFile(file);
      if (winner === undefined)
        throw new Error(`the secret file ${file} is empty; delete it to make a new one`);
      return winner;
    } finally {
      unlinkSync(temporary);
    }
  };
}

function readSecretFile(file: string): string | undefined {
  try {
    const text = readFileSync(file, 'utf8').trim();
    return text === '' ? undefined : text;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
