/**
 * `npm run bench -- nightly [case]`: the nightly check of many deployed models triggered at once,
 * on the Temporal dev server and on the local cluster in the same run, each on a stack of its own
 * with two `kerf worker --queues all` processes. Preparation (stack, shop, one approved lifecycle per
 * model, a month of served predictions) is not timed; the time runs from triggering every model's
 * nightly schedule, as `kerf schedule trigger` does, until every nightly run has finished with its
 * monitoring report. Progress goes to stderr, one line per stage; the JSON line to stdout.
 */
import { randomUUID } from 'node:crypto';
import { dropAwsNodeVersionNotice } from '../platform/nodeWarnings';
import type { NightlyResult } from '../workflows/monitoringTypes';
import type { nightlyEvaluation } from '../workflows/nightlyEvaluation';
import { nightlyScheduleId } from '../workflows/client/schedules';
import { type CaseLine, peakRssMb, round, runCaseWhenStarted } from './caseLine';
import {
  type BenchStack,
  type ModelsPlan,
  deployModels,
  prepareShop,
  progress,
  startBenchStack,
  startWorkers,
  type TemporalServerKind,
} from './nightlyStack';

/** The goal for the cluster: every model checked within five minutes. */
const GOAL_SECONDS = 300;
const WORKERS = 2;

