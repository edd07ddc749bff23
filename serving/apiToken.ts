/**
 * The prediction API's bearer token: KERF_API_TOKEN when set; otherwise a development token made
 * once and kept in `.data/api-token` (mode 0600), so a local `npm start` needs no setup.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { KerfConfig } from '../platform/config';

export async function apiToken(
  config: KerfConfig,
): Promise<{ token: string; source: 'configuration' | 'file' }> {
  if (config.api.token) return { token: config.api.token, source: 'configuration' };
  try {
    const kept = (await readFile(config.api.tokenFile, 'utf8')).trim();
    if (kept.length >= 16) return { token: kept, source: 'file' };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const token = randomBytes(24).toString('base64url');
  await mkdir(path.dirname(config.api.tokenFile), { recursive: true });
  await writeFile(config.api.tokenFile, `${token}\n`, { mode: 0o600 });
  return { token, source: 'file' };
}
