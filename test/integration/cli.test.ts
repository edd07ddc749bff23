import { describe, expect, it } from 'vitest';
import { runKerf } from '../helpers';

describe('the kerf command', () => {
  it('reports the shared stack healthy and exits 0', async () => {
    const { code, stdout } = await runKerf(['stack', 'status', '--json']);
    expect(code).toBe(0);
    const health = JSON.parse(stdout) as { part: string; healthy: boolean; address: string }[];
    expect(health.map((part) => part.part).sort()).toEqual(['postgres', 's3', 'temporal']);
    expect(health.every((part) => part.healthy)).toBe(true);
  });

  it('refuses a malformed DATABASE_URL in one clear line and exits 1', async () => {
    const { code, stderr } = await runKerf(['stack', 'status'], { DATABASE_URL: 'localhost:5432' });
    expect(code).toBe(1);
    expect(stderr).toMatch(/DATABASE_URL must look like postgres:\/\/USER:PASSWORD@HOST:PORT\/DATABASE/);
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it('lists its commands with examples', async () => {
    const { stdout } = await runKerf(['--help']);
    for (const command of ['start', 'stack', 'tools', 'worker']) expect(stdout).toContain(command);
    expect((await runKerf(['start', '--help'])).stdout).toContain('kerf start --once');
  });
});

describe('kerf error paths', () => {
  it('answers an unknown model, a bad spec path and an unreachable stack with one line and exit 1', async () => {
    const unknown = await runKerf(['versions', 'no-such-model']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim()).toBe(
      'kerf: no versions of no-such-model; check the name with `kerf models`.',
    );

    const badPath = await runKerf(['run', 'pipelines/no-such-spec.json']);
    expect(badPath.code).toBe(1);
    expect(badPath.stderr.trim()).toBe(
      'kerf: no spec file pipelines/no-such-spec.json; the shipped ones are in pipelines/ (e.g. pipelines/cut-time.json).',
    );

    const down = await runKerf(['status', 'lifecycle-x'], { TEMPORAL_ADDRESS: '127.0.0.1:9' });
    expect(down.code).toBe(1);
    expect(down.stderr.trim().split('\n')).toHaveLength(1);
    expect(down.stderr).toMatch(
      /^kerf: cannot reach Temporal at 127\.0\.0\.1:9 .*start the stack with `kerf stack up`/,
    );

    const noSchedule = await runKerf(['schedule', 'trigger', 'no-such-model']);
    expect(noSchedule.code).toBe(1);
    expect(noSchedule.stderr.trim()).toBe(
      'kerf: no-such-model has no nightly schedule: it is created when a version is deployed.',
    );
  });
});
