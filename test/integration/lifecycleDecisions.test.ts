/** Approval deadlines, reminders, rejection, and rollback of production. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForStage } from '../../workflows/client/lifecycleRuns';
import { auditTrail, getAlias, listVersions } from '../../registry';
import { createLifecycleTestbed, type LifecycleTestbed } from '../lifecycleTestbed';
import { buildSpec } from '../specBuilder';

let bed: LifecycleTestbed;

beforeAll(async () => (bed = await createLifecycleTestbed('lifecycle_decisions')));
afterAll(() => bed.close());

describe('lifecycle decisions', () => {
  it('ends a run past its approval deadline rejected, after a reminder at half time', async () => {
    const spec = await bed.spec('cut-time.json', { trainer: { params: { iterations: 40 } } });
    const handle = await bed.start(spec, { approvalDeadlineMs: 4000 });
    const result = await handle.result();
    expect(result).toMatchObject({ outcome: 'rejected', version: 1 });
    expect(result.reason).toMatch(/nobody decided within the approval deadline/);
    await bed.keepHistory(handle, 'deadline-passed');
    const actions = (await auditTrail(bed.db.pool, spec.name)).map((entry) => entry.action);
    expect(actions).toEqual(expect.arrayContaining(['approval-reminder', 'approval-deadline-passed']));
    expect(actions.indexOf('approval-reminder')).toBeLessThan(actions.indexOf('approval-deadline-passed'));
    expect((await listVersions(bed.db.pool, spec.name))[0]?.status).toBe('rejected');
  });

  it('completes rejected when an approver rejects through the Update', async () => {
    const spec = await bed.spec('cut-time.json', { trainer: { params: { iterations: 40 } } });
    const handle = await bed.start(spec, { approvalDeadlineMs: 600_000 });
    await waitForStage(handle, 'awaiting-approval', { timeoutMs: 180_000 });
    const code = await bed.decisionCode(handle, 'shop-manager', 'reject');
    const answer = await handle.executeUpdate('decide', {
      args: [{ decision: 'reject', code, comment: 'wait for the new laser' }],
    });
    expect(answer).toEqual({ decision: 'rejected', approver: 'shop-manager', version: 1 });
    expect(await handle.result()).toMatchObject({ outcome: 'rejected', reason: 'rejected by shop-manager' });
    expect(await getAlias(bed.db.pool, spec.name, 'production')).toBeUndefined();
  });

  it('rolls production back to the previous version', async () => {
    const v1 = await bed.spec('cut-time.json', {
      trainer: { params: { iterations: 15 } },
      gates: { quality: { thresholds: [{ metric: 'mape', max: 0.6 }] } },
    });
    const first = await bed.start(v1, { approvalDeadlineMs: 600_000 });
    await waitForStage(first, 'awaiting-approval', { timeoutMs: 180_000 });
    await bed.signalDecision(first, 'shop-manager');
    expect(await first.result()).toMatchObject({ outcome: 'deployed', version: 1 });

    const second = await bed.start(buildSpec({ trainer: { params: { iterations: 150 } } }, v1), {
      approvalDeadlineMs: 600_000,
      rollbackWindowMs: 600_000,
    });
    await waitForStage(second, 'awaiting-approval', { timeoutMs: 180_000 });
    await bed.signalDecision(second, 'shop-manager');
    await waitForStage(second, 'deployed', { timeoutMs: 60_000 });
    expect((await getAlias(bed.db.pool, v1.name, 'production'))?.version).toBe(2);

    // A typed name is refused; an approver's approve code is not a rollback code; an operator's
    // rollback code moves production back.
    const refused = await second
      .executeUpdate('rollback', { args: [{ actor: 'production-planner', reason: 'feels slow' }] })
      .catch((error: unknown) => error);
    expect(String((refused as { cause?: Error }).cause?.message)).toMatch(/a typed name proves nothing/);
    const code = await bed.decisionCode(second, 'production-planner', 'rollback');
    const answer = await second.executeUpdate('rollback', {
      args: [{ code, reason: 'v2 over-estimates thin stainless' }],
    });
    expect(answer).toEqual({ from: 2, to: 1 });
    expect(await second.result()).toMatchObject({ outcome: 'rolled-back', version: 2 });
    await bed.keepHistory(second, 'rolled-back');
    expect((await getAlias(bed.db.pool, v1.name, 'production'))?.version).toBe(1);
    const statuses = (await listVersions(bed.db.pool, v1.name)).map((version) => [
      version.version,
      version.status,
    ]);
    expect(statuses).toEqual([
      [1, 'deployed'],
      [2, 'retired'],
    ]);
  });
});
