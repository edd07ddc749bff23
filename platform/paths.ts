/** Where the repository keeps what it builds and what the embedded stack stores. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root folder. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Default folders: `.data/` for the stack's data, `.tools/` for tools Kerf builds. Both are git-ignored. */
export const defaultPaths = {
  dataDir: path.join(repoRoot, '.data'),
  toolsDir: path.join(repoRoot, '.tools'),
  pipelinesDir: path.join(repoRoot, 'pipelines'),
} as const;

/** The numbered SQL migrations. */
export const migrationsDir = path.join(repoRoot, 'infra', 'migrations');
