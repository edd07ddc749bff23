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
