/**
 * The routes around predictions: `POST /v1/models/:name/predict`, `POST /v1/models/:name/forecast`
 * (a forecast model's next periods), `POST /v1/outcomes`,
 * `GET /v1/status` (what is loaded, what was refused and why, the prediction log), `GET /metrics`
 * (Prometheus) and `GET /healthz` (liveness, the only route without the token). `/healthz` answers
 * 200 while the process can answer, with `ok: false` and `predictionLog: "degraded"` when the
 * prediction log is degraded: restarting would lose the rows it holds, so it is not a liveness failure.
 */
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import type { ServingMetrics } from '../metrics';
import { modelTask, parseOutcomesRequest, recordOutcomes } from '../outcomes';
import type { PredictionLog } from '../predictionLog';
import type { PredictionService } from '../predictionService';
import type { ServedModels } from '../servedModels';

export interface OperationRoutesDeps {
  pool: pg.Pool;
  models: ServedModels;
  service: PredictionService;
  predictionLog: PredictionLog;
  metrics: ServingMetrics;
}

/** Routes that answer without a token. */
export const PUBLIC_ROUTES = new Set(['/healthz']);

export function registerOperationRoutes(app: FastifyInstance, deps: OperationRoutesDeps): void {
  const { pool, models, service, predictionLog, metrics } = deps;

  app.post<{ Params: { name: string } }>('/v1/models/:name/forecast', async (request) =>
    service.forecast(request.params.name, request.body),
  );
  app.post<{ Params: { name: string } }>('/v1/models/:name/predict', async (request) =>
    service.predict(request.params.name, request.body),
  );

  app.post('/v1/outcomes', async (request) => {
    const { model, outcomes } = await parseOutcomesRequest(
      request.body,
      (name) => modelTask(pool, name),
      (name, ids) => answeredPredictions(pool, predictionLog, name, ids),
    );
    const { recorded } = await recordOutcomes(pool, model, outcomes);
    return { model, recorded };
  });

  app.get('/v1/status', () => ({ ...models.status(), predictionLog: predictionLog.status() }));

  app.get('/metrics', async (_request, reply) => {
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });

  app.get('/healthz', () => {
    const log = predictionLog.status();
    return {
      ok: log.state === 'ok',
      ready: models.status().ready,
      predictionLog: log.state,
      ...(log.state === 'degraded' ? { degraded: log.degraded } : {}),
    };
  });
}

/** The ids among `ids` that name a prediction `model` answered: logged, or waiting in the log. */
async function answeredPredictions(
  pool: pg.Pool,
  predictionLog: PredictionLog,
  model: string,
  ids: readonly string[],
): Promise<Set<string>> {
  const known = new Set(ids.filter((id) => predictionLog.holds(id)));
  const rest = ids.filter((id) => !known.has(id));
  if (rest.length === 0) return known;
  const { rows } = await pool.query<{ prediction_id: string }>(
    `SELECT prediction_id FROM serving.predictions
     WHERE model = $1 AND prediction_id = ANY($2::uuid[]) AND alias <> 'shadow'`,
    [model, rest],
  );
  for (const row of rows) known.add(row.prediction_id);
  return known;
}
