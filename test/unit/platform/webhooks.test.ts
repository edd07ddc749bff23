import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  postSigned,
  SIGNATURE_HEADER,
  shownUrl,
  verifyWebhookSignature,
  webhookSignature,
} from '../../../platform/webhooks';

const SECRET = 'a-shared-secret-of-the-shop';

describe('webhook signatures', () => {
  it('sign the timestamp and the body, and a receiver checks both and the age', () => {
    const body = '{"event":"deployed","model":"cut-time","version":3}';
    const header = webhookSignature(SECRET, 1_765_000_000, body);
    expect(header).toMatch(/^t=1765000000,v1=[0-9a-f]{64}$/);
    expect(verifyWebhookSignature(SECRET, header, body, 1_765_000_100)).toBe(true);
    // Another body, another secret, a replay an hour later, a forged timestamp: refused.
    expect(verifyWebhookSignature(SECRET, header, body.replace('3', '4'), 1_765_000_100)).toBe(false);
    expect(verifyWebhookSignature('another-secret-entirely', header, body, 1_765_000_100)).toBe(false);
    expect(verifyWebhookSignature(SECRET, header, body, 1_765_003_600)).toBe(false);
    expect(
      verifyWebhookSignature(SECRET, header.replace('t=1765000000', 't=1765000050'), body, 1_765_000_100),
    ).toBe(false);
    expect(verifyWebhookSignature(SECRET, 'garbage', body, 1_765_000_100)).toBe(false);
  });

  it('shows a URL without its credentials or query', () => {
    expect(shownUrl('https://user:pass@hooks.example.com/kerf?token=abc')).toBe(
      'https://hooks.example.com/kerf',
    );
  });
});

describe('posting signed', () => {
  let server: Server;
  let url: string;
  /** Answers 503 to the first `failFirst` posts of each body, then 204; keeps what it was sent. */
  let failFirst = 0;
  const received: { signature: string; delivery: string; body: string }[] = [];

  beforeAll(async () => {
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      request.on('end', () => {
        received.push({
          signature: String(request.headers[SIGNATURE_HEADER]),
          delivery: String(request.headers['kerf-delivery']),
          body,
        });
        response.writeHead(received.length <= failFirst ? 503 : 204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('retries with growing waits until the receiver takes it, each attempt signed afresh', async () => {
    failFirst = 2;
    received.length = 0;
    const waits: number[] = [];
    const body = JSON.stringify({ event: 'approval-requested', model: 'cut-time', version: 2 });
    const attempts = await postSigned(
      url,
      body,
      { secret: SECRET, delivery: '41', event: 'approval-requested' },
      { sleep: (ms) => (waits.push(ms), Promise.resolve()) },
    );
    expect(attempts.map((attempt) => [attempt.attempt, attempt.delivered, attempt.httpStatus])).toEqual([
      [1, false, 503],
      [2, false, 503],
      [3, true, 204],
    ]);
    expect(waits).toEqual([1000, 4000]);
    expect(received.map((entry) => entry.delivery)).toEqual(['41', '41', '41']);
    const now = Math.floor(Date.now() / 1000);
    for (const entry of received) {
      expect(entry.body).toBe(body);
      expect(verifyWebhookSignature(SECRET, entry.signature, entry.body, now)).toBe(true);
    }
  });

  it('gives up after its attempts without throwing, saying why', async () => {
    failFirst = 100;
    received.length = 0;
    const refused = await postSigned(
      url,
      '{}',
      { secret: SECRET, delivery: '7', event: 'deployed' },
      {
        attempts: 3,
        sleep: () => Promise.resolve(),
      },
    );
    expect(refused.map((attempt) => attempt.error)).toEqual(['answered 503', 'answered 503', 'answered 503']);
    const unreachable = await postSigned(
      'http://127.0.0.1:1/hook',
      '{}',
      { secret: SECRET, delivery: '8', event: 'deployed' },
      {
        attempts: 2,
        sleep: () => Promise.resolve(),
      },
    );
    expect(unreachable.every((attempt) => !attempt.delivered && (attempt.error ?? '').length > 0)).toBe(true);
  });
});
