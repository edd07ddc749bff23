/**
 * Versions beside production, watched at night on the real stack: a cut-time model deployed as a
 * canary answers half the requests; with too few labelled outcomes nothing is decided, as good as
 * production it stays, clearly worse it is aborted by the nightly check as `kerf` (the path of
 * `kerf canary abort`: production alone, audited with both errors, announced). A version deployed as
 * a shadow is compared with production on the same requests in the night's report and its JSON.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PipelineSpec } from '../../lifecycle/spec';
import type { MonitoringReport } from '../../monitoring/report';
import { auditTrail, getAlias } from '../../registry';
import { buildServingApp, type ServingApp } from '../../serving';
import { waitForStage } from '../../workflows/client/lifecycleRuns';
import { nightlyScheduleId } from '../../workflows/client/schedules';
import type { NightlyResult } from '../../workflows/monitoringTypes';
import type { nightlyEvaluation } from '../../workflows/nightlyEvaluation';
import { createLifecycleTestbed, type LifecycleTestbed } from '../lifecycleTestbed';
import { waitFor } from '../servingFixtures';
import { buildSpec } from '../specBuilder';

const TOKEN = 'canary-auto-abort-token-0123456789';
let bed: LifecycleTestbed;
let serving: ServingApp;
/** v1, deployed as production. */
let spec: PipelineSpec;
/** The cut-time rows this file serves, in job order; each phase takes the next ones. */
let jobRows: Record<string, unknown>[] = [];
let served = 0;

/** What the webhook received, every event. */
const announcements: Record<string, unknown>[] = [];
let webhook: Server;

/** Deploys a version of the model through the lifecycle: trained, gated, approved by a person. */
async function deployVersion(version: PipelineSpec, expected: number): Promise<void> {
  const run = await bed.start(version, { approvalDeadlineMs: 600_000 });
  await waitForStage(run, 'awaiting-approval', { timeoutMs: 240_000 });
  await bed.signalDecision(run, 'shop-manager');
  expect(await run.result()).toMatchObject({ outcome: 'deployed', version: expected });
}

function startServing(): Promise<void> {
  serving = buildServingApp({
    pool: bed.db.pool,
    objectStore: bed.store,
    token: TOKEN,
    predictionLog: { flushIntervalMs: 100 },
  });
  return serving.models.ready();
}

beforeAll(async () => {
  webhook = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      announcements.push(JSON.parse(body) as Record<string, unknown>);
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
  const { port } = webhook.address() as AddressInfo;
  bed = await createLifecycleTestbed(
    'canary_abort',
    { jobs: 6000, seed: 7 },
    { KERF_WEBHOOK_URL: `http://127.0.0.1:${port}/kerf` },
  );
  spec = await bed.spec('cut-time.json', {
    trainer: { params: { iterations: 15 } },
    gates: { quality: { thresholds: [{ metric: 'mape', max: 0.6 }] } },
  });
  await deployVersion(spec, 1);
  // v2 answers half the requests as a canary, judged on at least 40 outcomes a side, aborted 30 % worse.
  await deployVersion(
    buildSpec(
      {
        trainer: { params: { iterations: 60 } },
        deploy: { strategy: 'canary', canaryShare: 0.5, canaryMaxErrorRatio: 1.3, canaryMinOutcomes: 40 },
      },
      spec,
    ),
    2,
  );
  if (spec.source.kind !== 'sql') throw new Error('cut-time reads a query');
  jobRows = (
    await bed.db.pool.query<Record<string, unknown>>(
      `SELECT * FROM (${spec.source.query}) AS source ORDER BY job_id LIMIT 1000`,
    )
  ).rows;
  await startServing();
}, 900_000);

afterAll(async () => {
  await serving.close();
  await new Promise((resolve) => webhook.close(resolve));
  await bed.close();
});

interface Answer {
  predictionId: string;
  version: number;
  alias: string;
  value: number;
}

/** The next `count` jobs through the API; their answers once the log holds them. */
async function serveNext(count: number): Promise<Answer[]> {
  const rows = jobRows.slice(served, served + count);
  served += rows.length;
  expect(rows).toHaveLength(count);
  return serveRows(rows);
}

async function serveRows(rows: Record<string, unknown>[]): Promise<Answer[]> {
  const response = await serving.app.inject({
    method: 'POST',
    url: `/v1/models/${spec.name}/predict`,
    headers: { authorization: `Bearer ${TOKEN}` },
    payload: {
      rows: rows.map((row) =>
        Object.fromEntries(
          spec.features.map((feature) => [
            feature.name,
            feature.kind === 'numeric' && typeof row[feature.name] === 'string'
              ? Number(row[feature.name])
              : row[feature.name],
          ]),
        ),
      ),
    },
  });
  expect(response.statusCode).toBe(200);
  await serving.predictionLog.flush();
  return response.json<{ predictions: Answer[] }>().predictions;
}

