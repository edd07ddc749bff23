/**
 * Lifecycle benchmark: the shipped cut-time spec on a generated shop of 1M jobs (or 100k), from
 * ingest to a candidate awaiting approval, on a stack of the bench's own with one `kerf worker`;
 * prints each stage's seconds and the total, and in the same run the physical limit of the ingest
 * stage: `COPY (the spec's query) TO STDOUT` of the same rows, read to the end in this process.
 *
 *   npm run bench -- lifecycle          (1m)
 *   npx tsx bench/lifecycle.ts 100k
 */
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { to as copyTo } from 'pg-copy-streams';
import { parsePipelineSpec } from '../lifecycle/spec';
import { createPool } from '../platform/database';
import { generateShop } from '../shop/load';
import { shippedSpecInput } from '../test/specBuilder';
import { recordRunStarter, addUser, authenticateKey } from '../access';
import { prepareStorage } from '../platform/prepare';
import { lifecycleWorkflowId, startLifecycle, waitForStage } from '../workflows/client/lifecycleRuns';
import { type CaseLine, peakRssMb, round, runCaseWhenStarted } from './caseLine';
import { progress, startBenchStack, startWorkers, trustWorkersKey } from './nightlyStack';

export const CASES: Record<string, { jobs: number }> = {
  '1m': { jobs: 1_000_000 },
  '100k': { jobs: 100_000 },
};

const say = (line: string) => progress('dev', line);

export async function runCase(name: string): Promise<CaseLine> {
  const benchCase = CASES[name];
  if (!benchCase) throw new Error(`Unknown case "${name}"; cases: ${Object.keys(CASES).join(', ')}`);
  const stack = await startBenchStack('dev', `lifecycle-${name}`);
  try {
    const { config } = stack;
    const ownerPool = createPool(
      { url: config.postgres.ownerUrl },
      { max: 2, applicationName: 'kerf bench lifecycle' },
    );
    try {
      await generateShop(ownerPool, { jobs: benchCase.jobs, seed: 21 });
      await trustWorkersKey(ownerPool, config);
    } finally {
      await ownerPool.end();
    }
    await prepareStorage(config);
    const admin = await addUser(
      stack.pool,
      { name: 'kerf-admin', roles: ['admin'], models: [] },
      'bootstrap',
    );
    const byAdmin = await authenticateKey(stack.pool, admin.key);
    const starterKey = await addUser(
      stack.pool,
      { name: 'planner-bot', roles: ['starter'], models: [] },
      byAdmin,
    );
    const starter = await authenticateKey(stack.pool, starterKey.key);
    await startWorkers(stack, 1);
    say(`shop of ${benchCase.jobs} jobs generated, one worker polling`);

    const spec = parsePipelineSpec(shippedSpecInput('cut-time'));
    if (spec.source.kind !== 'sql') throw new Error('cut-time reads a query');
    // The physical limit of ingest: the same query's rows through COPY, read to the end here.
    const copyStarted = performance.now();
    // As the spec reader reads it (the role ingest uses).
    const readerPool = createPool(
      { url: config.postgres.readerUrl },
      { max: 1, applicationName: 'kerf bench copy' },
    );
    const client = await readerPool.connect();
    let copyBytes = 0;
    try {
      await pipeline(
        client.query(copyTo(`COPY (${spec.source.query}) TO STDOUT (FORMAT binary)`)),
        new Writable({
          write(chunk: Buffer, _encoding, done) {
            copyBytes += chunk.length;
            done();
          },
        }),
      );
    } finally {
      client.release();
      await readerPool.end();
    }
    const copySeconds = (performance.now() - copyStarted) / 1000;
    say(`COPY of the query: ${copySeconds.toFixed(2)} s, ${copyBytes} bytes`);

    const workflowId = lifecycleWorkflowId(spec.name);
    await recordRunStarter(stack.pool, workflowId, starter);
    const started = performance.now();
    const handle = await startLifecycle(stack.client, config, spec, {
      startedBy: 'planner-bot',
      workflowId,
      approvalDeadlineMs: 3_600_000,
    });
    const status = await waitForStage(handle, 'awaiting-approval', { timeoutMs: 3_600_000, pollMs: 500 });
    const total = (performance.now() - started) / 1000;
    await handle.terminate('bench finished');
    const stages: Record<string, number> = {};
    status.history.forEach((entry, index) => {
      const next = status.history[index + 1];
      if (next) stages[entry.stage] = round((Date.parse(next.at) - Date.parse(entry.at)) / 1000, 2);
    });
    say(`awaiting approval after ${total.toFixed(1)} s`);
    return {
      bench: 'lifecycle',
      case: name,
      jobs: benchCase.jobs,
      rows: status.snapshot?.rows ?? null,
      stage_s: stages,
      to_awaiting_approval_s: round(total, 1),
      goal_s: benchCase.jobs === 1_000_000 ? 60 : null,
      copy_query_s: round(copySeconds, 2),
      ingest_vs_copy: stages.ingest === undefined ? null : round(copySeconds / stages.ingest, 3),
      metrics: status.metrics ?? null,
      peak_rss_mb: peakRssMb(),
    };
  } finally {
    await stack.stop();
  }
}

runCaseWhenStarted('lifecycle.ts', runCase);
