import { WorkflowUpdateFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForStage, lifecycleStatus } from '../../platform/lifecycleRuns';
import { type PipelineSpec } from '../../platform/pipelineSpec';
import { auditTrail, getAlias, listVersions } from '../../registry';
import { runKerf } from '../helpers';
import { createLifecycleTestbed, type LifecycleTestbed } from '../lifecycleTestbed';

let bed: LifecycleTestbed;
let spec: PipelineSpec;

beforeAll(async () => {
  bed = await createLifecycleTestbed('lifecycle');
  spec = await bed.spec('cut-time.json', (draft) => {
    (draft.trainer as { params: Record<string, unknown> }).params.iterations = 150;
  });
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
    expect(waiting.approval?.approvers).toEqual(spec.approval.approvers);

    // The Update refuses, with the reason, an approver not in the spec and the run's own starter.
    const decide = (approver: string) =>
      handle.executeUpdate('decide', { args: [{ decision: 'approve', approver, comment: 'looks good' }] });
    const outsider = await decide('intern').catch((error: unknown) => error);
    expect(outsider).toBeInstanceOf(WorkflowUpdateFailedError);
    expect(String((outsider as { cause?: Error }).cause?.message)).toMatch(
      /intern is not an approver of cut-time-t/,
    );
    const starter = await decide('shop-manager').catch((error: unknown) => error);
    expect(String((starter as { cause?: Error }).cause?.message)).toMatch(
      /shop-manager started this run .*separation of duties/,
    );

    // The same refusal through the CLI: one line, exit 1.
    const cli = await runKerf(['approve', handle.workflowId, '--as', 'intern']);
    expect(cli.code).toBe(1);
    expect(cli.stderr.trim()).toMatch(
      /^kerf: refused: intern is not an approver of cut-time-t\w+; approvers: /,
    );

    // The Web UI's "Current Details" of the run say what waits and how to approve it.
    const metadata = await handle.query<{ currentDetails: string }>('__temporal_workflow_metadata');
    expect(metadata.currentDetails).toMatch(/awaiting-approval, version 1/);
    expect(metadata.currentDetails).toMatch(/Send a Signal `approve`/);

    // A Signal from an outsider is refused and audited; the approver's Signal completes the run.
    await handle.signal('approve', { approver: 'intern' });
    await handle.signal('approve', { approver: 'production-planner', comment: 'cut times look right' });
    const result = await handle.result();
    expect(result).toEqual({ outcome: 'deployed', pipeline: spec.name, version: 1 });
    await bed.keepHistory(handle, 'deployed-after-refusals');

    const production = await getAlias(bed.db.pool, spec.name, 'production');
    expect(production?.version).toBe(1);
    const versions = await listVersions(bed.db.pool, spec.name);
    expect(versions.map((version) => [version.version, version.status])).toEqual([[1, 'deployed']]);
    const actions = (await auditTrail(bed.db.pool, spec.name)).map((entry) => entry.action);
    expect(actions).toContain('approval-refused');
    const final = await lifecycleStatus(handle);
    expect(final.approval?.refused.map((refusal) => refusal.approver)).toEqual(['intern']);
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
