/**
 * Tuning benchmark: the shipped steel-energy spec through the real lifecycle on a stack of the
 * bench's own (one `kerf worker`, its heavy queue running as many trials at once as the machine has
 * cores), with its tuning (81 trials, successive halving, a 5-minute budget) and, in the same run and
 * on the same data, without it (the spec's own parameters: the baseline). Prints the test RMSE of
 * both on the agreed split (the newest quarter of the year's readings, 8,760 rows), their ratio, the
 * trials run and how long the tune stage took.
 *
 *   npm run bench -- tune
 */
import { createPool } from '../platform/database';
import { parsePipelineSpec, type PipelineSpec } from '../lifecycle/spec';
import type { TuningRecord } from '../lifecycle/tuning/plan';
import { artifactKeys } from '../registry/artifactKeys';
import { shippedSpecInput } from '../test/specBuilder';
import { importCsv } from '../shop/csvImport';
import { steelEnergyCsv } from '../test/sharedData';
import { recordRunStarter, addUser, authenticateKey } from '../access';
import { prepareStorage } from '../platform/prepare';
import { lifecycleWorkflowId, startLifecycle, waitForStage } from '../workflows/client/lifecycleRuns';
import { type CaseLine, peakRssMb, round, runCaseWhenStarted } from './caseLine';
import { type BenchStack, progress, startBenchStack, startWorkers, trustWorkersKey } from './nightlyStack';

export const CASES = { 'steel-energy': {} } as const;

const say = (line: string) => progress('dev', line);

async function prepare(stack: BenchStack) {
  const { config } = stack;
  const ownerPool = createPool(
    { url: config.postgres.ownerUrl },
    { max: 2, applicationName: 'kerf bench tune' },
  );
  try {
    await importCsv(ownerPool, steelEnergyCsv, { table: 'steel_energy' });
    await trustWorkersKey(ownerPool, config);
  } finally {
    await ownerPool.end();
  }
  await prepareStorage(config);
  const admin = await addUser(stack.pool, { name: 'kerf-admin', roles: ['admin'], models: [] }, 'bootstrap');
  const byAdmin = await authenticateKey(stack.pool, admin.key);
  const starter = await addUser(stack.pool, { name: 'planner-bot', roles: ['starter'], models: [] }, byAdmin);
  return authenticateKey(stack.pool, starter.key);
}

/** One lifecycle up to its candidate: the test metrics, and how long each stage took. */
async function candidate(
  stack: BenchStack,
  spec: PipelineSpec,
  starter: Awaited<ReturnType<typeof prepare>>,
) {
  const workflowId = lifecycleWorkflowId(spec.name);
  await recordRunStarter(stack.pool, workflowId, starter);
  const started = performance.now();
  const handle = await startLifecycle(stack.client, stack.config, spec, {
    startedBy: 'planner-bot',
    workflowId,
    approvalDeadlineMs: 3_600_000,
  });
  const status = await waitForStage(handle, 'awaiting-approval', { timeoutMs: 1_800_000, pollMs: 1000 });
  const seconds = (performance.now() - started) / 1000;
  await handle.terminate('bench finished');
  const at = (stage: string) => status.history.find((entry) => entry.stage === stage)?.at;
  const stageSeconds = (from: string, to: string) => {
    const start = at(from);
    const end = at(to);
    return start && end ? (Date.parse(end) - Date.parse(start)) / 1000 : undefined;
  };
  return {
    rmse: status.metrics?.rmse ?? Number.NaN,
    rows: status.training?.rows,
    seconds,
    tuneSeconds: stageSeconds('tune', 'train'),
    trainSeconds: stageSeconds('train', 'evaluate'),
  };
}

export async function runCase(name: string): Promise<CaseLine> {
  if (!(name in CASES)) throw new Error(`Unknown case "${name}"; cases: ${Object.keys(CASES).join(', ')}`);
  const stack = await startBenchStack('dev', 'tune');
  try {
    const starter = await prepare(stack);
    await startWorkers(stack, 1);
    say('stack up, steel_energy imported, one worker polling');
    const shipped = shippedSpecInput('steel-energy') as Record<string, unknown>;
    const untunedInput = Object.fromEntries(Object.entries(shipped).filter(([key]) => key !== 'tuning'));
    const untuned = await candidate(
      stack,
      parsePipelineSpec({ ...untunedInput, name: 'steel-energy-untuned' }),
      starter,
    );
    say(`untuned: rmse ${untuned.rmse.toFixed(4)} in ${untuned.seconds.toFixed(1)} s`);
    const spec = parsePipelineSpec(shipped);
    const tuned = await candidate(stack, spec, starter);
    const record = await stack.store.getJson<TuningRecord>(artifactKeys(spec.name, 1).tuning);
    say(`tuned: rmse ${tuned.rmse.toFixed(4)}, tune stage ${tuned.tuneSeconds?.toFixed(1)} s`);
    return {
      bench: 'tune',
      dataset: 'steel-energy',
      rows: tuned.rows,
      workers: 1,
      heavy_concurrency: stack.config.temporal.heavyConcurrency,
      budget_s: record.plan.budgetMs / 1000,
      strategy: `${record.plan.strategy}, ${record.plan.rungs.map((rung) => `${rung.trials}@${round(rung.fraction, 3)}`).join(' > ')}`,
      folds: record.plan.folds,
      trials: record.plan.trials,
      trial_runs: record.results.length,
      stopped_by_budget: record.results.filter((result) => result.stopped === 'budget').length,
      tune_s: round(record.seconds, 1),
      tune_stage_s: tuned.tuneSeconds === undefined ? null : round(tuned.tuneSeconds, 1),
      chosen_trial: record.chosen?.trial ?? null,
      chosen_fold_rmse: record.chosen?.score === undefined ? null : round(record.chosen.score, 4),
      chosen: Object.fromEntries(record.plan.tuned.map((param) => [param, record.params[param]])),
      rmse_tuned: round(tuned.rmse, 4),
      rmse_untuned: round(untuned.rmse, 4),
      rmse_ratio: round(tuned.rmse / untuned.rmse, 4),
      goal_rmse: 1.0,
      candidate_s: round(tuned.seconds, 1),
      untuned_candidate_s: round(untuned.seconds, 1),
      peak_rss_mb: peakRssMb(),
    };
  } finally {
    await stack.stop();
  }
}

runCaseWhenStarted('tune.ts', runCase);
