import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../../platform/paths';

const run = promisify(execFile);
const kerf = path.join(repoRoot, 'scripts', 'kerf.mjs');

describe('kerf serve', () => {
  it('is a command of its own: only the prediction API', async () => {
    const { stdout } = await run('node', [kerf, 'serve', '--help'], { cwd: repoRoot });
    expect(stdout).toMatch(/Usage: kerf serve/);
    expect(stdout).toMatch(/only the prediction API/);
  });

  it('stops before listening when its address is malformed, naming the variable', async () => {
    const failed = await run('node', [kerf, 'serve'], {
      cwd: repoRoot,
      env: { ...process.env, KERF_API_HOST: 'not an address' },
    }).then(
      () => undefined,
      (error: unknown) => error as { code: number; stderr: string },
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toMatch(/KERF_API_HOST must be an address to listen on/);
  });
});
