/**
 * The CLI's login: a person's key comes from `KERF_KEY` or from a credentials file
 * (`KERF_CREDENTIALS_FILE`, by default `~/.config/kerf/credentials`) that only its owner may read
 * (mode 0600). `kerf login` writes that file.
 */
import { chmod, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { AccessError } from './errors';

const loginEnvironment = z.object({
  KERF_KEY: z
    .string()
    .trim()
    .optional()
    .transform((value) => (value === '' ? undefined : value)),
  KERF_CREDENTIALS_FILE: z
    .string()
    .trim()
    .optional()
    .transform((value) => (value === '' ? undefined : value)),
});

/** Where the CLI finds a person's key. */
export interface LoginSettings {
  /** The key itself, from `KERF_KEY`. */
  key?: string;
  /** The credentials file. */
  credentialsFile: string;
}

/** Reads the login settings from an environment (the CLI passes `process.env`) and a home folder. */
export function loginSettings(env: Record<string, string | undefined>, home: string): LoginSettings {
  const parsed = loginEnvironment.parse({
    KERF_KEY: env.KERF_KEY,
    KERF_CREDENTIALS_FILE: env.KERF_CREDENTIALS_FILE,
  });
  return {
    ...(parsed.KERF_KEY ? { key: parsed.KERF_KEY } : {}),
    credentialsFile: path.resolve(
      parsed.KERF_CREDENTIALS_FILE ?? path.join(home, '.config', 'kerf', 'credentials'),
    ),
  };
}

/**
 * The key to present: `KERF_KEY`, else the credentials file's first line. A file that others may
 * read or write is refused, with the command that fixes it.
 *
 * @throws AccessError (`unauthenticated`) when there is no key, or the file is not private
 */
export async function presentedKey(settings: LoginSettings): Promise<string> {
  if (settings.key) return settings.key;
  const file = settings.credentialsFile;
  let mode: number;
  try {
    mode = (await stat(file)).mode;
  } catch {
    throw new AccessError(
      'unauthenticated',
      `not logged in: run \`kerf login\` with the key an admin gave you, or set KERF_KEY (no credentials file at ${file})`,
    );
  }
  if ((mode & 0o077) !== 0) {
    throw new AccessError(
      'unauthenticated',
      `the credentials file ${file} may be read by others (mode ${(mode & 0o777).toString(8)}): run \`chmod 600 ${file}\``,
    );
  }
  const key = (await readFile(file, 'utf8')).split('\n')[0]?.trim() ?? '';
  if (!key)
    throw new AccessError('unauthenticated', `the credentials file ${file} is empty: run \`kerf login\``);
  return key;
}

/** Writes a key to the credentials file with mode 0600 (its folder 0700), replacing what was there. */
export async function storeKey(file: string, key: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const draft = `${file}.${process.pid}.tmp`;
  await writeFile(draft, `${key}\n`, { mode: 0o600 });
  await chmod(draft, 0o600);
  await rename(draft, file);
}
