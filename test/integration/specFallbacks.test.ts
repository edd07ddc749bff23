/**
 * The two ways a run gets its spec other than `kerf run`: a start from the Web UI, whose input holds
 * the spec itself (the first activity stores it and every later stage reads it by hash), and the
 * nightly retraining of a production version made before specs were stored by hash (its spec is
 * found in the version's own copy, `models/<model>/v<N>/spec.json`, checked against the registry's
 * hash and stored by hash for the run it starts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActivityDeps } from '../../activities/deps';
import { createRetrainingActivities } from '../../activities/monitoring/retraining';
import { canonicalJson, parsePipelineSpec, type PipelineSpec, specHash } from '../../lifecycle/spec';
import {
  getVersion,
  moveAlias,
  recordApproval,
  recordEvaluation,
  resolveVersion,
  setStatus,
} from '../../registry';
import { artifactKeys, specKey } from '../../registry/artifactKeys';
import { lifecycleStatus, waitForStage } from '../../workflows/client/lifecycleRuns';
import type { LifecycleInput } from '../../workflows/lifecycleTypes';
import { activityRuns, decodePayload, historyEvents, type HistoryEvent } from '../activityHistory';
import { createLifecycleTestbed, type LifecycleTestbed } from '../lifecycleTestbed';
import { uniqueName } from '../helpers';
import { shippedSpecInput, type SpecInput, specInput, uniqueSpecName } from '../specBuilder';
import { modelTaskOf } from '../../lifecycle/spec/metrics';

let bed: LifecycleTestbed;
/** The nightly check's worker has no pipelines/ folder: only production's spec can be retrained from. */
let noPipelines: string;

beforeAll(async () => {
  bed = await createLifecycleTestbed('spec_fallbacks', { jobs: 3000, seed: 8 });
  noPipelines = await mkdtemp(path.join(os.tmpdir(), 'kerf-spec-fallbacks-no-pipelines-'));
});

afterAll(async () => {
  await bed.close();
  await rm(noPipelines, { recursive: true, force: true });
});

/** A quick cut-time spec as its JSON file holds it (defaults not filled in), under a unique name. */
const quickDraft = (): SpecInput =>
  specInput(
    { name: uniqueSpecName('cut-time'), trainer: { params: { iterations: 60 } } },
    shippedSpecInput('cut-time'),
  );

/** What `resolveRunSpec` answered in a run's history. */
function resolvedSpec(events: HistoryEvent[]): { spec: PipelineSpec; specHash: string } {
  const [resolved] = activityRuns<unknown, { spec: PipelineSpec; specHash: string }>(events, [
    'resolveRunSpec',
  ]);
  expect(resolved?.completed, 'resolveRunSpec completed').toBe(true);
  return resolved?.result as { spec: PipelineSpec; specHash: string };
}

/** Asserts that every stage after resolveRunSpec was handed the hash, never the spec. */
function expectStagesByHash(events: HistoryEvent[], hash: string, stages: string[]): void {
  const activities = activityRuns<{ spec?: unknown; specHash?: string }>(events);
  for (const stage of stages) {
    // The first attempt of each.
    const input = activities.find((activity) => activity.type === stage)?.input;
    expect(input, stage).toBeDefined();
    expect(input?.specHash, stage).toBe(hash);
    expect(input?.spec, stage).toBeUndefined();
  }
}

