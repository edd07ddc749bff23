/**
 * A run waiting for approval survives 20,000 refused Signals sent as fast as a client can: the
 * refusals are checked and audited in batches (a few dozen activities), the history stays well
 * under Temporal's 51,200-event limit, the status keeps only the last refusals and a count, and a
 * valid approval afterwards still deploys. Slow (a minute or two): its own file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lifecycleStatus, waitForStage } from '../../workflows/client/lifecycleRuns';
import { createLifecycleTestbed, type LifecycleTestbed } from '../lifecycleTestbed';

const SIGNALS = 20_000;
const IN_FLIGHT = 50;
const WAVE = 2500;
let bed: LifecycleTestbed;

beforeAll(async () => {
  bed = await createLifecycleTestbed('signal_flood', { jobs: 3000, seed: 8 });
}, 300_000);

afterAll(async () => {
  await bed.close();
});

describe('a flood of refused approval Signals', () => {
  it('leaves the run waiting, its history bounded, and a valid approval deploying', async () => {
    const spec = await bed.spec('cut-time.json', {
      trainer: { params: { iterations: 30 } },
      gates: { quality: { thresholds: [{ metric: 'mape', max: 0.9 }] } },
    });
    const run = await bed.start(spec, { startedBy: 'shop-manager', approvalDeadlineMs: 3_600_000 });
    await waitForStage(run, 'awaiting-approval', { timeoutMs: 240_000 });
    const payloads: unknown[] = [
      { approver: '' },
      { approver: 'production-planner' },
      null,
      [],
      42,
      { code: 'kc_aaaaaaaa_bbbbbbbbbbbbbbbbbbbb' },
      { code: 'not-a-code' },
    ];
    // Sent in waves of 2,500 as fast as the client goes: Temporal itself refuses a Signal past
    // 10,000 in one execution, so each wave waits until the run has caught up (and continued as new).
    const started = Date.now();
    let status = await lifecycleStatus(run);
    for (let wave = 0; wave < SIGNALS / WAVE; wave += 1) {
      let next = wave * WAVE;
      const end = next + WAVE;
      await Promise.all(
        Array.from({ length: IN_FLIGHT }, async () => {
          for (let index = next++; index < end; index = next++) {
            await run.signal('approve', payloads[index % payloads.length] as { code: string });
          }
        }),
      );
      const deadline = Date.now() + 300_000;
      while ((status.approval?.refusedCount ?? 0) < end && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        status = await lifecycleStatus(run);
      }
    }
    const refusedSeconds = (Date.now() - started) / 1000;
    expect(status.stage).toBe('awaiting-approval');
    expect(status.approval?.refusedCount).toBe(SIGNALS);
    expect(status.approval?.refused).toHaveLength(20);
    const { rows } = await bed.db.pool.query<{ count: string }>(
      "SELECT count(*) FROM registry.audit_log WHERE model = $1 AND action = 'approval-refused'",
      [spec.name],
    );
    expect(Number(rows[0]?.count)).toBe(SIGNALS);

    await bed.signalDecision(run, 'production-planner', 'approve', 'after the flood');
    expect(await run.result()).toMatchObject({ outcome: 'deployed', version: 1 });
    const { historyLength } = await run.describe();
    let executions = 0;
    for await (const execution of bed.client.workflow.list({ query: `WorkflowId = '${run.workflowId}'` })) {
      expect(execution.historyLength).toBeLessThan(51_200);
      executions += 1;
    }
    expect(executions).toBeGreaterThan(1);
    expect(historyLength).toBeLessThan(51_200);
    console.log(
      `signal flood: ${SIGNALS} refused Signals, all refused and audited after ${refusedSeconds.toFixed(1)} s; last execution's history ${historyLength} events, ${executions} executions`,
    );
  }, 900_000);
});
