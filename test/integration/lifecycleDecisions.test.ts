/** Approval deadlines, reminders, rejection, and rollback of production. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForStage } from '../../workflows/client/lifecycleRuns';
import { auditTrail, getAlias, listVersions, moveAlias } from '../../registry';
import { createLifecycleTestbed, type LifecycleTestbed } from '../lifecycleTestbed';
import { runKerf } from '../helpers';
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
  // Two lifecycles and a dozen `kerf` processes (each a Node start): minutes on a loaded machine.
  it('rolls production back at any time with kerf rollback --model, to an approved version, refusals audited', async () => {
    const v1 = await bed.spec('cut-time.json', {
      trainer: { params: { iterations: 15 } },
      gates: { quality: { thresholds: [{ metric: 'mape', max: 0.6 }] } },
    });
    for (const [spec, version] of [
      [v1, 1],
      [buildSpec({ trainer: { params: { iterations: 60 } } }, v1), 2],
    ] as const) {
      // The default rollback window: each run is over once it has deployed.
      const run = await bed.start(spec, { approvalDeadlineMs: 600_000 });
      await waitForStage(run, 'awaiting-approval', { timeoutMs: 180_000 });
      await bed.signalDecision(run, 'shop-manager');
      expect(await run.result()).toMatchObject({ outcome: 'deployed', version });
    }
    const kerf = (person: string, ...args: string[]) =>
      runKerf(['rollback', '--model', v1.name, ...args], { ...bed.db.env, KERF_KEY: bed.keys[person] ?? '' });
    const production = async () => (await getAlias(bed.db.pool, v1.name, 'production'))?.version;

    // A reader may not; the attempt is refused without a stack trace and audited.
    const reader = await kerf('intern', '--reason', 'I think v1 was better');
    expect(reader.code).not.toBe(0);
    expect(reader.stderr).toMatch(/only an operator may rollback/);
    expect(reader.stderr).not.toMatch(/\n\s+at /);
    expect(await production()).toBe(2);

    // An operator, long after the deploying run ended: back to the version before.
    const back = await kerf('production-planner', '--reason', 'v2 over-estimates thin stainless');
    expect(back.stderr).toBe('');
    expect(back.stdout).toMatch(
      /production moved back from version 2 to 1 \(by production-planner, audited\)/,
    );
    expect(await production()).toBe(1);

    // Forward again to the approved v2 by number; the production version itself, or a version that
    // does not exist, is refused and audited.
    expect((await kerf('production-planner', '--to', '2', '--reason', 'fixed upstream')).code).toBe(0);
    expect(await production()).toBe(2);
    const same = await kerf('production-planner', '--to', '2', '--reason', 'again');
    expect(same.stderr).toMatch(/refused: .* is production already/);
    const missing = await kerf('production-planner', '--to', '9', '--reason', 'a typo');
    expect(missing.code).not.toBe(0);
    expect((await kerf('production-planner', '--to', 'two', '--reason', 'x')).stderr).toMatch(
      /--to must be a version number/,
    );
    const audit = await auditTrail(bed.db.pool, v1.name);
    const rolled = audit.filter((entry) => entry.action === 'production-rolled-back');
    expect(rolled.map((entry) => entry.actor)).toEqual(['production-planner', 'production-planner']);
    const refusals = audit.filter((entry) => entry.action === 'rollback-refused');
    expect(refusals.map((entry) => entry.actor)).toEqual([
      'intern',
      'production-planner',
      'production-planner',
    ]);

    // A canary of v1 beside production v2: an operator aborts one and promotes the next.
    const canary = (person: string, decision: string) =>
      runKerf(['canary', decision, v1.name, '--reason', `${decision} in a test`], {
        ...bed.db.env,
        KERF_KEY: bed.keys[person] ?? '',
      });
    const canaryOf = async () => (await getAlias(bed.db.pool, v1.name, 'canary'))?.version;
    const putCanary = () =>
      moveAlias(bed.db.pool, {
        model: v1.name,
        alias: 'canary',
        version: 1,
        trafficShare: 0.2,
        actor: 'production-planner',
        reason: 'try v1 on a fifth',
      });
    // Production is v2 again (moved forward above); v1 is approved and may be a canary.
    expect((await canary('production-planner', 'abort')).stderr).toMatch(/has no canary to abort/);
    await putCanary();
    const readerTries = await canary('intern', 'promote');
    expect(readerTries.stderr).toMatch(/an operator promotes or aborts a canary/);
    expect(await canaryOf()).toBe(1);
    const aborted = await canary('production-planner', 'abort');
    expect(aborted.stdout).toMatch(/canary v1 aborted; production v2 answers alone/);
    expect([await canaryOf(), await production()]).toEqual([undefined, 2]);
    await putCanary();
    expect((await canary('production-planner', 'promote')).stdout).toMatch(
      /canary v1 promoted; production is v1/,
    );
    expect([await canaryOf(), await production()]).toEqual([undefined, 1]);
    expect((await canary('production-planner', 'sideways')).stderr).toMatch(/must be promote or abort/);
    const canaryAudit = (await auditTrail(bed.db.pool, v1.name)).map((entry) => entry.action);
    expect(canaryAudit.filter((action) => action.startsWith('canary-'))).toEqual([
      'canary-refused',
      'canary-refused',
      'canary-aborted',
      'canary-promoted',
    ]);
  }, 240_000);
  it('keeps one open candidate per model: a newer one supersedes the waiting one, which checks first', async () => {
    const v1 = await bed.spec('cut-time.json', {
      trainer: { params: { iterations: 15 } },
      gates: { quality: { thresholds: [{ metric: 'mape', max: 0.6 }] } },
    });
    const first = await bed.start(v1, { approvalDeadlineMs: 600_000 });
    await waitForStage(first, 'awaiting-approval', { timeoutMs: 180_000 });
    // A Signal proves nothing: with no newer candidate, the run goes on waiting (the claim audited).
    await first.signal('superseded', { by: 99 });
    const second = await bed.start(buildSpec({ trainer: { params: { iterations: 60 } } }, v1), {
      approvalDeadlineMs: 600_000,
    });
    await waitForStage(second, 'awaiting-approval', { timeoutMs: 180_000 });
    const result = await first.result();
    expect(result).toMatchObject({ outcome: 'superseded', version: 1 });
    expect(result.reason).toMatch(/superseded by version 2/);
    const statuses = (await listVersions(bed.db.pool, v1.name)).map((version) => [
      version.version,
      version.status,
    ]);
    expect(statuses).toEqual([
      [1, 'rejected'],
      [2, 'candidate'],
    ]);
    const audit = await auditTrail(bed.db.pool, v1.name);
    expect(
      audit.filter((entry) => entry.action === 'supersede-refused').map((entry) => entry.version),
    ).toEqual([1]);
    expect(audit.find((entry) => entry.action === 'candidate-superseded')).toMatchObject({
      version: 1,
      details: { by: 2, byRun: second.workflowId },
    });
    // The newer candidate still waits for a person.
    const code = await bed.decisionCode(second, 'shop-manager', 'reject');
    await second.executeUpdate('decide', { args: [{ decision: 'reject', code, comment: 'test over' }] });
    expect(await second.result()).toMatchObject({ outcome: 'rejected', version: 2 });
  });
});
