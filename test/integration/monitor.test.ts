/**
 * The shop changes and Kerf notices: a deployed cut-time model serves new jobs through the API; a
 * normal month raises nothing at night, a month with titanium parts is flagged by the API, reported
 * by the nightly check (unseen material, drift) and starts a retraining run.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LifecycleHandle, waitForStage } from '../../workflows/client/lifecycleRuns';
import { activeMappings, mappingsFromRegistry, retireKnownMappings } from '../../monitoring/categoryMappings';
import type { ReferenceProfile } from '../../monitoring/reference';
import { auditTrail } from '../../registry';
import { ObjectStore } from '../../platform/objectStore';
import type { PipelineSpec } from '../../lifecycle/spec';
import { nightlyScheduleId } from '../../workflows/client/schedules';
import { buildServingApp, recordOutcomesFromQuery, type ServingApp } from '../../serving';
import { generateShop } from '../../shop/load';
import type { NightlyResult } from '../../workflows/monitoringTypes';
import { runKerf } from '../helpers';
import { createLifecycleTestbed, type LifecycleTestbed } from '../lifecycleTestbed';

const TOKEN = 'nightly-test-token-0123456789';
let bed: LifecycleTestbed;
let store: ObjectStore;
let serving: ServingApp;
let spec: PipelineSpec;

/** What the webhook received: a local server standing in for the shop's chat or e-mail hook. */
const announcements: Record<string, unknown>[] = [];
let webhook: Server;

beforeAll(async () => {
  webhook = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      // The lifecycle's own announcements (approval requested, deployed) go to the same hook; this
      // file looks at the nightly check's.
      const announcement = JSON.parse(body) as Record<string, unknown>;
      if (announcement.event === 'nightly-check') announcements.push(announcement);
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
  const address = webhook.address() as AddressInfo;
  bed = await createLifecycleTestbed(
    'nightly',
    { jobs: 8000, seed: 4 },
    {
      KERF_WEBHOOK_URL: `http://127.0.0.1:${address.port}/kerf`,
    },
  );
  store = ObjectStore.fromConfig(bed.config.s3);
  spec = await bed.spec('cut-time.json', { trainer: { params: { iterations: 120 } } });
  const run = await bed.start(spec, { approvalDeadlineMs: 600_000 });
  await waitForStage(run, 'awaiting-approval', { timeoutMs: 180_000 });
  await bed.signalDecision(run, 'production-planner');
  await run.result();
  serving = buildServingApp({
    pool: bed.db.pool,
    objectStore: store,
    token: TOKEN,
    predictionLog: { flushIntervalMs: 100 },
    categoryMappings: mappingsFromRegistry(bed.db.pool, 0),
  });
  await serving.models.ready();
}, 300_000);

afterAll(async () => {
  await new Promise((resolve) => webhook.close(resolve));
  await serving.close();
  store.destroy();
  await bed.close();
});

/** Appends a month of jobs, serves each cut-time row through the API (keyed by job id), books the outcomes. */
async function serveNewJobs(scenario: 'none' | 'new-material', seed: number) {
  const appended = await generateShop(bed.db.ownerPool, { jobs: 700, seed, scenario, append: true });
  if (spec.source.kind !== 'sql') throw new Error('cut-time reads a query');
  const { rows } = await bed.db.pool.query<Record<string, unknown>>(
    `SELECT * FROM (${spec.source.query}) AS source WHERE job_id >= $1 ORDER BY job_id`,
    [appended.firstJobId],
  );
  const warnings: { column: string; value: unknown }[] = [];
  for (let start = 0; start < rows.length; start += 200) {
    const batch = rows.slice(start, start + 200);
    const response = await serving.app.inject({
      method: 'POST',
      url: `/v1/models/${spec.name}/predict`,
      headers: { authorization: `Bearer ${TOKEN}` },
      payload: {
        rows: batch.map(inputsOf),
        keys: batch.map((row) => String(row.job_id)),
      },
    });
    expect(response.statusCode).toBe(200);
    const body = response.json<{
      predictions: { version: number; warnings: { column: string; value: unknown }[] }[];
    }>();
    expect(body.predictions).toHaveLength(batch.length);
    for (const prediction of body.predictions) warnings.push(...prediction.warnings);
  }
  await serving.predictionLog.flush();
  await recordOutcomesFromQuery(
    bed.db.pool,
    spec.name,
    `SELECT s.job_id::text AS key, s.run_seconds / j.quantity AS actual
     FROM shop.route_steps s JOIN shop.jobs j ON j.job_id = s.job_id
     WHERE s.operation = 'cut' AND s.job_id >= ${appended.firstJobId}`,
  );
  return { served: rows.length, warnings };
}

