/**
 * Issue 7, end to end in a real browser: a candidate waits for approval, a person approves it in the
 * Temporal Web UI ("Send a Signal" `approve` with its JSON), the run deploys it, and its model card,
 * served by the prediction API, renders with its charts. Screenshots of each step are kept in
 * `test-results/e2e/`.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { ObjectStore } from '../../platform/objectStore';
import { type LifecycleHandle, waitForStage } from '../../workflows/client/lifecycleRuns';
import { derivedNames } from '../../lifecycle/features/build';
import { parsePipelineSpec } from '../../lifecycle/spec';
import { getAlias, getApproval, listModels } from '../../registry';
import { generateShop } from '../../shop/load';
import type { nightlyEvaluation } from '../../workflows/nightlyEvaluation';
import { buildServingApp, type ServingApp } from '../../serving';
import { runKerf } from '../helpers';
import { createLifecycleTestbed, type LifecycleTestbed } from '../lifecycleTestbed';
import { buildSpec } from '../specBuilder';
import {
  launchChromium,
  screenshots,
  type Screenshots,
  sendSignalInTemporalUi,
  stepTimer,
  workflowStatusBadge,
} from './browser';

const API_TOKEN = 'e2e-browser-token-0123456789';
/**
 * What a production planner types into the Web UI's signal dialog: the JSON `kerf approval-code`
 * printed for them (a one-time code bound to them, this run and its version).
 */
async function approvalJson(handle: LifecycleHandle): Promise<string> {
  const issued = await runKerf(['approval-code', handle.workflowId, '--json'], {
    KERF_KEY: bed.keys['production-planner'] ?? '',
    ...bed.db.env,
  });
  if (issued.code !== 0) throw new Error(`kerf approval-code failed: ${issued.stderr}`);
  const { code } = JSON.parse(issued.stdout) as { code: string };
  return JSON.stringify({ code, comment: 'approved in the browser' });
}
/** A first version's card: nothing to compare with yet. */
const FIRST_CARD_CHARTS = ['pred-vs-actual', 'residuals', 'slice-error-ratio', 'feature-importance'];
/** A later version's card adds its metrics against the production version's. */
const MIN_CARD_CHARTS = 5;

let bed: LifecycleTestbed;
let browser: Browser | undefined;
let page: Page;
let shots: Screenshots;
let objectStore: ObjectStore;
let serving: ServingApp | undefined;

beforeAll(async () => {
  bed = await createLifecycleTestbed('e2e_approval');
  objectStore = ObjectStore.fromConfig(bed.config.s3);
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  shots = await screenshots('approval');
});
afterEach(async (context) => {
  // A failed step leaves the page it failed on.
  if (context.task.result?.state === 'fail')
    await shots.take(page, 'failed', { fullPage: true }).catch(() => {});
});
afterAll(async () => {
  await serving?.close();
  await browser?.close();
  objectStore.client.destroy();
  await bed.close();
});

/**
 * Opens the run waiting for approval in the Web UI, approves it there, and waits for the run to end;
 * each step's screenshot is named after `label`.
 */
async function approveInWebUi(handle: LifecycleHandle, label: string) {
  const timer = stepTimer();
  await waitForStage(handle, 'awaiting-approval', { timeoutMs: 240_000 });
  timer.lap('train to awaiting-approval');

  const workflowUrl = `${bed.config.temporal.uiUrl}/namespaces/default/workflows/${encodeURIComponent(handle.workflowId)}`;
  await page.goto(workflowUrl);
  await page.getByTestId('workflow-id-heading').filter({ hasText: handle.workflowId }).waitFor();
  await workflowStatusBadge(page, 'Running').waitFor({ timeout: 30_000 });
  await shots.take(page, `${label}-waiting-for-approval`);
  timer.lap('open the run in the Web UI');

  const json = await approvalJson(handle);
  timer.lap('kerf approval-code');
  await sendSignalInTemporalUi(page, 'approve', json, async (dialog) => {
    await shots.take(page, `${label}-signal-dialog-filled`, { element: dialog });
  });
  await shots.take(page, `${label}-signal-sent`);
  timer.lap('send the approve signal');

  const result = await handle.result();
  timer.lap('deploy and complete');

  await page.reload();
  await workflowStatusBadge(page, 'Completed').waitFor({ timeout: 30_000 });
  await shots.take(page, `${label}-completed`);
  timer.lap('see it completed in the Web UI');
  return { result, laps: timer.laps };
}

/** Opens a version's model card through the prediction API and returns the charts it draws. */
async function chartsOnCard(model: string, version: number): Promise<string[]> {
  const stored = Buffer.from(await objectStore.get(`models/${model}/v${version}/card.html`)).toString('utf8');
  if (!serving) {
    serving = buildServingApp({ pool: bed.db.pool, objectStore, token: API_TOKEN });
    await serving.models.ready();
    await serving.app.listen({ port: 0, host: '127.0.0.1' });
    await page.setExtraHTTPHeaders({ authorization: `Bearer ${API_TOKEN}` });
  }
  const address = serving.app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const response = await page.goto(`http://127.0.0.1:${port}/v1/models/${model}/versions/${version}/card`);
  expect(response?.status()).toBe(200);
  expect(await response?.text()).toBe(stored);
  await shots.take(page, `v${version}-model-card`, { fullPage: true });

  expect(await page.locator('h1').first().innerText()).toContain(model);
  expect(await page.locator('table').count()).toBeGreaterThan(0);
  const chartNames: string[] = [];
  for (const figure of await page.locator('figure[data-chart]').all()) {
    const name = (await figure.getAttribute('data-chart')) ?? '';
    chartNames.push(name);
    const svg = figure.locator('svg');
    expect(await svg.count(), `chart ${name} has one SVG`).toBe(1);
    // Drawn, not just present: the inline SVG takes up room on the page.
    const box = await svg.boundingBox();
    expect(box?.width ?? 0, `chart ${name} width`).toBeGreaterThan(100);
    expect(box?.height ?? 0, `chart ${name} height`).toBeGreaterThan(50);
    await shots.take(page, `v${version}-chart-${name}`, { element: figure });
  }
  return chartNames;
}

