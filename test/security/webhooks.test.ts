/**
 * Webhooks under hostile configuration and hostile receivers: a URL that is not http(s) or a short
 * secret is refused at start without the value in the message; credentials in a URL never reach the
 * delivery log; a receiver that redirects is not followed (the signed body would reach whoever it
 * names); a receiver that hangs costs one attempt's timeout, not the run.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../platform/config';
import { postSigned, shownUrl } from '../../platform/webhooks';

const paths = { dataDir: '/srv/kerf/.data', toolsDir: '/srv/kerf/.tools' };
const secrets = (name: string) => `generated-${name}`;

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env, paths, secrets);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

const hits: { path: string; authorization?: string }[] = [];
let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((request, response) => {
    hits.push({
      path: request.url ?? '',
      ...(request.headers.authorization ? { authorization: request.headers.authorization } : {}),
    });
    request.resume();
    if (request.url === '/redirect') {
      response.writeHead(307, { location: `${base}/stolen` }).end();
    } else if (request.url === '/hang') {
      // Never answers.
    } else {
      response.writeHead(204).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('webhook configuration', () => {
  it('refuses URLs that are not http(s) and short secrets, without repeating them', () => {
    for (const url of [
      'file:///etc/passwd',
      'javascript:alert(1)',
      'http://hook.example/x, gopher://10.0.0.1:70/',
    ]) {
      const problems = problemsOf({ KERF_WEBHOOK_URL: url });
      expect(problems.join('\n')).toContain(
        'KERF_WEBHOOK_URL must be one http(s) URL or several separated by commas',
      );
      expect(problems.join('\n')).not.toContain(url.split(',').at(-1)?.trim() ?? url);
    }
    const problems = problemsOf({ KERF_WEBHOOK_SECRET: 'tooShort-S3cret' });
    expect(problems.join('\n')).toContain('KERF_WEBHOOK_SECRET must be at least 16 characters');
    expect(problems.join('\n')).not.toContain('tooShort-S3cret');
  });

  it('keeps the credentials and query of a URL out of what is shown and logged', () => {
    expect(shownUrl('https://kerf:p4ssw0rd@hooks.example.com/in?token=abc123')).toBe(
      'https://hooks.example.com/in',
    );
    expect(shownUrl('not a url at all p4ssw0rd')).toBe('an unreadable URL');
  });
});

describe('a hostile receiver', () => {
  it('is not followed when it redirects: the signed body goes nowhere else', async () => {
    hits.length = 0;
    const attempts = await postSigned(
      `${base}/redirect`,
      '{"event":"deployed"}',
      { secret: 'x'.repeat(32), delivery: '1', event: 'deployed' },
      { attempts: 2, firstBackoffMs: 1 },
    );
    expect(attempts.map((attempt) => attempt.delivered)).toEqual([false, false]);
    expect(hits.map((hit) => hit.path)).toEqual(['/redirect', '/redirect']);
  });

  it('that never answers costs one timeout per attempt, and is reported, not thrown', async () => {
    const started = Date.now();
    const attempts = await postSigned(
      `${base}/hang`,
      '{}',
      { secret: 'x'.repeat(32), delivery: '2', event: 'deployed' },
      { attempts: 1, timeoutMs: 300 },
    );
    expect(attempts).toHaveLength(1);
    expect(attempts[0]?.delivered).toBe(false);
    expect(attempts[0]?.error).toBeTruthy();
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("gets a URL's credentials as basic authentication, never in the path", async () => {
    hits.length = 0;
    const url = `${base.replace('http://', 'http://kerf:p4ss%40word@')}/in`;
    const [attempt] = await postSigned(
      url,
      '{}',
      { secret: 'x'.repeat(32), delivery: '3', event: 'deployed' },
      { attempts: 1 },
    );
    expect(attempt?.delivered).toBe(true);
    expect(hits).toEqual([
      { path: '/in', authorization: `Basic ${Buffer.from('kerf:p4ss@word').toString('base64')}` },
    ]);
  });
});
