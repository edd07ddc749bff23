/**
 * Runs stopped on purpose: at the quality, fairness and security gates and at deploy; each audited with
 * its reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lifecycleStatus, waitForStage } from '../../workflows/client/lifecycleRuns';
import { auditTrail, getAlias, listVersions } from '../../registry';
import { createLifecycleTestbed, type LifecycleTestbed, runFailureOf } from '../lifecycleTestbed';
import { buildSpec } from '../specBuilder';

let bed: LifecycleTestbed;

beforeAll(async () => (bed = await createLifecycleTestbed('lifecycle_gates')));
afterAll(() => bed.close());

describe('lifecycle gates', () => {
  it('stops a challenger worse than the champion at evaluation, with an audit row saying why', async () => {
    const good = await bed.spec('cut-time.json', { trainer: { params: { iterations: 120 } } });
    const first = await bed.start(good, { approvalDeadlineMs: 600_000 });
    await waitForStage(first, 'awaiting-approval', { timeoutMs: 180_000 });
    await bed.signalDecision(first, 'production-planner');
    expect(await first.result()).toMatchObject({ outcome: 'deployed', version: 1 });

    // Same pipeline, a much weaker trainer: a new spec hash, so a new version, judged against v1.
    const weak = buildSpec({ trainer: { params: { iterations: 4, earlyStoppingRounds: undefined } } }, good);
    const second = await bed.start(weak);
    const failure = await runFailureOf(second.result());
    expect(failure.type).toBe('GateFailedError');
    await bed.keepHistory(second, 'stopped-at-quality-gate');
    expect(failure.message).toMatch(/quality gate failed: .*champion/i);
    const status = await lifecycleStatus(second);
    expect(status.stage).toBe('failed');
    expect(status.champion).toMatchObject({ version: 1, comparable: true });
    expect(status.verdicts.map((verdict) => [verdict.gate, verdict.passed])).toEqual([['quality', false]]);
    expect(status.verdicts[0]?.failed.some((message) => /champion/i.test(message))).toBe(true);
    // The challenger's error is worse than the champion's on the same test rows.
    expect(status.metrics?.mape).toBeGreaterThan(status.champion?.metrics?.mape ?? Infinity);

    const versions = await listVersions(bed.db.pool, good.name);
    expect(versions.map((version) => [version.version, version.status])).toEqual([
      [1, 'deployed'],
      [2, 'rejected'],
    ]);
    const gateRows = (await auditTrail(bed.db.pool, good.name)).filter(
      (entry) => entry.action === 'gate-failed',
    );
    expect(gateRows).toHaveLength(1);
    expect(gateRows[0]).toMatchObject({ version: 2, details: { gate: 'quality' } });
    expect((await getAlias(bed.db.pool, good.name, 'production'))?.version).toBe(1);
  });

  it('stops a model that fails a fairness bound at the fairness gate', async () => {
    const strict = await bed.spec('cut-time.json', {
      trainer: { params: { iterations: 60 } },
      gates: { fairness: { maxErrorRatio: 1.01, minSliceSupport: 20 } },
    });
    const handle = await bed.start(strict);
    const failure = await runFailureOf(handle.result());
    expect(failure.type).toBe('GateFailedError');
    expect(failure.message).toMatch(/fairness gate failed: .*error \d[.\d]*x the overall/);
    const rows = (await auditTrail(bed.db.pool, strict.name)).filter(
      (entry) => entry.action === 'gate-failed',
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]?.details).toMatchObject({ gate: 'fairness' });
    const status = await lifecycleStatus(handle);
    expect(status.verdicts.map((verdict) => [verdict.gate, verdict.passed])).toEqual([
      ['quality', true],
      ['fairness', false],
    ]);
    expect((await listVersions(bed.db.pool, strict.name))[0]?.status).toBe('rejected');
  });

  it('stops an artifact above the size bound at the security gate, before it is signed', async () => {
    const small = await bed.spec('cut-time.json', {
      trainer: { params: { iterations: 60 } },
      gates: { security: { maxModelBytes: 1 } },
    });
    const handle = await bed.start(small);
    const failure = await runFailureOf(handle.result());
    expect(failure.type).toBe('GateFailedError');
    expect(failure.message).toMatch(
      /security gate failed: The artifact is \d+ bytes, above gates\.security\.maxModelBytes \(1\); use fewer or shallower trees, or raise the bound\./,
    );
    const rows = (await auditTrail(bed.db.pool, small.name)).filter(
      (entry) => entry.action === 'gate-failed',
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]?.details).toMatchObject({ gate: 'security', failed: [{ name: 'model-size' }] });
    const status = await lifecycleStatus(handle);
    expect(status.verdicts.map((verdict) => [verdict.gate, verdict.passed])).toEqual([
      ['quality', true],
      ['fairness', true],
      ['security', false],
    ]);
    const stored = (await bed.store.list(`models/${small.name}/v1/`)).map((object) => object.key);
    expect(stored.some((key) => key.endsWith('manifest.json'))).toBe(false);
    expect(stored.some((key) => key.endsWith('model.onnx'))).toBe(true);
    expect((await listVersions(bed.db.pool, small.name))[0]?.status).toBe('rejected');
  });

  it('refuses at deploy a model whose ONNX file changed by one byte after signing', async () => {
    const spec = await bed.spec('cut-time.json', { trainer: { params: { iterations: 60 } } });
    const handle = await bed.start(spec, { approvalDeadlineMs: 600_000 });
    await waitForStage(handle, 'awaiting-approval', { timeoutMs: 180_000 });
    const onnxKey = `models/${spec.name}/v1/model.onnx`;
    const bytes = await bed.store.get(onnxKey);
    const tampered = Uint8Array.from(bytes);
    const middle = Math.floor(tampered.length / 2);
    tampered[middle] = (tampered[middle] ?? 0) ^ 0x01;
    await bed.store.put(onnxKey, tampered);

    await bed.signalDecision(handle, 'production-planner');
    const failure = await runFailureOf(handle.result());
    expect(failure.type).toBe('TamperedArtifactError');
    await bed.keepHistory(handle, 'tampered-at-deploy');
    expect(failure.message).toMatch(/was not deployed/);
    const refused = (await auditTrail(bed.db.pool, spec.name)).filter(
      (entry) => entry.action === 'deploy-refused',
    );
    expect(refused).toHaveLength(1);
    expect(refused[0]?.details).toMatchObject({ reason: 'onnx-hash-mismatch' });
    expect(await getAlias(bed.db.pool, spec.name, 'production')).toBeUndefined();
  });
});