const iterations = (count: number) => ({ trainer: { params: { iterations: count } } });

describe('approval in the browser', () => {
  it('approves waiting runs in the Temporal Web UI, deploys them, and renders their model cards', async () => {
    // Version 1: approved in the Web UI, deployed, its card drawn.
    const spec = await bed.spec('cut-time.json', iterations(40));
    const first = await approveInWebUi(await bed.start(spec, { approvalDeadlineMs: 600_000 }), 'v1');
    expect(first.result).toMatchObject({ outcome: 'deployed', pipeline: spec.name, version: 1 });
    expect((await getAlias(bed.db.pool, spec.name, 'production'))?.version).toBe(1);
    // The JSON typed in the Web UI is the approval the registry keeps.
    expect(await getApproval(bed.db.pool, spec.name, 1)).toMatchObject({
      decision: 'approved',
      approver: 'production-planner',
      comment: 'approved in the browser',
    });
    const firstCharts = await chartsOnCard(spec.name, 1);
    expect(firstCharts).toEqual(FIRST_CARD_CHARTS);

    // Version 2 (longer training) against version 1 in production: its card has every chart.
    const longer = buildSpec(iterations(120), spec);
    const second = await approveInWebUi(await bed.start(longer, { approvalDeadlineMs: 600_000 }), 'v2');
    expect(second.result).toMatchObject({ outcome: 'deployed', pipeline: spec.name, version: 2 });
    expect((await getAlias(bed.db.pool, spec.name, 'production'))?.version).toBe(2);
    const secondCharts = await chartsOnCard(spec.name, 2);
    console.log(
      `[e2e] ${spec.name}: v1 ${JSON.stringify(first.laps)}, v2 ${JSON.stringify(second.laps)} (ms); ` +
        `charts v1 ${JSON.stringify(firstCharts)}, v2 ${JSON.stringify(secondCharts)}; ` +
        `${shots.taken.length} screenshots in test-results/e2e/`,
    );
    expect(secondCharts).toContain('metrics-vs-champion');
    expect(secondCharts.length, `the card has ${MIN_CARD_CHARTS} or more charts`).toBeGreaterThanOrEqual(
      MIN_CARD_CHARTS,
    );
  });

  it('renders a nightly monitoring report with its charts after a month of titanium jobs', async () => {
    // The production version of the test above serves a month of new jobs, a third in titanium.
    const models = await listModels(bed.db.pool);
    const model = models.find((candidate) => candidate.productionVersion !== null)?.name;
    if (!model || !serving) throw new Error('the approval test deploys a model and starts the API first');
    const appended = await generateShop(bed.db.ownerPool, {
      jobs: 700,
      seed: 9,
      scenario: 'new-material',
      append: true,
    });
    const spec = parsePipelineSpec(await objectStore.getJson(`models/${model}/v2/spec.json`));
    if (spec.source.kind !== 'sql') throw new Error('cut-time reads a query');
    const { rows } = await bed.db.pool.query<Record<string, unknown>>(
      `SELECT * FROM (${spec.source.query}) AS source WHERE job_id >= $1 ORDER BY job_id`,
      [appended.firstJobId],
    );
    // A request carries the source's features; serving derives the derived ones (and refuses them).
    const derived = derivedNames(spec);
    const inputs = rows.map((row) =>
      Object.fromEntries(
        spec.features
          .filter((feature) => !derived.has(feature.name))
          .map((feature) => [
            feature.name,
            feature.kind === 'numeric' ? Number(row[feature.name]) : row[feature.name],
          ]),
      ),
    );
    for (let start = 0; start < inputs.length; start += 250) {
      const response = await serving.app.inject({
        method: 'POST',
        url: `/v1/models/${model}/predict`,
        headers: { authorization: `Bearer ${API_TOKEN}` },
        payload: { rows: inputs.slice(start, start + 250) },
      });
      expect(response.statusCode).toBe(200);
    }
    await serving.predictionLog.flush();
    const nightly = await bed.client.workflow.execute<typeof nightlyEvaluation>('nightlyEvaluation', {
      taskQueue: bed.taskQueue,
      workflowId: `nightly-${model}-e2e-${Date.now()}`,
      args: [{ model, retrain: false }],
    });
    expect(nightly.stale).toBe(true);
    const html = Buffer.from(await objectStore.get(nightly.htmlKey ?? '')).toString('utf8');
    await page.setContent(html);
    await shots.take(page, 'monitoring-report', { fullPage: true });
    expect(await page.locator('body').innerText()).toContain('titanium');
    const charts: string[] = [];
    for (const figure of await page.locator('figure[data-chart]').all()) {
      const name = (await figure.getAttribute('data-chart')) ?? '';
      charts.push(name);
      const box = await figure.locator('svg').boundingBox();
      expect(box?.width ?? 0, `chart ${name} width`).toBeGreaterThan(100);
      expect(box?.height ?? 0, `chart ${name} height`).toBeGreaterThan(50);
      await shots.take(page, `monitoring-chart-${charts.length}-${name}`, { element: figure });
    }
    console.log(`[e2e] monitoring report charts: ${JSON.stringify(charts)}`);
    expect(charts).toEqual(expect.arrayContaining(['drift-js', 'unseen-categories', 'distribution']));
  });
});
