/**
 * Private key files Kerf creates itself on a developer's machine (the manifest signing key, the
 * model-signing key): made once with mode 0600 and never replaced, so every process that starts
 * later, or at the same moment, uses the same key; the public half is written beside it.
 */
import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * The PEM in `keyFile`, created from `newPrivateKeyPem()` when the file does not exist. Two
 * processes starting at once end up with the same key: each writes a private temporary file and
 * hard-links it into place, which never replaces an existing key.
 *
 * @param what names the key in errors, e.g. `the development signing key`
 * @returns the file's PEM, and whether this call created the file
 */
export async function readOrCreateKeyFile(
  keyFile: string,
  newPrivateKeyPem: () => string,
  what: string,
): Promise<{ pem: string; created: boolean }> {
  const existing = await readIfExists(keyFile);
  if (existing !== undefined) return { pem: existing, created: false };
  const created = await createKeyFile(keyFile, newPrivateKeyPem, what);
  // Whoever won the race, the file now holds the one key: read it back rather than trust memory.
  return { pem: await readFile(keyFile, 'utf8'), created };
}

/**
 * Writes the public half beside the key when it is missing or different (readable by all: it is public).
 *
 * @param what names the key in errors, e.g. `the public signing key`
 */
export async function recordPublicKey(
  publicKeyFile: string,
  publicKeyPem: string,
  what: string,
): Promise<void> {
  if ((await readIfExists(publicKeyFile)) === publicKeyPem) return;
  const temporary = temporaryNameFor(publicKeyFile);
  try {
    await writeFile(temporary, publicKeyPem, { mode: 0o644, flag: 'wx' });
    // Every writer writes the same text, so replacing is harmless; rename keeps readers from half a file.
    await rename(temporary, publicKeyFile);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw new Error(`Could not record ${what} in ${publicKeyFile}: ${errorMessage(error)}`);
  }
}

/** Creates the key file unless another process got there first; true when this call created it. */
async function createKeyFile(
  keyFile: string,
  newPrivateKeyPem: () => string,
  what: string,
): Promise<boolean> {
  // Default folder modes: the key file itself is 0600, and `.data/` must stay reachable for the stack.
  await mkdir(path.dirname(keyFile), { recursive: true });
  const pem = newPrivateKeyPem();
  const temporary = temporaryNameFor(keyFile);
  try {
    // `wx` and mode 0600 from the start: the key is never readable by others, not even briefly.
    await writeFile(temporary, pem, { mode: 0o600, flag: 'wx' });
    await chmod(temporary, 0o600);
    // link() fails with EEXIST instead of replacing: the first key written is the one kept.
    await link(temporary, keyFile);
    return true;
  } catch (error) {
    if (isErrno(error, 'EEXIST')) return false;
    throw new Error(`Could not create ${what} ${keyFile}: ${errorMessage(error)}`);
  } finally {
    await unlink(temporary).catch(() => undefined);
  }
}

function temporaryNameFor(file: string): string {
  return `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return undefined;
    throw error;
  }
}

function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