/** One titanium row of the cut-time source, as the API takes it. */
async function titaniumRow(): Promise<Record<string, unknown>> {
  if (spec.source.kind !== 'sql') throw new Error('cut-time reads a query');
  const { rows } = await bed.db.pool.query<Record<string, unknown>>(
    `SELECT * FROM (${spec.source.query}) AS source WHERE material_family = 'titanium' LIMIT 1`,
  );
  const found = rows[0];
  if (!found) throw new Error('no titanium row');
  return inputsOf(found);
}

/** The spec's feature columns of a source row, numbers as numbers. */
function inputsOf(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    spec.features.map((feature) => [
      feature.name,
      feature.kind === 'numeric' && typeof row[feature.name] === 'string'
        ? Number(row[feature.name])
        : row[feature.name],
    ]),
  );
}

function nightly(): Promise<NightlyResult> {
  return bed.client.workflow.execute('nightlyEvaluation', {
    taskQueue: bed.taskQueue,
    workflowId: `${nightlyScheduleId(spec.name)}-${Date.now()}`,
    args: [{ model: spec.name, approvalDeadlineMs: 600_000 }],
  });
}

describe('nightly evaluation', () => {
  it('deploy set the nightly schedule from the spec', async () => {
    const schedule = await bed.client.schedule.getHandle(nightlyScheduleId(spec.name)).describe();
    expect(schedule.action).toMatchObject({
      type: 'startWorkflow',
      workflowType: 'nightlyEvaluation',
      taskQueue: bed.taskQueue,
    });
  });

  it('raises nothing after a normal month', async () => {
    const { served, warnings } = await serveNewJobs('none', 5);
    expect(served).toBeGreaterThan(500);
    expect(warnings).toEqual([]);
    const result = await nightly();
    expect(result.version).toBe(1);
    expect(result.predictions).toBe(served);
    expect(result.labelled).toBe(served);
    expect(result.alarms).toEqual([]);
    expect(result.stale).toBe(false);
    expect(result.started).toEqual([]);
    expect(announcements).toEqual([]);
  });

  it('flags titanium in the API, reports it and the drift at night, and starts retraining', async () => {
    const { served, warnings } = await serveNewJobs('new-material', 6);
    const titanium = warnings.filter((warning) => warning.value === 'titanium');
    expect(titanium.length).toBeGreaterThan(100);
    expect(titanium[0]?.column).toBe('material_family');

    const result = await nightly();
    expect(result.predictions).toBe(served);
    expect(result.stale).toBe(true);
    expect(result.alarms.join('\n')).toMatch(/material_family .*titanium/);
    expect(result.alarms.join('\n')).toMatch(/drift/i);
    expect(result.htmlKey).toBeDefined();
    const page = Buffer.from(await store.get(result.htmlKey ?? '')).toString('utf8');
    expect(page).toContain('titanium');

    expect(result.started).toHaveLength(1);
    expect(result.started[0]?.reason).toMatch(/^stale: /);
    // The night's news reached the webhook: the stale model and the retraining it started.
    expect(announcements).toHaveLength(1);
    expect(announcements[0]).toMatchObject({
      source: 'kerf',
      event: 'nightly-check',
      model: spec.name,
      stale: true,
      started: [{ workflowId: result.started[0]?.workflowId }],
    });
    const retraining: LifecycleHandle = bed.client.workflow.getHandle(result.started[0]?.workflowId ?? '');
    const status = await waitForStage(retraining, 'awaiting-approval', { timeoutMs: 240_000 });
    expect(status.version).toBe(2);
    expect(status.startedBy).toBe('kerf-nightly');

    // Until version 2 serves, an operator teaches serving to treat titanium like stainless steel.
    const taught = await runKerf(
      ['teach', spec.name, 'material_family', 'titanium', '--like', 'stainless_steel'],
      { ...bed.db.env, KERF_KEY: bed.keys['shop-manager'] ?? '' },
    );
    expect(taught.stderr).toBe('');
    expect(taught.stdout).toMatch(/"titanium" is now served like "stainless_steel"/);
    const refused = await runKerf(
      ['teach', spec.name, 'material_family', 'titanium', '--like', 'unobtainium'],
      { ...bed.db.env, KERF_KEY: bed.keys['shop-manager'] ?? '' },
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/"unobtainium" is not a material_family that .* knows; pick one of: /);
    const row = await titaniumRow();
    const answer = await serving.app.inject({
      method: 'POST',
      url: `/v1/models/${spec.name}/predict`,
      headers: { authorization: `Bearer ${TOKEN}` },
      payload: { row },
    });
    const warning = answer.json<{ predictions: { warnings: { message: string }[] }[] }>().predictions[0]
      ?.warnings[0];
    expect(warning?.message).toMatch(/scored as "stainless_steel", as a taught category mapping says/);

    // Version 2 is approved and deployed, but the titanium jobs are the newest: the ordered split put
    // them all in its test rows, so it never trained on titanium and the mapping stays in force.
    await bed.signalDecision(retraining, 'production-planner');
    await waitForStage(retraining, 'deployed', { timeoutMs: 60_000 });
    const v2 = await store.getJson<ReferenceProfile>(`models/${spec.name}/v2/reference.json`);
    const families = v2.features.find((feature) => feature.name === 'material_family');
    expect(families?.kind === 'categorical' && families.categories).not.toContain('titanium');
    expect((await activeMappings(bed.db.pool, spec.name)).map((mapping) => mapping.unseenValue)).toEqual([
      'titanium',
    ]);

    // A version that was trained on titanium retires the mapping, with an audit row.
    const knowsTitanium: ReferenceProfile = {
      ...v2,
      features: v2.features.map((feature) =>
        feature.kind === 'categorical' && feature.name === 'material_family'
          ? {
              ...feature,
              categories: [...feature.categories, 'titanium'],
              proportions: [...feature.proportions, 0],
            }
          : feature,
      ),
    };
    const retired = await retireKnownMappings(bed.db.pool, spec.name, 2, knowsTitanium, 'test');
    expect(retired.map((mapping) => mapping.unseenValue)).toEqual(['titanium']);
    expect(await activeMappings(bed.db.pool, spec.name)).toEqual([]);
    const audit = (await auditTrail(bed.db.pool, spec.name)).map((entry) => entry.action);
    expect(audit).toEqual(expect.arrayContaining(['category-taught', 'category-mapping-retired']));
    await retraining.terminate('test over');
  });

  it('starts a lifecycle when the spec changed since the production version', async () => {
    // Someone raises the number of trees in the spec file; production was made from the old one.
    const file = path.join(bed.config.pipelinesDir, `${spec.name}.json`);
    const draft = JSON.parse(await readFile(file, 'utf8')) as {
      trainer: { params: Record<string, unknown> };
    };
    draft.trainer.params.iterations = 130;
    await writeFile(file, JSON.stringify(draft, null, 2));
    announcements.length = 0;
    const result = await nightly();
    expect(result.stale).toBe(false);
    expect(result.started).toHaveLength(1);
    expect(result.started[0]?.reason).toMatch(/^the spec changed since version 2/);
    expect(result.started[0]?.workflowId).toMatch(new RegExp(`^lifecycle-${spec.name}-spec-changed-`));
    expect(announcements[0]).toMatchObject({ event: 'nightly-check', stale: false });
    await bed.client.workflow.getHandle(result.started[0]?.workflowId ?? '').terminate('test over');
  });
});
