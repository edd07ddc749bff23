import { WorkflowUpdateFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForStage, lifecycleStatus } from '../../workflows/client/lifecycleRuns';
import { type PipelineSpec } from '../../lifecycle/spec';
import { auditTrail, getAlias, listVersions } from '../../registry';
import { runKerf } from '../helpers';
import { createLifecycleTestbed, type LifecycleTestbed } from '../lifecycleTestbed';

let bed: LifecycleTestbed;
let spec: PipelineSpec;

beforeAll(async () => {
  bed = await createLifecycleTestbed('lifecycle');
  spec = await bed.spec('cut-time.json', { trainer: { params: { iterations: 150 } } });
});
afterAll(async () => {
  await bed.close();
});

describe('the cut-time lifecycle', () => {
  it('goes from ingest to deploy with an approval sent as a Signal, refusing wrong approvers', async () => {
    const handle = await bed.start(spec, { startedBy: 'shop-manager', approvalDeadlineMs: 600_000 });
    const waiting = await waitForStage(handle, 'awaiting-approval', { timeoutMs: 180_000 });
    expect(waiting.version).toBe(1);
    expect(waiting.metrics?.mape).toBeLessThan(0.1);
    expect(waiting.verdicts.map((verdict) => [verdict.gate, verdict.passed])).toEqual([
      ['quality', true],
      ['fairness', true],
      ['security', true],
    ]);
    expect(waiting.cardKey).toMatch(new RegExp(`^models/${spec.name}/v1/card.html$`));
    // The card shows the baseline floor the candidate beat (the quality gate's floor check passed).
    const card = new TextDecoder().decode(await bed.store.get(waiting.cardKey ?? ''));
    expect(card).toContain('<h3>Baseline floor</h3>');
    expect(card).toMatch(/is better than the baseline floor/);
    expect(waiting.approval?.approvers).toEqual(spec.approval.approvers);

    // A typed name proves nothing: the Update is refused with the reason, and the run waits on.
    const typed = await handle
      .executeUpdate('decide', { args: [{ decision: 'approve', approver: 'production-planner' }] })
      .catch((error: unknown) => error);
    expect(typed).toBeInstanceOf(WorkflowUpdateFailedError);
    expect(String((typed as { cause?: Error }).cause?.message)).toMatch(/a typed name proves nothing/);
    // The run's authenticated starter may not approve it, even with a valid code of their own.
    const starterCode = await bed.decisionCode(handle, 'shop-manager');
    const starter = await handle
      .executeUpdate('decide', { args: [{ decision: 'approve', code: starterCode }] })
      .catch((error: unknown) => error);
    expect(String((starter as { cause?: Error }).cause?.message)).toMatch(
      /shop-manager started this run .*separation of duties/,
    );

    // The CLI decides as the logged-in person: a reader is refused before any code is issued, and
    // the old --as option is refused with what to do instead.
    const asKerf = (args: string[], person: string) =>
      runKerf(args, { KERF_KEY: bed.keys[person] ?? '', ...bed.db.env });
    const cli = await asKerf(['approve', handle.workflowId], 'intern');
    expect(cli.code).toBe(1);
    expect(cli.stderr.trim()).toBe(
      'kerf: user intern has roles reader, not approver: only an approver may approve',
    );
    const typedCli = await asKerf(['approve', handle.workflowId, '--as', 'production-planner'], 'intern');
    expect(typedCli.stderr.trim()).toMatch(/^kerf: --as is no longer accepted: a typed name proves nothing/);

    // The Web UI's "Current Details" of the run say what waits and how to approve it.
    const metadata = await handle.query<{ currentDetails: string }>('__temporal_workflow_metadata');
    expect(metadata.currentDetails).toMatch(/awaiting-approval, version 1/);
    expect(metadata.currentDetails).toMatch(/kerf approval-code .*Send a Signal `approve`/);

    // A typed-name Signal is refused and audited; the approver's Signal with a code completes the run.
    await handle.signal('approve', { approver: 'intern' });
    await bed.signalDecision(handle, 'production-planner', 'approve', 'cut times look right');
    const result = await handle.result();
    expect(result).toEqual({ outcome: 'deployed', pipeline: spec.name, version: 1 });
    await bed.keepHistory(handle, 'deployed-after-authenticated-refusals');

    const production = await getAlias(bed.db.pool, spec.name, 'production');
    expect(production?.version).toBe(1);
    const versions = await listVersions(bed.db.pool, spec.name);
    expect(versions.map((version) => [version.version, version.status])).toEqual([[1, 'deployed']]);
    const trail = await auditTrail(bed.db.pool, spec.name);
    const actions = trail.map((entry) => entry.action);
    expect(actions).toContain('approval-refused');
    const recorded = trail.find((entry) => entry.action === 'approval-recorded');
    expect(recorded).toMatchObject({
      actor: 'production-planner',
      details: { authenticatedBy: 'approval-code' },
    });
    const final = await lifecycleStatus(handle);
    expect(final.approval?.refused.map((refusal) => refusal.approver)).toEqual([
      'unauthenticated',
      'shop-manager',
      'unauthenticated',
    ]);
    expect(final.approval).toMatchObject({
      approver: 'production-planner',
      authenticatedBy: 'approval-code',
      refusedCount: 3,
    });
    expect(final.deployed).toEqual({ alias: 'production', version: 1 });
  });

  it('makes no new version when the same spec runs again on the same data', async () => {
    const again = await bed.start(spec);
    const result = await again.result();
    expect(result).toMatchObject({ outcome: 'unchanged', pipeline: spec.name, version: 1 });
    await bed.keepHistory(again, 'unchanged');
    expect(await listVersions(bed.db.pool, spec.name)).toHaveLength(1);
  });
});
