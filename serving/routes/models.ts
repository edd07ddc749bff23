/**
 * What is deployed: `GET /v1/models` (every model with its production version and what serves),
 * `GET /v1/models/:name` (versions with status and metrics, aliases, the input contract of what
 * serves) and `GET /v1/models/:name/versions/:version/card` (the model card people approved; 410
 * `version-collected` when garbage collection removed a rejected version's card).
 */
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { ObjectNotFoundError, type ObjectStore } from '../../platform/objectStore';
import { getModel, getVersion, listAliases, listModels, listVersions, RegistryError } from '../../registry';
import { collectedMessage, versionCollection } from '../../registry/collected';
import { invalidInput, ServingHttpError } from '../errors';
import type { ServedModels } from '../servedModels';

export interface ModelRoutesDeps {
  pool: pg.Pool;
  objectStore: ObjectStore;
  models: ServedModels;
}

export function registerModelRoutes(app: FastifyInstance, deps: ModelRoutesDeps): void {
  const { pool, objectStore, models } = deps;

  app.get('/v1/models', async () => {
    const served = new Map(models.status().models.map((model) => [model.model, model]));
    return {
      models: (await listModels(pool)).map((model) => ({
        name: model.name,
        task: model.task,
        description: model.description,
        latestVersion: model.latestVersion,
        productionVersion: model.productionVersion,
        serving:
          served
            .get(model.name)
            ?.serving.map(({ alias, version, trafficShare }) => ({ alias, version, trafficShare })) ?? [],
      })),
    };
  });

  app.get<{ Params: { name: string } }>('/v1/models/:name', async (request) => {
    const name = request.params.name;
    const model = await registryCall(() => getModel(pool, name));
    const [versions, aliases] = await Promise.all([listVersions(pool, name), listAliases(pool, name)]);
    const lease = models.lease(name);
    let inputs = null;
    let forecastSeries = null;
    if (lease) {
      inputs = lease.production.features;
      const state = lease.production.forecast;
      if (state) {
        forecastSeries = state.series.map((series) =>
          Object.fromEntries(state.keyColumns.map((column, index) => [column, series.key[index]])),
        );
      }
      lease.release();
    }
    return {
      name: model.name,
      task: model.task,
      description: model.description,
      createdAt: model.createdAt.toISOString(),
      aliases: aliases.map((alias) => ({
        alias: alias.alias,
        version: alias.version,
        trafficShare: alias.trafficShare,
        updatedAt: alias.updatedAt.toISOString(),
        updatedBy: alias.updatedBy,
      })),
      serving: models.status().models.find((entry) => entry.model === name) ?? null,
      /** The production version's input contract: columns, kinds and known categories. */
      inputs,
      /** A forecast model: the series its production version forecasts, by their key columns. */
      forecastSeries,
      versions: versions.map((version) => ({
        version: version.version,
        status: version.status,
        metrics: version.metrics,
        createdAt: version.createdAt.toISOString(),
        evaluatedAt: version.evaluatedAt?.toISOString() ?? null,
        statusChangedAt: version.statusChangedAt.toISOString(),
        card: version.artifacts.cardKey ? `/v1/models/${name}/versions/${version.version}/card` : null,
      })),
    };
  });

  app.get<{ Params: { name: string; version: string } }>(
    '/v1/models/:name/versions/:version/card',
    async (request, reply) => {
      const { name } = request.params;
      const version = Number(request.params.version);
      if (!/^[1-9][0-9]{0,8}$/.test(request.params.version)) {
        throw invalidInput([
          {
            field: 'version',
            reason: `must be a version number (1, 2, ...), got ${JSON.stringify(request.params.version)}`,
          },
        ]);
      }
      const record = await registryCall(() => getVersion(pool, name, version));
      const cardKey = record.artifacts.cardKey;
      if (cardKey === null) {
        throw new ServingHttpError(
          404,
          'card-not-found',
          `${name} v${version} has no model card yet (it is ${record.status})`,
        );
      }
      let html: Uint8Array;
      try {
        html = await objectStore.get(cardKey);
      } catch (error) {
        if (!(error instanceof ObjectNotFoundError)) throw error;
        const collected = await versionCollection(pool, name, version);
        if (collected) throw new ServingHttpError(410, 'version-collected', collectedMessage(collected));
        throw new ServingHttpError(
          404,
          'card-not-found',
          `The model card of ${name} v${version} is missing from the store (${cardKey})`,
        );
      }
      return reply.type('text/html; charset=utf-8').send(Buffer.from(html));
    },
  );
}

/** Runs a registry read, answering its "not found" and bad names with 404. */
async function registryCall<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof RegistryError && (error.kind === 'not-found' || error.kind === 'invalid-input')) {
      throw new ServingHttpError(404, 'model-not-found', error.message);
    }
    throw error;
  }
}
