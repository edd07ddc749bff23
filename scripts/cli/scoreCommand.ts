/**
 * `kerf score`: a query's rows scored by a model's version into a result table of schema `scoring`,
 * as a durable run (the `batchScoring` workflow), followed chunk by chunk. Only an operator of the
 * model may start one; a refusal (of the person or of the query) is audited.
 */
import { readFile } from 'node:fs/promises';
import { WorkflowFailedError } from '@temporalio/client';
import type { Command } from 'commander';
import { AccessError, actionProblem, type Identity } from '../../access';
import { appendAudit } from '../../registry';
import { resultTableName } from '../../serving/batch/names';
import { scoringQueryProblem } from '../../serving/batch/query';
import { MAX_CHUNK_ROWS, MIN_CHUNK_ROWS } from '../../lifecycle/spec/scoring';
import {
  type BatchScoringHandle,
  followBatchScoring,
  startBatchScoring,
} from '../../workflows/client/batchScoringRuns';
import {
  type BatchScoringResult,
  type BatchScoringStatus,
  batchScoringStatusQuery,
  type ChunkSummary,
  DEFAULT_PARALLEL_CHUNKS,
  MAX_PARALLEL_CHUNKS,
} from '../../workflows/batchScoringTypes';
import { LifecycleCommandError, withClient, workflowUiUrl } from './lifecycleCommands';
import { asLoggedIn } from './login';

interface ScoreOptions {
  query?: string;
  into?: string;
  version?: string;
  chunkRows?: string;
  parallel?: string;
  detach?: boolean;
  status?: string;
}

/** A whole number option within bounds, or a refusal naming it. */
function wholeNumber(option: string, text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^[0-9]{1,10}$/.test(text) || value < min || value > max) {
    throw new LifecycleCommandError(
      `${option} must be a whole number from ${min} to ${max}, got ${JSON.stringify(text).slice(0, 40)}`,
    );
  }
  return value;
}

/** The query from `--query`: the SQL itself, or `@file` for a file holding it. */
async function queryText(option: string): Promise<string> {
  if (!option.startsWith('@')) return option;
  try {
    return await readFile(option.slice(1), 'utf8');
  } catch (error) {
    throw new LifecycleCommandError(
      `cannot read the query file ${option.slice(1)}: ${(error as Error).message}`,
    );
  }
}

/** Audits a refused start and returns the error to throw. */
async function refused(
  pool: Parameters<typeof appendAudit>[0],
  identity: Identity,
  model: string,
  reason: string,
): Promise<Error> {
  await appendAudit(pool, {
    actor: identity.user.name,
    action: 'batch-scoring-refused',
    details: { model, stage: 'cli', reason, authenticatedBy: 'cli-key' },
  });
  return new LifecycleCommandError(`refused: ${reason}`);
}

/** One line for a finished chunk. */
export function chunkLine(chunk: ChunkSummary, status: BatchScoringStatus): string {
  const of = status.chunks === undefined ? '' : `/${status.chunks}`;
  const how = chunk.alreadyScored
    ? 'scored by an earlier attempt'
    : `in ${chunk.seconds.toFixed(2)} s (${Math.round(chunk.rows / Math.max(chunk.seconds, 1e-6))} rows/s)`;
  return `  chunk ${chunk.chunk + 1}${of}: ${chunk.rows} rows ${how}`;
}

/** The final line of a run. */
export function resultLine(result: BatchScoringResult): string {
  const rate = Math.round(result.rows / Math.max(result.seconds, 1e-6));
  const unseen = Object.entries(result.unseen)
    .map(([column, count]) => `${column} ${count}`)
    .join(', ');
  return (
    `scored ${result.rows} rows with ${result.model} v${result.version} into ${result.into} (run ${result.run}, ${result.chunks} chunks) ` +
    `in ${result.seconds.toFixed(2)} s: ${rate} rows/s${unseen ? `; rows with a category the model never saw: ${unseen}` : ''}`
  );
}

async function follow(handle: BatchScoringHandle): Promise<void> {
  try {
    const result = await followBatchScoring(handle, {
      onPlan: (status) => {
        const plan = status.plan;
        if (!plan) return;
        console.log(
          `  staged ${plan.rows} rows: ${status.chunks ?? 0} chunks of at most ${plan.chunkRows}, scored with ${status.model} v${plan.version} into ${plan.into}`,
        );
      },
      onChunk: (chunk, status) => console.log(chunkLine(chunk, status)),
    });
    console.log(resultLine(result));
  } catch (error) {
    if (error instanceof WorkflowFailedError) {
      // The activity's own failure under the ActivityFailure, when there is one.
      const inner = error.cause;
      const message = inner?.cause instanceof Error ? inner.cause.message : (inner?.message ?? error.message);
      throw new LifecycleCommandError(`the run failed: ${message}`);
    }
    throw error;
  }
}

