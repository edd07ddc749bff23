/**
 * Workflow versioning discipline: recorded histories of real lifecycle runs replay through the
 * current workflow code (Worker.runReplayHistories, in scripts/replayHistories.ts). A change that
 * would break runs already in flight (a new activity call, a reordered step) fails here; guard such
 * a change with `patched()`. Record new fixtures with
 * `KERF_RECORD_HISTORIES=1 npx vitest run --project integration test/integration/lifecycle` and
 * keep the old ones.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../../platform/paths';

const historiesDir = path.join(repoRoot, 'test/replay/histories');
let scratch: string | undefined;

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

function replay(...targets: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', path.join(repoRoot, 'scripts/replayHistories.ts'), ...targets],
      { cwd: repoRoot, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout });
      },
    );
  });
}

const results = (stdout: string) => stdout.split('\n').filter((line) => /^(ok|FAIL) /.test(line));

describe('recorded lifecycle histories', () => {
  it('replay through the current workflow code without nondeterminism', async () => {
    const { code, stdout } = await replay();
    const lines = results(stdout);
    expect(lines.length).toBeGreaterThanOrEqual(6);
    expect(lines.filter((line) => !line.startsWith('ok '))).toEqual([]);
    expect(code).toBe(0);
  }, 120_000);

  it('fail for a history the code would not make (an activity renamed in it)', async () => {
    scratch = await mkdtemp(path.join(os.tmpdir(), 'kerf-replay-'));
    const recorded = await readFile(path.join(historiesDir, 'unchanged.json'), 'utf8');
    expect(recorded).toContain('"registerVersion"');
    const altered = path.join(scratch, 'altered.json');
    await writeFile(altered, recorded.replaceAll('"registerVersion"', '"registerModelVersion"'));
    const { code, stdout } = await replay(altered);
    expect(results(stdout)).toEqual([expect.stringMatching(/^FAIL altered: .*[Nn]ondeterminism/)]);
    expect(code).toBe(1);
  }, 120_000);
});
