import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createMonitorActivities } from '../../activities/monitoring/monitor';
import { createRetrainingActivities } from '../../activities/monitoring/retraining';
import { waitForStage } from '../../workflows/client/lifecycleRuns';
import type { ActivityDeps } from '../../activities/deps';
import { parsePipelineSpec, type PipelineSpec, specHash } from '../../lifecycle/spec';
import { auditTrail, currentSpecHash, getModel, listSpecRevisions, listVersions } from '../../registry';
import { createLifecycleTestbed, type LifecycleTestbed } from '../lifecycleTestbed';

let bed: LifecycleTestbed;
let spec: PipelineSpec;

beforeAll(async () => {
  bed = await createLifecycleTestbed('spec_revisions');
  spec = await bed.spec('cut-time.json', { trainer: { params: { iterations: 60 } } });
});
afterAll(async () => {
  await bed.close();
});

/** The nightly check's planning, with the testbed's pipelines folder. */
const plan = () =>
  createRetrainingActivities({
    pool: bed.db.pool,
    objectStore: bed.store,
    pipelinesDir: bed.config.pipelinesDir,
    temporal: { heavyTaskQueue: `${bed.taskQueue}-heavy` },
    webhooks: { urls: [], secret: () => 'unused-webhook-secret' },
  } as unknown as ActivityDeps).planRetraining({
    model: spec.name,
    stale: false,
    staleReasons: [],
    startedBy: 'kerf-nightly',
  });

/** The spec file the nightly check compares production with. */
const writeSpecFile = (draft: PipelineSpec) =>
  writeFile(path.join(bed.config.pipelinesDir, `${spec.name}.json`), JSON.stringify(draft, null, 2));

describe('spec revisions', () => {
  it('apply edits that do not change the model without retraining, and retrain for those that do', async () => {
    const handle = await bed.start(spec, { startedBy: 'shop-manager', approvalDeadlineMs: 600_000 });
    await waitForStage(handle, 'awaiting-approval', { timeoutMs: 240_000 });
    await bed.signalDecision(handle, 'production-planner', 'approve', 'cut time looks right');
    expect(await handle.result()).toMatchObject({ outcome: 'deployed', version: 1 });

    // A new description and a looser decay tolerance, on the same data: no new version, no training.
    const described = parsePipelineSpec({
      ...spec,
      description: 'Seconds of laser cutting per part, as the planners quote it.',
      monitoring: { ...spec.monitoring, decayTolerance: 0.3 },
    });
    const rerun = await bed.start(described, { startedBy: 'shop-manager' });
    const result = await rerun.result();
    expect(result).toMatchObject({ outcome: 'unchanged', version: 1 });
    expect(result.reason).toMatch(/other changes \(description, monitoring\) are its revision 1/);
    expect(await listVersions(bed.db.pool, spec.name)).toHaveLength(1);
    expect(await currentSpecHash(bed.db.pool, spec.name, 1)).toBe(specHash(described));
    expect((await getModel(bed.db.pool, spec.name)).description).toBe(described.description);

    // The nightly check watches production by its current spec: the revised decay tolerance.
    const deps = {
      pool: bed.db.pool,
      readerPool: bed.db.pool,
      objectStore: bed.store,
    } as unknown as ActivityDeps;
    const monitor = createMonitorActivities(deps);
    await new MockActivityEnvironment().run(() =>
      monitor.checkProductionModel({ model: spec.name, runId: `revisions-night-${spec.name}` }),
    );
    const { rows: nights } = await bed.db.pool.query<{ tolerance: number }>(
      `SELECT (report -> 'thresholds' ->> 'decayTolerance')::float8 AS tolerance FROM monitoring.reports WHERE model = $1`,
      [spec.name],
    );
    expect(nights).toEqual([{ tolerance: 0.3 }]);

    // The nightly check finds the spec file's gates changed: a revision of production, no run.
    const gated = parsePipelineSpec({
      ...described,
      gates: { ...described.gates, fairness: { ...described.gates.fairness, maxErrorRatio: 4 } },
    });
    await writeSpecFile(gated);
    const revised = await plan();
    expect(revised).toMatchObject({ kind: 'revised' });
    expect(revised.reason).toMatch(/the spec's gates changed since version 1: recorded as its revision 2/);
    expect(revised.lifecycle).toBeUndefined();
    expect(await currentSpecHash(bed.db.pool, spec.name, 1)).toBe(specHash(gated));
    // Asked again, nothing is recorded twice.
    expect((await plan()).kind).toBe('none');
    const revisions = await listSpecRevisions(bed.db.pool, spec.name, 1);
    expect(revisions.map((revision) => [revision.revision, revision.fields, revision.revisedBy])).toEqual([
      [1, ['description', 'monitoring'], `run:${rerun.workflowId}`],
      [2, ['gates'], 'kerf-nightly'],
    ]);
    const audited = (await auditTrail(bed.db.pool, spec.name)).filter(
      (entry) => entry.action === 'spec-revised',
    );
    expect(audited).toHaveLength(2);

    // More trees change the model: a lifecycle, which will make version 2.
    await writeSpecFile(
      parsePipelineSpec({
        ...gated,
        trainer: { ...gated.trainer, params: { ...gated.trainer.params, iterations: 70 } },
      }),
    );
    const retrain = await plan();
    expect(retrain.kind).toBe('spec-changed');
    expect(retrain.lifecycle).toBeDefined();
  });
});
