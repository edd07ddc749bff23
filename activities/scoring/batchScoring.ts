/**
 * The batch scoring run's activities: `planBatchScoring` (the version pinned and verified, the query
 * run once as the spec reader and its rows staged), `scoreBatchChunk` (one chunk scored and written
 * with its mark, on the heavy queue) and `finishBatchScoring` (every row accounted for, the staged
 * rows dropped, the run audited). A query, table name or version that cannot be used is refused
 * with a message naming what to change, audited, and never retried.
 */
import { createHash } from 'node:crypto';
import { ApplicationFailure, Context, log } from '@temporalio/activity';
import { activeMappings } from '../../monitoring/categoryMappings';
import { appendAudit, getAlias, getVersion, RegistryError } from '../../registry';
import { DEPLOYABLE_STATUSES } from '../../registry/status';
import { inTransaction } from '../../platform/database';
import type { CategoryMappings } from '../../serving/contract';
import { scoreStagedChunk, StagedRowsLostError } from '../../serving/batch/chunk';
import { resultTableName, stagingTableSql } from '../../serving/batch/names';
import { ScoringQueryError, stageQueryRows } from '../../serving/batch/query';
import { ensureResultTable } from '../../serving/batch/resultTable';
import { endRun, findRun, nextRunNumber, recordRun, scoredSoFar } from '../../serving/batch/runs';
import { DEFAULT_CHUNK_ROWS, MAX_CHUNK_ROWS, MIN_CHUNK_ROWS } from '../../lifecycle/spec/scoring';
import { type BatchScoringPlan, type ChunkSummary, MAX_CHUNKS } from '../../workflows/batchScoringTypes';
import type { ActivityDeps } from '../deps';
import { runIdOf } from '../lifecycle/register';
import { ScoringVersions } from './versions';

/** How often an activity tells Temporal it is alive besides its progress (while it waits on a lock or an index). */
const HEARTBEAT_INTERVAL_MS = 2_000;

/** A refusal: the run stops with this message, and retrying cannot change it. */
function refusal(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: 'ScoringRefused', message, nonRetryable: true });
}

/** The taught category mappings of a model, per column, as serving applies them. */
async function mappingsOf(pool: ActivityDeps['pool'], model: string): Promise<CategoryMappings | undefined> {
  const byColumn = new Map<string, Map<string, string>>();
  for (const mapping of await activeMappings(pool, model)) {
    const values = byColumn.get(mapping.column) ?? new Map<string, string>();
    values.set(mapping.unseenValue, mapping.likeValue);
    byColumn.set(mapping.column, values);
  }
  return byColumn.size > 0 ? byColumn : undefined;
}

