/**
 * The night's outcomes from SQL: when the production version's current spec says where the actual
 * values are (`outcomes.query`), the nightly check runs that query before it judges the window, so
 * the outcomes join the predictions without anyone posting them.
 *
 * The query is spec SQL, so it is not trusted: it runs on the reader role's pool, in a read-only
 * transaction, as one statement, under the spec SQL timeout (`serving/outcomeQuery.ts`), and only
 * the rows it returns are written, as the application role. A query that cannot be used is an
 * answer, not a failure: the night goes on, and the reason, naming the field, is in its result and
 * in the audit log (`outcomes-query-refused`).
 */
import { Context, log } from '@temporalio/activity';
import { appendAudit, currentSpecHash, getAlias, getVersion } from '../../registry';
import { OutcomeQueryError, recordOutcomesFromQuery } from '../../serving/outcomeQuery';
import type { OutcomesSummary } from '../../workflows/monitoringTypes';
import type { ActivityDeps } from '../deps';
import { specOfVersion } from './retraining';

/** How often the activity tells Temporal it is alive while the query runs, in milliseconds. */
const HEARTBEAT_INTERVAL_MS = 10_000;

export function createOutcomeActivities({ pool, readerPool, objectStore }: ActivityDeps) {
  return {
    /**
     * Records the outcomes that the production version's `outcomes.query` returns.
     *
     * @returns what was recorded, or why nothing was (`refused`); null when nothing serves or the
     *   spec has no outcomes query
     */
    async collectOutcomes(input: { model: string; runId: string }): Promise<OutcomesSummary | null> {
      const production = await getAlias(pool, input.model, 'production');
      if (!production) return null;
      const version = await getVersion(pool, input.model, production.version);
      const found = await specOfVersion(
        objectStore,
        version,
        await currentSpecHash(pool, input.model, version.version),
      );
      if ('refused' in found) {
        // No spec, no query to run; the night's planRetraining audits why the spec is gone.
        log.warn('no outcomes query tonight: the production spec cannot be read', {
          model: input.model,
          reason: found.refused,
        });
        return null;
      }
      const query = found.spec.outcomes?.query;
      if (query === undefined) return null;

      const context = Context.current();
      let rowsRead = 0;
      const beat = setInterval(() => context.heartbeat({ rowsRead }), HEARTBEAT_INTERVAL_MS);
      try {
        const recorded = await recordOutcomesFromQuery(pool, input.model, query, {
          // The spec's SQL runs as the reader role, never with the application role's grants.
          readerPool,
          onProgress: (rows) => {
            rowsRead = rows;
            context.heartbeat({ rowsRead });
          },
        });
        log.info('outcomes recorded from SQL', { model: input.model, ...recorded });
        return recorded;
      } catch (error) {
        // A lost connection is retried; a query that cannot be used is reported and audited.
        if (!(error instanceof OutcomeQueryError)) throw error;
        const refused = `outcomes.query: ${error.message}`;
        await appendAudit(pool, {
          actor: 'kerf-nightly',
          action: 'outcomes-query-refused',
          model: input.model,
          version: version.version,
          details: { field: 'outcomes.query', runId: input.runId, specHash: found.specHash, reason: refused },
        });
        log.warn('outcomes query refused', { model: input.model, reason: refused });
        return { recorded: 0, matched: 0, skipped: 0, refused };
      } finally {
        clearInterval(beat);
      }
    },
  };
}
