/**
 * A webhook that is down longer than the announcing activity's attempts still gets the announcement:
 * the redelivery schedule's workflow posts it again, with growing waits, for a day, and the delivery
 * log has every attempt. A worker with webhooks sets the schedule of its queue.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_DELIVERY_ATTEMPTS, redeliverAnnouncements } from '../../activities/announcements';
import { SIGNATURE_HEADER, verifyWebhookSignature } from '../../platform/webhooks';
import { announcementDeliveries, recordAnnouncement, recordDeliveryAttempt } from '../../registry';
import { redeliveryScheduleId } from '../../workflows/client/schedules';
import { createLifecycleTestbed, type LifecycleTestbed } from '../lifecycleTestbed';

const SECRET = 'the-shops-webhook-secret-redelivery';
let up = false;
const received: { delivery: string; signed: boolean; event: string }[] = [];
let hook: Server;
let url: string;
let bed: LifecycleTestbed;

beforeAll(async () => {
  hook = createServer((request, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    request.on('end', () => {
      if (!up) {
        response.writeHead(503).end();
        return;
      }
      const body = JSON.parse(text) as { event: string };
      received.push({
        delivery: String(request.headers['kerf-delivery']),
        signed: verifyWebhookSignature(
          SECRET,
          String(request.headers[SIGNATURE_HEADER]),
          text,
          Math.floor(Date.now() / 1000),
        ),
        event: body.event,
      });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/kerf`;
  bed = await createLifecycleTestbed(
    'redelivery',
    { jobs: 200, seed: 3 },
    { KERF_WEBHOOK_URL: url, KERF_WEBHOOK_SECRET: SECRET },
  );
}, 120_000);

afterAll(async () => {
  await bed.close();
  await new Promise((resolve) => hook.close(resolve));
});

/** An announcement whose four attempts failed at `at` (epoch ms), as the announcing activity leaves it. */
async function failedAnnouncement(model: string, at: number, attempts = 4) {
  const { announcement } = await recordAnnouncement(bed.db.pool, {
    event: 'approval-requested',
    model,
    version: 1,
    dedupeKey: `approval-requested:${model}:1:test`,
    body: { source: 'kerf', event: 'approval-requested', model, version: 1 },
  });
  for (let attempt = 1; attempt <= attempts; attempt++) {
    await recordDeliveryAttempt(bed.db.pool, {
      announcementId: announcement.announcementId,
      url,
      attempt,
      delivered: false,
      httpStatus: 503,
      error: 'answered 503',
    });
  }
  // As if made then (the owner may; the app role only adds rows).
  for (const table of ['announcements', 'announcement_deliveries']) {
    await bed.db.ownerPool.query(
      `UPDATE registry.${table} SET ${table === 'announcements' ? 'created_at' : 'at'} = $2 WHERE announcement_id = $1`,
      [announcement.announcementId, new Date(at)],
    );
  }
  return announcement.announcementId;
}

describe('announcements a webhook did not take', () => {
  it('are posted again once due, with waits that grow, until the webhook takes them', async () => {
    const webhooks = bed.config.webhooks;
    const model = 'redelivered-model';
    const start = Date.now();
    const id = await failedAnnouncement(model, start);
    // Not due before a minute has passed since the fourth attempt.
    expect(await redeliverAnnouncements(bed.db.pool, webhooks, start + 30_000)).toEqual({
      due: 0,
      delivered: 0,
      failed: 0,
    });
    // Due, but the webhook is still down: a fifth attempt, logged; the next waits two minutes.
    expect(await redeliverAnnouncements(bed.db.pool, webhooks, start + 61_000)).toEqual({
      due: 1,
      delivered: 0,
      failed: 1,
    });
    const afterFifth = Date.now();
    expect(await redeliverAnnouncements(bed.db.pool, webhooks, afterFifth + 100_000)).toMatchObject({
      due: 0,
    });
    // The webhook is back: the sixth attempt takes it, signed, under the announcement's delivery id.
    up = true;
    expect(await redeliverAnnouncements(bed.db.pool, webhooks, afterFifth + 121_000)).toEqual({
      due: 1,
      delivered: 1,
      failed: 0,
    });
    expect(received).toEqual([{ delivery: String(id), signed: true, event: 'approval-requested' }]);
    // Taken: never posted again.
    expect(await redeliverAnnouncements(bed.db.pool, webhooks, afterFifth + 10 * 3_600_000)).toMatchObject({
      due: 0,
    });
    const log = await announcementDeliveries(bed.db.pool, model);
    expect(log.map((entry) => [entry.attempt, entry.delivered])).toEqual([
      [1, false],
      [2, false],
      [3, false],
      [4, false],
      [5, false],
      [6, true],
    ]);
    up = false;
  });

  it('stop after a day, after the last attempt, and for a webhook no longer configured', async () => {
    const webhooks = bed.config.webhooks;
    const now = Date.now();
    await failedAnnouncement('too-old', now - 25 * 3_600_000);
    await failedAnnouncement('tried-enough', now - 3 * 3_600_000, MAX_DELIVERY_ATTEMPTS);
    expect(await redeliverAnnouncements(bed.db.pool, webhooks, now)).toMatchObject({ due: 0 });
    const elsewhere = { urls: ['http://127.0.0.1:9/other'], secret: () => SECRET };
    await failedAnnouncement('unconfigured', now - 3_600_000);
    expect(await redeliverAnnouncements(bed.db.pool, elsewhere, now)).toMatchObject({ due: 0 });
  });

  it('are looked for by a schedule the worker sets on its queue', async () => {
    const schedule = bed.client.schedule.getHandle(redeliveryScheduleId(bed.taskQueue));
    const description = await schedule.describe();
    expect(description.action).toMatchObject({
      workflowType: 'announcementRedelivery',
      taskQueue: bed.taskQueue,
    });
    await schedule.trigger();
    const deadline = Date.now() + 60_000;
    let workflowId: string | undefined;
    while (!workflowId && Date.now() < deadline) {
      workflowId = (await schedule.describe()).info.recentActions[0]?.action.workflow.workflowId;
      if (!workflowId) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(workflowId).toBeDefined();
    const result = (await bed.client.workflow.getHandle(workflowId as string).result()) as { due: number };
    expect(Number.isInteger(result.due)).toBe(true);
  });
});