export const CASES: Record<string, ModelsPlan> = {
  '50-models': { models: 50, jobs: 1000, servedJobs: 300, iterations: 30 },
  // A quick look at the machinery; name it to run it.
  '3-models': { models: 3, jobs: 1000, servedJobs: 300, iterations: 30 },
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The runs the triggers started, by model: found in the server's list of nightlyEvaluation runs
 * started since `since` (the schedule names its runs `nightly-<model>-<time>`), polled until every
 * model has one. Listing once a second keeps the server free for the runs; asking each schedule
 * (`describe`) 50 times a second starved the dev server.
 */
async function triggeredRuns(
  stack: BenchStack,
  models: string[],
  since: Date,
): Promise<Map<string, { workflowId: string; runId: string }>> {
  const found = new Map<string, { workflowId: string; runId: string }>();
  const deadline = Date.now() + 120_000;
  const query = `WorkflowType = 'nightlyEvaluation' AND StartTime >= '${new Date(since.getTime() - 1000).toISOString()}'`;
  for (;;) {
    for await (const run of stack.client.workflow.list({ query })) {
      const model = models.find((name) => run.workflowId.startsWith(`${nightlyScheduleId(name)}-`));
      if (model) found.set(model, { workflowId: run.workflowId, runId: run.runId });
    }
    if (found.size === models.length) return found;
    if (Date.now() > deadline) {
      throw new Error(`the schedules started ${found.size} of ${models.length} nightly runs within 120 s`);
    }
    await sleep(1000);
  }
}

/** Checks a nightly run did the check: a report row and page for the production version, with the window seen. */
function checkResult(model: string, result: NightlyResult, served: number): void {
  const problems: string[] = [];
  if (result.version !== 1) problems.push(`version ${result.version}`);
  if (result.reportId === undefined || !Number.isFinite(result.reportId)) problems.push('no report row');
  if (!result.htmlKey) problems.push('no report page');
  if (result.predictions !== served) problems.push(`${result.predictions} predictions, not ${served}`);
  if (problems.length > 0) throw new Error(`the nightly check of ${model} is wrong: ${problems.join(', ')}`);
}

interface TimedNightly {
  /** From the trigger until every run's result was in, as the bench saw it. */
  seconds: number;
  stale: number;
  /** By the server's clock, after the trigger: when the last run started, and the last closed. */
  lastStartSeconds: number;
  lastCloseSeconds: number;
  longestRunSeconds: number;
}

/** Triggers every model's nightly schedule at once and times until each run has finished. */
async function timeNightly(stack: BenchStack, models: string[], served: number): Promise<TimedNightly> {
  const since = new Date();
  const started = performance.now();
  await Promise.all(
    models.map((model) => stack.client.schedule.getHandle(nightlyScheduleId(model)).trigger()),
  );
  const runs = await triggeredRuns(stack, models, since);
  const results = await Promise.all(
    [...runs].map(async ([model, { workflowId, runId }]) => {
      const result = await stack.client.workflow
        .getHandle<typeof nightlyEvaluation>(workflowId, runId)
        .result();
      return { model, result };
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  for (const { model, result } of results) checkResult(model, result, served);
  const { rows } = await stack.pool.query<{ reports: string }>(
    'SELECT count(*) AS reports FROM monitoring.reports WHERE model = ANY($1) AND window_to >= $2',
    [models, since],
  );
  if (Number(rows[0]?.reports) !== models.length) {
    throw new Error(`${rows[0]?.reports} monitoring reports written, not ${models.length}`);
  }
  // The server's own clock on the runs: how long the schedules took to start them, and the runs took.
  const described = await Promise.all(
    [...runs.values()].map(({ workflowId, runId }) =>
      stack.client.workflow.getHandle(workflowId, runId).describe(),
    ),
  );
  const afterTrigger = (time: Date | undefined) => ((time?.getTime() ?? Number.NaN) - since.getTime()) / 1000;
  return {
    seconds,
    stale: results.filter(({ result }) => result.stale).length,
    lastStartSeconds: Math.max(...described.map((run) => afterTrigger(run.startTime))),
    lastCloseSeconds: Math.max(...described.map((run) => afterTrigger(run.closeTime))),
    longestRunSeconds: Math.max(
      ...described.map((run) => ((run.closeTime?.getTime() ?? Number.NaN) - run.startTime.getTime()) / 1000),
    ),
  };
}

interface ServerFigures extends TimedNightly {
  /** Stack, shop, workers, lifecycles and served month: everything before the trigger. */
  prepareSeconds: number;
  servedPerModel: number;
}

export async function onServer(server: TemporalServerKind, plan: ModelsPlan): Promise<ServerFigures> {
  const name = `nightly-${server}-${randomUUID().slice(0, 8)}`;
  const preparing = performance.now();
  progress(server, `starting a stack of its own in .data/bench-stacks/${name}`);
  const stack = await startBenchStack(server, name);
  let failed = true;
  try {
    progress(server, `stack up: Temporal at ${stack.config.temporal.address}`);
    const people = await prepareShop(stack, plan);
    progress(server, `shop generated (${plan.jobs} jobs), people added, the workers' signing key trusted`);
    await startWorkers(stack, WORKERS);
    progress(
      server,
      `${WORKERS} workers (kerf worker --queues all) poll, pids ${stack.workers.map((w) => w.pid).join(', ')}`,
    );
    const deployed = await deployModels(stack, plan, people);
    const prepareSeconds = (performance.now() - preparing) / 1000;
    progress(server, `triggering the nightly schedules of ${deployed.names.length} models at once`);
    const timed = await timeNightly(stack, deployed.names, deployed.servedPerModel);
    progress(
      server,
      `all ${deployed.names.length} nightly checks finished with a report in ${timed.seconds.toFixed(1)} s`,
    );
    failed = false;
    return { ...timed, prepareSeconds, servedPerModel: deployed.servedPerModel };
  } catch (error) {
    // Said before stopping: polls still in flight may fail noisily once the stack goes.
    progress(server, `failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    for (const worker of stack.workers) {
      progress(
        server,
        `worker ${worker.pid} (${worker.exited() ? 'exited' : 'running'}), last output:\n${worker.output().slice(-2000)}`,
      );
    }
    throw error;
  } finally {
    progress(server, failed ? 'stopping (data kept for its logs)' : 'stopping the workers and the stack');
    await stack.stop({ afterFailure: failed });
  }
}

/** The server's clock on the runs, seconds after the trigger: last start, last close, longest run. */
const serverView = (figures: ServerFigures) => ({
  last_start_s: round(figures.lastStartSeconds, 1),
  last_close_s: round(figures.lastCloseSeconds, 1),
  longest_run_s: round(figures.longestRunSeconds, 1),
});

export async function runCase(name: string): Promise<CaseLine> {
  const plan = CASES[name];
  if (!plan) throw new Error(`Unknown case "${name}"; cases: ${Object.keys(CASES).join(', ')}`);
  dropAwsNodeVersionNotice();
  const dev = await onServer('dev', plan);
  const cluster = await onServer('cluster', plan);
  return {
    bench: 'nightly',
    case: name,
    models: plan.models,
    workers: WORKERS,
    worker_queues: 'all',
    shop_jobs: plan.jobs,
    served_per_model: dev.servedPerModel,
    cluster_seconds: round(cluster.seconds, 1),
    dev_seconds: round(dev.seconds, 1),
    ratio_cluster_to_dev: round(cluster.seconds / dev.seconds, 2),
    goal_seconds: GOAL_SECONDS,
    goal_met: cluster.seconds < GOAL_SECONDS,
    stale_models: { dev: dev.stale, cluster: cluster.stale },
    prepare_seconds: { dev: round(dev.prepareSeconds, 1), cluster: round(cluster.prepareSeconds, 1) },
    // The server's clock: seconds after the trigger when the last run started and the last closed.
    server_view: { dev: serverView(dev), cluster: serverView(cluster) },
    peak_rss_mb: peakRssMb(),
  };
}

runCaseWhenStarted('nightly.ts', runCase);