/** Books the outcome of each answer: the time `actual(answer, index)` the shop measured. */
async function bookOutcomes(answers: Answer[], actual: (answer: Answer, index: number) => number) {
  const response = await serving.app.inject({
    method: 'POST',
    url: '/v1/outcomes',
    headers: { authorization: `Bearer ${TOKEN}` },
    payload: {
      model: spec.name,
      outcomes: answers.map((answer, index) => ({
        predictionId: answer.predictionId,
        actual: actual(answer, index),
      })),
    },
  });
  expect(response.statusCode).toBe(200);
}

/**
 * A tenth of a minute off either way, as a good model's predictions against the booked times. The
 * same miss on every row, so a canary and production have the same error whichever rows the random
 * routing gave each (a miss in proportion to the prediction made the two errors differ by up to a
 * third from run to run, with the rows each side happened to get).
 */
const close = (answer: Answer, index: number) => answer.value + (index % 2 === 0 ? 0.1 : -0.1);

/** Runs the nightly check as its schedule would, without retraining; its id, result and stored report. */
async function nightly(): Promise<{ workflowId: string; result: NightlyResult; report: MonitoringReport }> {
  const workflowId = `${nightlyScheduleId(spec.name)}-${Date.now()}`;
  const result = await bed.client.workflow.execute<typeof nightlyEvaluation>('nightlyEvaluation', {
    taskQueue: bed.taskQueue,
    workflowId,
    args: [{ model: spec.name, retrain: false }],
  });
  const { rows } = await bed.db.pool.query<{ report: MonitoringReport }>(
    'SELECT report FROM monitoring.reports WHERE model = $1 AND run_id = $2',
    [spec.name, workflowId],
  );
  const report = rows[0]?.report;
  if (!report) throw new Error(`no report of ${workflowId}`);
  return { workflowId, result, report };
}

const canaryVersion = async () => (await getAlias(bed.db.pool, spec.name, 'canary'))?.version;
const canaryActions = async () =>
  (await auditTrail(bed.db.pool, spec.name)).filter((entry) => entry.action.startsWith('canary-'));

