/**
 * Approval spoofing on the Signal (Web UI) and Update (CLI, hand-made client) paths: each hostile
 * decision is refused with its reason, audited once, changes no registry, serving, shop or access
 * row, and the run keeps waiting; afterwards a valid approval deploys.
 */
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addUser, disableUser, issueDecisionCode, issueSecret } from '../../access';
import { type LifecycleHandle, lifecycleStatus, waitForStage } from '../../workflows/client/lifecycleRuns';
import type { PipelineSpec } from '../../lifecycle/spec';
import type { LifecycleStatus } from '../../workflows/lifecycleTypes';
import { runKerf } from '../helpers';
import { createLifecycleTestbed, type LifecycleTestbed } from '../lifecycleTestbed';
import { auditRowsAfter, lastAuditId, tablesSnapshot } from './tablesSnapshot';

let bed: LifecycleTestbed;
let spec: PipelineSpec;
let run: LifecycleHandle;
let other: LifecycleHandle;

const loose = {
  trainer: { params: { iterations: 30 } },
  gates: { quality: { thresholds: [{ metric: 'mape', max: 0.9 }] } },
};

beforeAll(async () => {
  bed = await createLifecycleTestbed('approval_spoofing', { jobs: 3000, seed: 7 });
  spec = await bed.spec('cut-time.json', loose);
  const otherSpec = await bed.spec('cut-time.json', loose);
  // shop-manager starts (authenticated); production-planner may approve.
  run = await bed.start(spec, { startedBy: 'shop-manager', approvalDeadlineMs: 3_600_000 });
  other = await bed.start(otherSpec, { startedBy: 'shop-manager', approvalDeadlineMs: 3_600_000 });
  await waitForStage(run, 'awaiting-approval', { timeoutMs: 240_000 });
  await waitForStage(other, 'awaiting-approval', { timeoutMs: 240_000 });
  const admin = await bed.identity('kerf-admin');
  // An approver of every model who is not among the spec's approvers, and one who will be disabled.
  bed.keys['outside-approver'] = (
    await addUser(bed.db.pool, { name: 'outside-approver', roles: ['approver'], models: ['*'] }, admin)
  ).key;
}, 300_000);

afterAll(async () => {
  await bed.close();
});

