/**
 * Announcements people receive: a lifecycle run tells the shop's webhooks that a candidate waits
 * for approval (with its card and how to approve), that it was deployed, and a run nobody decides
 * on is reminded and then announced past its deadline; each post is signed over its timestamp and
 * body, retried when the receiver fails, and every attempt is in the delivery log.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIGNATURE_HEADER, verifyWebhookSignature } from '../../platform/webhooks';
import { announcementDeliveries } from '../../registry';
import { waitForStage } from '../../workflows/client/lifecycleRuns';
import { createLifecycleTestbed, type LifecycleTestbed } from '../lifecycleTestbed';

const SECRET = 'the-shops-webhook-secret-0123';

interface Received {
  event: string;
  model: string;
  body: Record<string, unknown>;
  signed: boolean;
  delivery: string;
}

/** The shop's hook: it keeps what it was sent, and fails the first post of every announcement. */
const received: Received[] = [];
const seen = new Set<string>();
const authorized = new Set<string>();
let hook: Server;
let bed: LifecycleTestbed;

beforeAll(async () => {
  hook = createServer((request, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    request.on('end', () => {
      const delivery = String(request.headers['kerf-delivery']);
      authorized.add(String(request.headers.authorization));
      if (!seen.has(delivery)) {
        seen.add(delivery);
        response.writeHead(503).end();
        return;
      }
      const body = JSON.parse(text) as Record<string, unknown>;
      received.push({
        event: String(body.event),
        model: String(body.model),
        body,
        signed: verifyWebhookSignature(
          SECRET,
          String(request.headers[SIGNATURE_HEADER]),
          text,
          Math.floor(Date.now() / 1000),
        ),
        delivery,
      });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
  const url = `http://user:pw@127.0.0.1:${(hook.address() as AddressInfo).port}/kerf?token=t`;
  bed = await createLifecycleTestbed(
    'announcements',
    { jobs: 3000, seed: 6 },
    { KERF_WEBHOOK_URL: url, KERF_WEBHOOK_SECRET: SECRET },
  );
});
afterAll(async () => {
  await bed.close();
  await new Promise<void>((resolve) => hook.close(() => resolve()));
});

const eventsOf = (model: string) => received.filter((entry) => entry.model === model);

describe('announcements', () => {
  it('tell the webhooks a candidate waits (card, how to approve), and that it was deployed, signed', async () => {
    const spec = await bed.spec('cut-time.json', { trainer: { params: { iterations: 40 } } });
    const run = await bed.start(spec, { approvalDeadlineMs: 600_000 });
    await waitForStage(run, 'awaiting-approval', { timeoutMs: 180_000 });
    await bed.signalDecision(run, 'shop-manager');
    expect(await run.result()).toMatchObject({ outcome: 'deployed', version: 1 });

    const events = eventsOf(spec.name);
    expect(events.map((entry) => entry.event)).toEqual(['approval-requested', 'deployed']);
    expect(events.every((entry) => entry.signed)).toBe(true);
    expect(events[0]?.body).toMatchObject({
      source: 'kerf',
      version: 1,
      runId: run.workflowId,
      approvers: spec.approval.approvers,
      card: `models/${spec.name}/v1/card.html`,
    });
    expect(events[0]?.body.howToApprove).toContain(`kerf approve ${run.workflowId} --comment "..."`);
    expect(events[1]?.body).toMatchObject({ version: 1, approver: 'shop-manager' });
    // The URL's credentials went as basic authentication.
    expect([...authorized]).toEqual([`Basic ${Buffer.from('user:pw').toString('base64')}`]);
    // The first post of each failed and was retried; the log names the hook without its credentials.
    const log = await announcementDeliveries(bed.db.pool, spec.name);
    const url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/kerf`;
    expect(
      log.map((entry) => [entry.event, entry.url, entry.attempt, entry.delivered, entry.httpStatus]),
    ).toEqual([
      ['approval-requested', url, 1, false, 503],
      ['approval-requested', url, 2, true, 204],
      ['deployed', url, 1, false, 503],
      ['deployed', url, 2, true, 204],
    ]);
  });

  it('remind the approvers, then say the deadline passed', async () => {
    const spec = await bed.spec('cut-time.json', { trainer: { params: { iterations: 40 } } });
    const run = await bed.start(spec, { approvalDeadlineMs: 6000 });
    expect(await run.result()).toMatchObject({ outcome: 'rejected' });
    const events = eventsOf(spec.name);
    expect(events.map((entry) => entry.event)).toEqual([
      'approval-requested',
      'approval-reminder',
      'approval-deadline-reached',
    ]);
    expect(events[2]?.body.reason).toMatch(/nobody decided within the approval deadline/);
  });
});