export function createBatchScoringActivities({ pool, readerPool, objectStore }: ActivityDeps) {
  const versions = new ScoringVersions({ pool, objectStore });

  /** Audits a refusal of the run and returns the failure to throw. */
  const refuse = async (details: { model: string; stage: string; message: string }) => {
    const runId = runIdOf();
    await appendAudit(pool, {
      actor: `run:${runId}`,
      action: 'batch-scoring-refused',
      details: { ...details, runId },
    });
    return refusal(details.message);
  };

  /** The version the run pins: the one asked for if a person approved it, else production. */
  const pinnedVersion = async (model: string, asked: number | undefined): Promise<number> => {
    if (asked === undefined) {
      const production = await getAlias(pool, model, 'production');
      if (!production) {
        throw await refuse({
          model,
          stage: 'plan',
          message: `model: ${model} has no production version to score with: deploy one, or name an approved version (--version)`,
        });
      }
      return production.version;
    }
    const record = await getVersion(pool, model, asked).catch(async (error: unknown) => {
      if (!(error instanceof RegistryError)) throw error;
      throw await refuse({ model, stage: 'plan', message: `version: ${error.message}` });
    });
    if (!DEPLOYABLE_STATUSES.includes(record.status)) {
      throw await refuse({
        model,
        stage: 'plan',
        message: `version: ${model} v${asked} is ${record.status}; only a version a person approved scores rows (${DEPLOYABLE_STATUSES.join(', ')})`,
      });
    }
    return asked;
  };

  return {
    /**
     * Pins and verifies the version, runs the query once as the spec reader, stages its rows and
     * records the run (all in one transaction), and makes the result table when it is new. A retry
     * after the run was recorded returns the same plan.
     */
    async planBatchScoring(input: {
      model: string;
      version?: number;
      query: string;
      into: string;
      chunkRows?: number;
      startedBy: string;
    }): Promise<BatchScoringPlan> {
      const workflowId = runIdOf();
      const recorded = await findRun(pool, { workflowId });
      if (recorded) {
        return {
          run: recorded.run,
          version: recorded.version,
          into: `scoring.${recorded.into}`,
          rows: recorded.rows,
          chunkRows: recorded.chunkRows,
        };
      }
      const { model } = input;
      const table = resultTableName(input.into);
      if ('problem' in table) throw await refuse({ model, stage: 'plan', message: table.problem });
      const chunkRows = input.chunkRows ?? DEFAULT_CHUNK_ROWS;
      if (!Number.isInteger(chunkRows) || chunkRows < MIN_CHUNK_ROWS || chunkRows > MAX_CHUNK_ROWS) {
        throw await refuse({
          model,
          stage: 'plan',
          message: `chunkRows: give a whole number of rows from ${MIN_CHUNK_ROWS} to ${MAX_CHUNK_ROWS}, not ${chunkRows}`,
        });
      }
      const version = await pinnedVersion(model, input.version);
      const context = Context.current();
      let bytesStaged = 0;
      // Indexing the staged rows sends no progress: the worker says it is alive meanwhile.
      const beat = setInterval(() => context.heartbeat({ bytesStaged }), HEARTBEAT_INTERVAL_MS);
      const plan = await versions
        .verified(model, version, (loaded) =>
          inTransaction(pool, async (client) => {
            const run = await nextRunNumber(client);
            const staged = await stageQueryRows({
              readerPool,
              writer: client,
              sql: input.query,
              features: loaded.features,
              stagingTable: stagingTableSql(run),
              onProgress: (bytes) => {
                bytesStaged = bytes;
                context.heartbeat({ bytesStaged });
              },
            });
            const chunks = Math.ceil(staged.rows / chunkRows);
            if (chunks > MAX_CHUNKS) {
              throw new ScoringQueryError(
                `chunkRows: ${staged.rows} rows in chunks of ${chunkRows} make ${chunks} chunks, more than the ${MAX_CHUNKS} a run may have: give at least ${Math.ceil(staged.rows / MAX_CHUNKS)}`,
              );
            }
            await ensureResultTable(client, {
              name: table.name,
              model,
              keyColumns: staged.keyColumns,
              output: loaded.task === 'regression' ? 'value' : 'label',
            });
            await recordRun(client, {
              run,
              workflowId,
              model,
              version,
              into: table.name,
              querySha256: createHash('sha256').update(input.query).digest('hex'),
              classLabels: loaded.task === 'regression' ? null : (loaded.classLabels ?? null),
              startedBy: input.startedBy,
              rows: staged.rows,
              chunkRows,
            });
            return { run, version, into: `scoring.${table.name}`, rows: staged.rows, chunkRows };
          }),
        )
        .catch(async (error: unknown) => {
          const refused = error instanceof ScoringQueryError ? error.message : versions.refusalOf(error);
          if (refused === undefined) throw error;
          throw await refuse({ model, stage: 'plan', message: refused });
        })
        .finally(() => clearInterval(beat));
      log.info('batch scoring planned', { model, ...plan });
      return plan;
    },

    /** Scores one chunk of a run with the run's version and writes it with its mark (or finds it done). */
    async scoreBatchChunk(input: {
      run: number;
      chunk: number;
      firstRow: number;
      lastRow: number;
    }): Promise<ChunkSummary> {
      const started = performance.now();
      const context = Context.current();
      const run = await findRun(pool, { run: input.run });
      if (!run) throw refusal(`batch scoring run ${input.run} was never recorded: start the run again`);
      let rows = 0;
      const beat = setInterval(() => context.heartbeat({ chunk: input.chunk, rows }), HEARTBEAT_INTERVAL_MS);
      try {
        const mappings = await mappingsOf(pool, run.model);
        const outcome = await versions
          .scoring(run.model, run.version, (version) =>
            scoreStagedChunk(
              {
                pool,
                run,
                version,
                features: version.features,
                mappings,
                onProgress: (written) => {
                  rows = written;
                  context.heartbeat({ chunk: input.chunk, rows });
                },
              },
              input,
            ),
          )
          .catch((error: unknown) => {
            if (error instanceof StagedRowsLostError) throw refusal(error.message);
            const refused = versions.refusalOf(error);
            throw refused === undefined ? error : refusal(refused);
          });
        const seconds = outcome.alreadyScored ? 0 : (performance.now() - started) / 1000;
        return { ...outcome, seconds };
      } finally {
        clearInterval(beat);
      }
    },

    /**
     * Ends the run: on `scored`, checks that its chunks wrote every staged row; either way the run's
     * books say how it ended, its staged rows are dropped, and the audit log has a row.
     */
    async finishBatchScoring(
      input: { outcome: 'scored' } | { outcome: 'failed'; reason: string },
    ): Promise<{ rows: number }> {
      const workflowId = runIdOf();
      const run = await findRun(pool, { workflowId });
      // Refused before its rows were staged: the refusal is audited already, nothing to end.
      if (!run) return { rows: 0 };
      const scored = await scoredSoFar(pool, run.run);
      if (input.outcome === 'scored' && scored.rows !== run.rows) {
        throw refusal(
          `the chunks of run ${run.run} wrote ${scored.rows} of its ${run.rows} rows: this is a bug; the rows written so far stay in scoring.${run.into} under run ${run.run}`,
        );
      }
      // The end and its audit row together: a retried finish writes neither again.
      await inTransaction(pool, async (client) => {
        const ended = await endRun(
          client,
          workflowId,
          input.outcome === 'scored' ? { status: 'scored' } : { status: 'failed', reason: input.reason },
        );
        if (!ended) return;
        await appendAudit(client, {
          actor: `run:${workflowId}`,
          action: input.outcome === 'scored' ? 'batch-scored' : 'batch-scoring-failed',
          model: run.model,
          version: run.version,
          details: {
            run: run.run,
            into: `scoring.${run.into}`,
            rows: scored.rows,
            chunks: scored.chunks,
            startedBy: run.startedBy,
            ...(input.outcome === 'failed' ? { reason: input.reason } : {}),
          },
        });
      });
      await pool.query(`DROP TABLE IF EXISTS ${stagingTableSql(run.run)}`);
      return { rows: scored.rows };
    },
  };
}