describe('a Web UI start that carries the spec inline', () => {
  it('stores it as canonical JSON under its hash, and every stage reads it by that hash', async () => {
    const draft = quickDraft();
    const spec = parsePipelineSpec(draft);
    const hash = specHash(spec);
    await expect(bed.store.get(specKey(hash))).rejects.toThrow();

    // What a person pastes into the Web UI's "Start Workflow": the spec file's JSON, no hash.
    const handle = await bed.client.workflow.start('modelLifecycle', {
      taskQueue: bed.taskQueue,
      workflowId: uniqueName('web-ui-start'),
      args: [
        {
          spec: draft as unknown as PipelineSpec,
          startedBy: 'planner-bot',
          approvalDeadlineMs: 600_000,
        } satisfies LifecycleInput,
      ],
    });
    const waiting = await waitForStage(handle, 'awaiting-approval', { timeoutMs: 240_000 });
    expect(waiting.pipeline).toBe(spec.name);
    expect(waiting.verdicts.every((verdict) => verdict.passed)).toBe(true);

    // The stored bytes are the canonical JSON the hash is taken of, not the JSON the person sent.
    const stored = Buffer.from(await bed.store.get(specKey(hash))).toString('utf8');
    expect(stored).toBe(canonicalJson(spec));
    expect(stored).not.toBe(JSON.stringify(draft));

    const events = await historyEvents(handle);
    const started = decodePayload(
      events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0],
    ) as LifecycleInput | undefined;
    expect(started?.specHash).toBeUndefined();
    expect(resolvedSpec(events)).toEqual({ spec, specHash: hash });
    expectStagesByHash(events, hash, [
      'ingestSnapshot',
      'validateSnapshot',
      'registerVersion',
      'trainModel',
      'evaluateCandidate',
      'checkFairness',
      'packageCandidate',
    ]);
    // The version's lineage names the same hash.
    expect(waiting.version).toBeDefined();
    expect((await getVersion(bed.db.pool, spec.name, waiting.version ?? 0)).specHash).toBe(hash);

    await bed.signalDecision(handle, 'production-planner', 'reject', 'inline-spec test: not deployed');
    expect(await handle.result()).toMatchObject({ outcome: 'rejected', pipeline: spec.name });
  }, 300_000);
});

/**
 * A production version as a run made it before specs were stored by hash: registry rows with the
 * spec's hash, and the spec only as the version's own copy (written by the security stage as
 * `JSON.stringify(spec, null, 2)`); nothing under `specs/`.
 */
async function oldProductionVersion(spec: PipelineSpec, copy: string | undefined): Promise<number> {
  const pool = bed.db.pool;
  const { version: record } = await resolveVersion(pool, {
    model: spec.name,
    task: modelTaskOf(spec.task),
    description: spec.description,
    specHash: specHash(spec),
    // Made before model hashes: the migration gave it its spec hash as one.
    modelHash: specHash(spec),
    snapshotHash: 'b'.repeat(64),
    runId: uniqueName('lifecycle-before-spec-by-hash'),
    params: { ...spec.trainer.params },
    codeVersion: 'before-spec-by-hash',
  });
  const version = record.version;
  const keys = artifactKeys(spec.name, version);
  await recordEvaluation(pool, spec.name, version, {
    metrics: { rmse: 1 },
    gateVerdicts: [{ gate: 'quality', passed: true, checks: [] }],
    artifacts: { onnxKey: keys.onnx, manifestKey: keys.manifest, cardKey: keys.card },
  });
  await setStatus(pool, {
    model: spec.name,
    version,
    status: 'candidate',
    actor: 'run:old',
    reason: 'gates passed',
  });
  await recordApproval(pool, { model: spec.name, version, decision: 'approved', approver: 'shop-manager' });
  await moveAlias(pool, {
    model: spec.name,
    alias: 'production',
    version,
    actor: 'shop-manager',
    reason: 'deployed before specs were stored by hash',
  });
  if (copy !== undefined) await bed.store.put(keys.spec, copy, 'application/json');
  return version;
}

/** The nightly check's activities on a worker without pipelines/. */
const nightly = () =>
  createRetrainingActivities({
    pool: bed.db.pool,
    objectStore: bed.store,
    pipelinesDir: noPipelines,
    temporal: { heavyTaskQueue: `${bed.taskQueue}-heavy` },
    webhooks: { urls: [], secret: () => 'unused-webhook-secret' },
  } as unknown as ActivityDeps);

const stalePlan = (model: string) =>
  nightly().planRetraining({ model, stale: true, staleReasons: ['decayed'], startedBy: 'kerf-nightly' });