async function showStatus(runId: string): Promise<void> {
  await withClient(async (client) => {
    const handle = client.workflow.getHandle(runId);
    const status = await handle.query(batchScoringStatusQuery).catch((error: unknown) => {
      throw new LifecycleCommandError(
        `no batch scoring run ${runId} answers (${(error as Error).message}); copy the id \`kerf score\` printed`,
      );
    });
    const plan = status.plan;
    console.log(
      `${status.model} into ${plan?.into ?? status.into}: ${status.stage}` +
        (plan
          ? ` (v${plan.version}, ${plan.rows} rows, ${status.finished.length}/${status.chunks ?? 0} chunks)`
          : ''),
    );
    for (const chunk of status.finished) console.log(chunkLine(chunk, status));
    if (status.reason) console.log(`  ${status.reason}`);
  });
}

export function registerScoreCommand(program: Command): void {
  program
    .command('score')
    .description(
      "score a query's rows with a model's version into a table of schema scoring, chunk by chunk, as a durable run",
    )
    .argument('[model]', 'the model (pipeline name)')
    .option(
      '--query <sql>',
      'a read-only SELECT returning the columns the version takes and the key columns (every other one); @file reads it from a file',
    )
    .option('--into <table>', 'the result table: name or scoring.name (made on the first run)')
    .option('--version <n>', 'an approved version (default: production when the run starts)')
    .option('--chunk-rows <n>', `rows per chunk (${MIN_CHUNK_ROWS} to ${MAX_CHUNK_ROWS}; default 100000)`)
    .option(
      '--parallel <n>',
      `chunks scored at once (1 to ${MAX_PARALLEL_CHUNKS}; default ${DEFAULT_PARALLEL_CHUNKS})`,
    )
    .option('--detach', 'print the run id and return at once')
    .option('--status <run>', "print a run's stage and finished chunks instead")
    .addHelpText(
      'after',
      '\nYou score as the logged-in person, an operator of the model.\nExamples:\n' +
        '  kerf score quote-price --query @reprice.sql --into quote_reprices\n' +
        '  kerf score cut-time --query @jobs.sql --into cut_time_forecast --version 3 --chunk-rows 50000\n' +
        '  kerf score --status score-cut-time-20260101T030000Z-ab12',
    )
    .action(async (model: string | undefined, options: ScoreOptions) => {
      if (options.status !== undefined) {
        await showStatus(options.status);
        return;
      }
      if (model === undefined || options.query === undefined || options.into === undefined) {
        throw new LifecycleCommandError(
          'name the model, the --query and the --into table, e.g. kerf score cut-time --query @jobs.sql --into cut_times',
        );
      }
      const version = wholeNumber('--version', options.version, 1, 1e9);
      const chunkRows = wholeNumber('--chunk-rows', options.chunkRows, MIN_CHUNK_ROWS, MAX_CHUNK_ROWS);
      const parallelChunks = wholeNumber('--parallel', options.parallel, 1, MAX_PARALLEL_CHUNKS);
      const query = await queryText(options.query);
      const into = options.into;
      const startedBy = await asLoggedIn('kerf score', async (pool, identity) => {
        const forbidden = actionProblem(identity.user, 'score', model);
        if (forbidden) {
          await refused(pool, identity, model, forbidden);
          throw new AccessError('forbidden', forbidden);
        }
        const table = resultTableName(into);
        if ('problem' in table) throw await refused(pool, identity, model, table.problem);
        const problem = scoringQueryProblem(query);
        if (problem) throw await refused(pool, identity, model, problem);
        return identity.user.name;
      });
      await withClient(async (client, config) => {
        const handle = await startBatchScoring(client, config, {
          model,
          query,
          into,
          startedBy,
          ...(version === undefined ? {} : { version }),
          ...(chunkRows === undefined ? {} : { chunkRows }),
          ...(parallelChunks === undefined ? {} : { parallelChunks }),
        });
        console.log(`Started ${handle.workflowId}: ${workflowUiUrl(config, handle.workflowId)}`);
        if (options.detach) return;
        // Ctrl-C detaches: the run goes on in Temporal.
        const detach = () => {
          process.stdout.write(
            `\nDetached; the run goes on. Follow it with: npx kerf score --status ${handle.workflowId}\n`,
          );
          process.exit(0);
        };
        process.once('SIGINT', detach);
        await follow(handle);
        process.removeListener('SIGINT', detach);
      });
    });
}