async function statusWhen(
  handle: LifecycleHandle,
  done: (status: LifecycleStatus) => boolean,
): Promise<LifecycleStatus> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const status = await lifecycleStatus(handle);
    if (done(status)) return status;
    if (Date.now() > deadline)
      throw new Error(`the run did not get there: ${JSON.stringify(status.approval)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Sends something hostile and asserts: refused with `reason` (by `actor`), one audit row for it,
 * no watched table changed (except `allowChange`), the run still waiting.
 */
async function expectRefused(
  send: () => Promise<unknown>,
  reason: RegExp,
  options: { actor?: string; allowChange?: string[]; auditAction?: string; issuedToo?: boolean } = {},
): Promise<void> {
  const pool = bed.db.pool;
  const before = await tablesSnapshot(pool);
  const auditId = await lastAuditId(pool);
  const refusedBefore = (await lifecycleStatus(run)).approval?.refusedCount ?? 0;
  await send();
  const status = await statusWhen(run, (current) => (current.approval?.refusedCount ?? 0) > refusedBefore);
  expect(status.stage).toBe('awaiting-approval');
  expect(status.approval?.decision).toBeUndefined();
  expect(status.approval?.refusedCount).toBe(refusedBefore + 1);
  expect(status.approval?.refused.at(-1)).toEqual({
    approver: options.actor ?? 'unauthenticated',
    reason: expect.stringMatching(reason) as string,
  });
  const after = await tablesSnapshot(pool);
  for (const table of options.allowChange ?? []) {
    expect(after[table]).not.toBe(before[table]);
    after[table] = 'allowed to change';
    before[table] = 'allowed to change';
  }
  expect(after).toEqual(before);
  const audit = await auditRowsAfter(pool, auditId);
  if (options.issuedToo) {
    // The CLI issued itself a code first: that row comes before the refusal's.
    expect(audit.shift()).toMatchObject({ actor: options.actor, action: 'decision-code-issued' });
  }
  expect(audit).toEqual([
    {
      actor: options.actor ?? 'unauthenticated',
      action: options.auditAction ?? 'approval-refused',
      model: spec.name,
      details: expect.objectContaining({ reason: expect.stringMatching(reason) as string }) as object,
    },
  ]);
}

const signal = (payload: unknown) => () => run.signal('approve', payload as { code: string });

async function updateRefusal(payload: unknown): Promise<string> {
  const error = await run
    .executeUpdate('decide', { args: [payload as never] })
    .catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(WorkflowUpdateFailedError);
  return String((error as { cause?: Error }).cause?.message);
}

const TYPED = /a typed name proves nothing/;
const NOT_A_CODE = /is not a Kerf decision code/;

describe('approval Signals (the Web UI path)', () => {
  it('refuses a typed approver name', async () => {
    await expectRefused(signal({ approver: 'production-planner', comment: 'ok' }), TYPED);
  });
  it('refuses {"approver": ""} without failing the run', async () => {
    await expectRefused(signal({ approver: '' }), TYPED);
  });
  it('refuses null', async () => {
    await expectRefused(signal(null), /needs a JSON object .*, not null/);
  });
  it('refuses an array', async () => {
    await expectRefused(signal([]), /needs a JSON object .*, not an array/);
  });
  it('refuses a number', async () => {
    await expectRefused(signal(42), /needs a JSON object .*, not a number/);
  });
  it('refuses a 1 MB string, without keeping it', async () => {
    await expectRefused(signal('x'.repeat(1024 * 1024)), /not a string of 1048576 characters/);
    const status = await lifecycleStatus(run);
    expect(JSON.stringify(status).length).toBeLessThan(50_000);
  });
  it('refuses a 1 MB code', async () => {
    await expectRefused(signal({ code: 'k'.repeat(1024 * 1024) }), /"code" must be a Kerf decision code/);
  });
  it('refuses a well-formed code nobody issued', async () => {
    await expectRefused(signal({ code: 'kc_aaaaaaaa_bbbbbbbbbbbbbbbbbbbb' }), /unknown decision code/);
  });
  it('refuses a malformed code', async () => {
    await expectRefused(signal({ code: 'let-me-in' }), NOT_A_CODE);
  });
  it('refuses a real code id with a wrong secret, counting the try', async () => {
    const code = await bed.decisionCode(run, 'production-planner');
    const forged = `${code.slice(0, 12)}${'a'.repeat(20)}`;
    await expectRefused(signal({ code: forged }), /wrong decision code/, {
      allowChange: ['access.decision_codes'],
    });
  });
  it("refuses another user's code when that user is not one of the spec's approvers", async () => {
    const code = await bed.decisionCode(run, 'outside-approver');
    await expectRefused(signal({ code }), /outside-approver is not an approver of cut-time-t/, {
      actor: 'outside-approver',
    });
  });
  it('refuses a code issued for another run', async () => {
    const code = await bed.decisionCode(other, 'production-planner');
    await expectRefused(signal({ code }), /the code was issued for run .*, not this run/, {
      actor: 'production-planner',
    });
  });
  it('refuses a code issued for another version of this run', async () => {
    // Written as an issuer would for a version 7 (the issuer's own audit row needs the version to exist).
    const secret = await issueSecret('decision-code');
    await bed.db.pool.query(
      `INSERT INTO access.decision_codes
         (code_id, secret_hash, run_id, model, version, action, user_name, authenticated_by, expires_at)
       VALUES ($1, $2, $3, $4, 7, 'approve', 'production-planner', 'approval-code', now() + interval '10 minutes')`,
      [secret.id, secret.hash, run.workflowId, spec.name],
    );
    await expectRefused(signal({ code: secret.text }), /issued for run .*version 7\), not this run/, {
      actor: 'production-planner',
    });
  });
  it('refuses an expired code', async () => {
    const issued = await issueDecisionCode(bed.db.pool, {
      identity: await bed.identity('production-planner'),
      runId: run.workflowId,
      model: spec.name,
      version: 1,
      action: 'approve',
      expiresAt: new Date(Date.now() + 1500),
      authenticatedBy: 'approval-code',
    });
    await new Promise((resolve) => setTimeout(resolve, 2000));
    await expectRefused(signal({ code: issued.code }), /the code expired at/, {
      actor: 'production-planner',
    });
  });
  it('refuses a code that was already used (on another run)', async () => {
    const code = await bed.decisionCode(other, 'production-planner');
    await other.signal('approve', { code });
    await waitForStage(other, 'deployed', { timeoutMs: 60_000 });
    await expectRefused(signal({ code }), /the code was already used/, { actor: 'production-planner' });
  });
  it("refuses the starter's own code (separation of duties by identity)", async () => {
    const code = await bed.decisionCode(run, 'shop-manager');
    await expectRefused(signal({ code }), /shop-manager started this run .*separation of duties/, {
      actor: 'shop-manager',
    });
  });
  it('refuses a reject code sent as approve', async () => {
    const code = await bed.decisionCode(run, 'production-planner', 'reject');
    await expectRefused(signal({ code }), /the code is for reject, not approve/, {
      actor: 'production-planner',
    });
  });
  it('refuses the code of a user disabled after it was issued', async () => {
    const admin = await bed.identity('kerf-admin');
    bed.keys['leaving-approver'] = (
      await addUser(bed.db.pool, { name: 'leaving-approver', roles: ['approver'], models: ['*'] }, admin)
    ).key;
    const code = await bed.decisionCode(run, 'leaving-approver');
    await disableUser(bed.db.pool, 'leaving-approver', admin);
    await expectRefused(signal({ code }), /user leaving-approver is disabled/, { actor: 'leaving-approver' });
  });
});

describe('decide Updates (the CLI path and hand-made clients)', () => {
  it('refuses an Update without a code', async () => {
    let message = '';
    await expectRefused(async () => {
      message = await updateRefusal({ decision: 'approve' });
    }, /has no "code"/);
    expect(message).toMatch(/has no "code"/);
  });
  it('refuses forged identity fields', async () => {
    let message = '';
    await expectRefused(async () => {
      message = await updateRefusal({
        decision: 'approve',
        approver: 'production-planner',
        user: 'production-planner',
        authenticatedBy: 'cli-key',
      });
    }, TYPED);
    expect(message).toMatch(TYPED);
  });
  it('refuses a null Update', async () => {
    await expectRefused(() => updateRefusal(null), /needs a JSON object/);
  });
  it("refuses the starter's own code sent with a forged approver field", async () => {
    const code = await bed.decisionCode(run, 'shop-manager');
    await expectRefused(
      () => updateRefusal({ decision: 'approve', code, approver: 'production-planner' }),
      /shop-manager started this run/,
      { actor: 'shop-manager' },
    );
  });
  it('refuses kerf approve by the starter, logged in with their own key', async () => {
    let stderr = '';
    await expectRefused(
      async () => {
        const cli = await runKerf(['approve', run.workflowId], {
          KERF_KEY: bed.keys['shop-manager'] ?? '',
          ...bed.db.env,
        });
        expect(cli.code).toBe(1);
        stderr = cli.stderr;
      },
      /shop-manager started this run .*separation of duties/,
      // The CLI's own code, and its key's last use.
      { actor: 'shop-manager', allowChange: ['access.decision_codes', 'access.user_keys'], issuedToo: true },
    );
    expect(stderr.trim()).toMatch(/^kerf: refused: shop-manager started this run/);
  });
  it('refuses kerf approve --as and kerf approve without a key, changing nothing', async () => {
    const before = await tablesSnapshot(bed.db.pool);
    const auditId = await lastAuditId(bed.db.pool);
    const typed = await runKerf(['approve', run.workflowId, '--as', 'production-planner'], {
      ...bed.db.env,
    });
    expect(typed.code).toBe(1);
    expect(typed.stderr.trim()).toMatch(/^kerf: --as is no longer accepted: a typed name proves nothing/);
    const anonymous = await runKerf(['approve', run.workflowId], {
      ...bed.db.env,
      KERF_KEY: '',
      KERF_CREDENTIALS_FILE: '/nonexistent/kerf-credentials',
    });
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr.trim()).toMatch(/^kerf: not logged in: run `kerf login`/);
    expect(await tablesSnapshot(bed.db.pool)).toEqual(before);
    expect(await auditRowsAfter(bed.db.pool, auditId)).toEqual([]);
    expect((await lifecycleStatus(run)).stage).toBe('awaiting-approval');
  });
  it('refuses kerf approve by a reader before any code is issued, audited', async () => {
    const before = await tablesSnapshot(bed.db.pool);
    const auditId = await lastAuditId(bed.db.pool);
    const cli = await runKerf(['approve', run.workflowId], {
      KERF_KEY: bed.keys.intern ?? '',
      ...bed.db.env,
    });
    expect(cli.stderr.trim()).toBe(
      'kerf: user intern has roles reader, not approver: only an approver may approve',
    );
    // Only the key's last use is noted.
    const after = await tablesSnapshot(bed.db.pool);
    expect(after['access.user_keys']).not.toBe(before['access.user_keys']);
    expect({ ...after, 'access.user_keys': '' }).toEqual({ ...before, 'access.user_keys': '' });
    expect(await auditRowsAfter(bed.db.pool, auditId)).toEqual([
      expect.objectContaining({ actor: 'intern', action: 'decision-code-refused' }),
    ]);
  });
});

describe('after every refusal', () => {
  it('the run still waits, and a valid approval through the CLI deploys it', async () => {
    const waiting = await lifecycleStatus(run);
    expect(waiting.stage).toBe('awaiting-approval');
    expect(waiting.approval?.refused.length).toBeLessThanOrEqual(20);
    const cli = await runKerf(['approve', run.workflowId, '--comment', 'checked the card'], {
      KERF_KEY: bed.keys['production-planner'] ?? '',
      ...bed.db.env,
    });
    expect(cli.stderr).toBe('');
    expect(cli.stdout.trim()).toBe('approved version 1 of this run as production-planner');
    expect(await run.result()).toMatchObject({ outcome: 'deployed', version: 1 });
    const final = await lifecycleStatus(run);
    expect(final.approval).toMatchObject({ approver: 'production-planner', authenticatedBy: 'cli-key' });
  });
});
