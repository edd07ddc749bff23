/** Which code trained a model: the git commit when Kerf runs from a checkout, else the package version. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './paths';

let cached: string | undefined;

export function currentCodeVersion(): string {
  if (cached !== undefined) return cached;
  try {
    const commit = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .trim();
    cached = dirty === '' ? `git:${commit}` : `git:${commit}+changes`;
  } catch {
    const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    cached = `kerf@${pkg.version}`;
  }
  return cached;
}