describe('a canary judged at night', () => {
  it('decides nothing with too few labelled outcomes, and says so', async () => {
    const answers = await serveNext(30);
    expect(new Set(answers.map((answer) => answer.alias))).toEqual(new Set(['production', 'canary']));
    await bookOutcomes(answers, close);
    const { result, report } = await nightly();
    expect(result.canary?.judgement).toMatchObject({
      verdict: 'too-few-outcomes',
      aborted: false,
      // The spec's quality gate judges MAPE: its canary is compared by MAE.
      metric: 'mae',
      minOutcomes: 40,
      maxErrorRatio: 1.3,
      canary: { version: 2 },
      production: { version: 1 },
    });
    expect(result.canary?.summary).toMatch(
      /^Canary v2 not judged: \d+ labelled outcomes of its rows .* no decision tonight$/,
    );
    expect(report.canary?.verdict).toBe('too-few-outcomes');
    expect(report.notes).toContain(result.canary?.summary);
    expect(await canaryVersion()).toBe(2);
  });

  it('keeps a canary as good as production', async () => {
    await bookOutcomes(await serveNext(200), close);
    const { result, report } = await nightly();
    const judgement = result.canary?.judgement;
    expect(judgement?.verdict).toBe('within-bound');
    expect(judgement?.canary.outcomes).toBeGreaterThanOrEqual(40);
    expect(judgement?.production.outcomes).toBeGreaterThanOrEqual(40);
    expect((judgement?.canary.outcomes ?? 0) + (judgement?.production.outcomes ?? 0)).toBe(230);
    expect(report.alarms.join('\n')).not.toMatch(/Canary/);
    expect(await canaryVersion()).toBe(2);
    expect(await canaryActions()).toEqual([]);
    expect(announcements.filter((entry) => entry.event === 'canary-aborted')).toEqual([]);
  });

  it('aborts a canary clearly worse than production, audited and announced', async () => {
    // The shop books times 60 % above what the canary said, and close to production's answers.
    await bookOutcomes(await serveNext(300), (answer, index) =>
      answer.alias === 'canary' ? answer.value * 1.6 : close(answer, index),
    );
    const { workflowId, result, report } = await nightly();
    const judgement = result.canary?.judgement;
    expect(judgement).toMatchObject({ verdict: 'worse', aborted: true, canary: { version: 2 } });
    expect(judgement?.ratio).toBeGreaterThan(1.3);
    expect(result.canary?.summary).toMatch(/^Canary v2 aborted by the nightly check: its MAE /);
    expect(report.canary).toEqual(judgement);
    expect(report.alarms).toContain(result.canary?.summary);
    expect(report.stale).toBe(false);

    // Production answers alone again, moved by `kerf` as `kerf canary abort` would.
    expect(await canaryVersion()).toBeUndefined();
    expect((await getAlias(bed.db.pool, spec.name, 'production'))?.version).toBe(1);
    const audit = await auditTrail(bed.db.pool, spec.name);
    const removed = audit.filter((entry) => entry.action === 'alias-removed');
    expect(removed.at(-1)).toMatchObject({ actor: 'kerf', version: 2, details: { alias: 'canary' } });
    const aborted = await canaryActions();
    expect(aborted).toHaveLength(1);
    expect(aborted[0]).toMatchObject({
      actor: 'kerf',
      action: 'canary-aborted',
      version: 2,
      details: {
        runId: workflowId,
        production: 1,
        metric: 'mae',
        canaryError: judgement?.canary.value,
        canaryOutcomes: judgement?.canary.outcomes,
        productionError: judgement?.production.value,
        productionOutcomes: judgement?.production.outcomes,
        maxErrorRatio: 1.3,
      },
    });
    expect(announcements.filter((entry) => entry.event === 'canary-aborted')).toEqual([
      expect.objectContaining({
        source: 'kerf',
        model: spec.name,
        version: 2,
        production: 1,
        actor: 'kerf',
        reason: result.canary?.summary,
        reportKey: result.htmlKey,
      }),
    ]);
    const page = Buffer.from(await bed.store.get(result.htmlKey ?? '')).toString('utf8');
    expect(page).toContain('worse beyond the bound: aborted');

    // Serving hears of it: every answer is production's again.
    await waitFor('serving to drop the canary', async () => {
      const answers = await serveRows(jobRows.slice(0, 10));
      return answers.every((answer) => answer.alias === 'production') ? true : undefined;
    });
    await bed.keepHistory({ workflowId }, 'nightly-canary-aborted');

    // The next night finds no canary: nothing to judge, nothing aborted twice.
    const next = await nightly();
    expect(next.result.canary).toBeUndefined();
    expect(await canaryActions()).toHaveLength(1);
  });
});

describe('a shadow compared at night', () => {
  it('sets the shadow beside production on the same requests, with each error on the labelled ones', async () => {
    await deployVersion(
      buildSpec(
        {
          trainer: { params: { iterations: 100 } },
          deploy: { strategy: 'shadow', shadowTolerance: 0.05 },
        },
        spec,
      ),
      3,
    );
    await serving.close();
    await startServing();
    const answers = await serveNext(120);
    expect(answers.every((answer) => answer.alias === 'production' && answer.version === 1)).toBe(true);
    // The shadow scores after the answer is sent: wait until its 120 scores are logged.
    await waitFor('the shadow scores', async () => {
      await serving.predictionLog.flush();
      const { rows } = await bed.db.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM serving.predictions WHERE model = $1 AND alias = 'shadow'`,
        [spec.name],
      );
      return rows[0]?.n === 120 ? true : undefined;
    });
    await bookOutcomes(answers.slice(0, 60), close);

    const { result, report } = await nightly();
    expect(result.shadow).toMatchObject({
      shadowVersion: 3,
      productionVersion: 1,
      rows: 120,
      agreement: { kind: 'regression', tolerance: 0.05 },
      outcomes: { metric: 'mae', rows: 60, production: { outcomes: 60 }, shadow: { outcomes: 60 } },
    });
    const agreement = result.shadow?.agreement;
    if (agreement?.kind !== 'regression') throw new Error('a regression agreement');
    expect(agreement.meanAbsoluteDifference).toBeGreaterThan(0);
    expect(agreement.differingShare).toBeGreaterThanOrEqual(0);
    expect(agreement.differingShare).toBeLessThanOrEqual(1);
    expect(report.shadow).toEqual(result.shadow);
    expect(report.notes.at(-1)).toMatch(/^Shadow v3 beside production v1 on 120 same requests since /);
    const page = Buffer.from(await bed.store.get(result.htmlKey ?? '')).toString('utf8');
    expect(page).toContain('Shadow v3 against production v1 on the same requests');
    expect((await getAlias(bed.db.pool, spec.name, 'shadow'))?.version).toBe(3);
  });
});