/** The nightly check's refusal to retrain is in the audit log once, by the nightly check, on version 1. */
async function expectRetrainingRefusedAudited(model: string): Promise<void> {
  const { rows } = await bed.db.pool.query<{ actor: string; version: number | null }>(
    `SELECT actor, version FROM registry.audit_log WHERE action = 'retraining-refused' AND model = $1`,
    [model],
  );
  expect(rows).toEqual([{ actor: 'kerf-nightly', version: 1 }]);
}

describe('nightly retraining of a production version made before specs were stored by hash', () => {
  it("retrains from the version's own copy of its spec, stored by hash first", async () => {
    const spec = parsePipelineSpec(quickDraft());
    const hash = specHash(spec);
    await oldProductionVersion(spec, JSON.stringify(spec, null, 2));
    await expect(bed.store.get(specKey(hash))).rejects.toThrow();

    const plan = await stalePlan(spec.name);
    expect(plan).toMatchObject({
      kind: 'retrain',
      reason: 'stale: decayed',
      lifecycle: {
        specHash: hash,
        pipeline: spec.name,
        startedBy: 'kerf-nightly',
        heavyTaskQueue: `${bed.taskQueue}-heavy`,
      },
    });
    expect(plan.lifecycle?.spec).toBeUndefined();
    const stored = Buffer.from(await bed.store.get(specKey(hash))).toString('utf8');
    expect(stored).toBe(canonicalJson(spec));

    // The run the nightly check would start reads that spec by hash and makes the next version of it.
    const handle = await bed.client.workflow.start('modelLifecycle', {
      taskQueue: bed.taskQueue,
      workflowId: uniqueName('retrain-old-version'),
      args: [{ ...plan.lifecycle, approvalDeadlineMs: 600_000 } as LifecycleInput],
    });
    try {
      await waitForStage(handle, 'train', { timeoutMs: 120_000 });
      const status = await lifecycleStatus(handle);
      expect(status.pipeline).toBe(spec.name);
      expect(status.version).toBe(2);
      expect((await getVersion(bed.db.pool, spec.name, 2)).specHash).toBe(hash);
      const events = await historyEvents(handle);
      expect(resolvedSpec(events)).toEqual({ spec, specHash: hash });
      expectStagesByHash(events, hash, ['ingestSnapshot', 'validateSnapshot', 'registerVersion']);
    } finally {
      // Only the start from the old version's spec was wanted; training is the lifecycle's own test.
      await handle.terminate('spec fallback test: the retraining started from the right spec');
    }
  }, 180_000);

  it('refuses a copy changed since the version was made, and stores nothing', async () => {
    const spec = parsePipelineSpec(quickDraft());
    const hash = specHash(spec);
    // Someone with bucket access made mallory the approver in the copy after the version was approved.
    const changed = { ...spec, approval: { ...spec.approval, approvers: ['mallory'] } };
    const changedHash = specHash(parsePipelineSpec(changed));
    await oldProductionVersion(spec, JSON.stringify(changed, null, 2));

    expect(await stalePlan(spec.name)).toEqual({
      kind: 'none',
      reason:
        `version 1's spec ${hash} is not stored by its hash and the version holds a copy that is not that spec any more: ` +
        'retraining needs the spec; put it in the pipelines folder and run `kerf run <spec file>`',
    });
    await expectRetrainingRefusedAudited(spec.name);
    await expect(bed.store.get(specKey(hash))).rejects.toThrow();
    await expect(bed.store.get(specKey(changedHash))).rejects.toThrow();
  });

  it('refuses when the version has neither a stored spec nor a copy', async () => {
    const spec = parsePipelineSpec(quickDraft());
    const hash = specHash(spec);
    await oldProductionVersion(spec, undefined);
    expect(await stalePlan(spec.name)).toEqual({
      kind: 'none',
      reason:
        `version 1's spec ${hash} is not stored by its hash and the version has no copy of it: ` +
        'retraining needs the spec; put it in the pipelines folder and run `kerf run <spec file>`',
    });
    await expectRetrainingRefusedAudited(spec.name);
  });
});
