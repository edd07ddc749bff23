import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxScorer } from '../../ml/onnx';
import { tableFromRows } from '../../ml/rows';
import { generateShop } from '../../shop/load';
import { auditTrail } from '../../registry';
import {
  buildServingApp,
  type CategoryMappingsHook,
  OutcomeQueryError,
  recordOutcomesFromQuery,
  type PredictResponse,
  type RunningServing,
  type ServingApp,
} from '../../serving';
import {
  answerOf,
  type ApiAnswer,
  createServingWorld,
  deploy,
  FEATURES,
  inputRows,
  modelName,
  type RegisteredVersion,
  registerVersion,
  SERVING_TOKEN,
  type ServingWorld,
  startWorldServing,
  waitFor,
} from '../servingFixtures';

let world: ServingWorld;
let serving: RunningServing;
let deployed: RegisteredVersion;
let scorer: OnnxScorer;
const model = modelName('cut');

beforeAll(async () => {
  world = await createServingWorld('kerf_test_serving');
  deployed = await registerVersion(world, { model, iterations: 30, alias: 'production' });
  scorer = await OnnxScorer.load(deployed.onnx);
  serving = await startWorldServing(world, { predictionLog: { flushIntervalMs: 50 } });
});

afterAll(async () => {
  await serving.close();
  await scorer.release();
  await world.close();
});

/** Calls the API with the token (or the headers given). */
async function call(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = { authorization: `Bearer ${SERVING_TOKEN}` },
): Promise<ApiAnswer> {
  const response = await fetch(`${serving.url}${path}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return answerOf(response);
}

const predictPath = (name: string) => `/v1/models/${name}/predict`;

describe('predictions', () => {
  it('equal onnxruntime on the deployed bytes, for a batch and for one row', async () => {
    const rows = inputRows(64, 99);
    const keys = rows.map((_, index) => `job-${index}`);
    const batch = await call('POST', predictPath(model), { rows, keys });
    expect(batch.status).toBe(200);
    const answer = batch.json as unknown as PredictResponse;
    expect(answer.model).toBe(model);
    const expected = await scorer.scoreTable(tableFromRows(rows));
    expect(answer.predictions.map((prediction) => prediction.value)).toEqual(
      Array.from(expected.prediction ?? []),
    );
    for (const prediction of answer.predictions) {
      expect(prediction).toMatchObject({ version: deployed.version, alias: 'production', warnings: [] });
      // UUID version 7: the millisecond it was served, then random bits (serving/predictionIds.ts).
      expect(prediction.predictionId).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
      const servedAt = parseInt(prediction.predictionId.replace(/-/g, '').slice(0, 12), 16);
      expect(Math.abs(servedAt - Date.now())).toBeLessThan(60_000);
    }
    expect(new Set(answer.predictions.map((prediction) => prediction.predictionId)).size).toBe(rows.length);

    const row = rows[5] as Record<string, number | string | null>;
    const single = await call('POST', predictPath(model), { row, key: 'job-single' });
    expect(single.status).toBe(200);
    const [only] = (single.json as unknown as PredictResponse).predictions;
    expect(only?.value).toBe((await scorer.scoreRow(row)).prediction?.[0]);
  });

  it('scores a category the model never saw, with a warning, and counts it per column', async () => {
    const row = { ...inputRows(1, 5)[0], material_family: 'titanium' };
    const response = await call('POST', predictPath(model), { row });
    expect(response.status).toBe(200);
    const [prediction] = (response.json as unknown as PredictResponse).predictions;
    expect(prediction?.value).toBe((await scorer.scoreRow(row)).prediction?.[0]);
    expect(prediction?.warnings).toEqual([
      {
        column: 'material_family',
        value: 'titanium',
        message: expect.stringMatching(/never seen.*scored as a missing value/) as string,
      },
    ]);
    const metrics = await call('GET', '/metrics');
    expect(metrics.text).toContain(
      `kerf_serving_unseen_categories_total{model="${model}",column="material_family",handling="missing-value"} 1`,
    );
    expect(metrics.text).toMatch(
      /kerf_serving_requests_total\{method="POST",route="\/v1\/models\/:name\/predict",status="200"\} \d+/,
    );
    expect(metrics.text).toContain('kerf_serving_request_duration_seconds_bucket');
    expect(metrics.text).toMatch(
      new RegExp(
        `kerf_serving_predictions_total\\{model="${model}",version="\\d+",alias="production"\\} [1-9]`,
      ),
    );
  });

  it('logs every prediction to serving.predictions in batches', async () => {
    const rows = inputRows(3, 7);
    const response = await call('POST', predictPath(model), { rows, keys: ['log-1', null, 7] });
    const ids = (response.json as unknown as PredictResponse).predictions.map(
      (prediction) => prediction.predictionId,
    );
    const logged = await waitFor('the prediction log flush', async () => {
      const { rows: found } = await world.db.pool.query<{
        prediction_id: string;
        model: string;
        version: number;
        alias: string;
        key: string | null;
        inputs: unknown;
        output: { value: number };
        warnings: unknown[];
        served_at: Date;
      }>('SELECT * FROM serving.predictions WHERE prediction_id = ANY($1::uuid[])', [ids]);
      return found.length === ids.length ? found : undefined;
    });
    const byId = new Map(logged.map((row) => [row.prediction_id, row]));
    ids.forEach((id, index) => {
      const row = byId.get(id);
      expect(row).toMatchObject({
        model,
        version: deployed.version,
        alias: 'production',
        inputs: rows[index],
        warnings: [],
      });
      expect(row?.output.value).toBe((response.json as unknown as PredictResponse).predictions[index]?.value);
      expect(row?.served_at).toBeInstanceOf(Date);
      // The id holds the millisecond the row was served at.
      expect(parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(row?.served_at.getTime());
    });
    expect(ids.map((id) => byId.get(id)?.key)).toEqual(['log-1', null, '7']);
  });
});

describe('refusals', () => {
  it('answers 401 without the token, with a wrong one, and with a malformed header', async () => {
    const body = { row: inputRows(1, 1)[0] };
    const attempts: Record<string, string>[] = [
      {},
      { authorization: 'Bearer not-the-token-at-all-000000' },
      { authorization: SERVING_TOKEN },
    ];
    for (const headers of attempts) {
      const response = await call('POST', predictPath(model), body, headers);
      expect(response.status).toBe(401);
      expect(response.json.error).toBe('unauthorized');
    }
    expect((await call('GET', '/v1/status', undefined, {})).status).toBe(401);
    expect((await call('GET', '/metrics', undefined, {})).status).toBe(401);
    expect((await call('GET', '/healthz', undefined, {})).json).toEqual({
      ok: true,
      ready: true,
      predictionLog: 'ok',
    });
  });

  it('answers 400 naming a missing column and a wrong type', async () => {
    const [first, second] = inputRows(2, 3) as [Record<string, unknown>, Record<string, unknown>];
    delete first.thickness_mm;
    second.cut_length_mm = 'long';
    const response = await call('POST', predictPath(model), { rows: [first, second] });
    expect(response.status).toBe(400);
    expect(response.json.error).toBe('invalid-input');
    expect(response.json.issues).toEqual([
      { field: 'rows[0].thickness_mm', reason: expect.stringMatching(/is missing/) as string },
      { field: 'rows[1].cut_length_mm', reason: 'must be a number, got a string ("long")' },
    ]);
    expect(response.json.message).toMatch(
      /rows\[0\]\.thickness_mm: is missing.*rows\[1\]\.cut_length_mm: must be a number/,
    );
  });

  it('answers 400 for a malformed body and 404 for a model nothing serves', async () => {
    const notJson = await call('POST', predictPath(model), '{"rows": [');
    expect([notJson.status, notJson.json.error]).toEqual([400, 'invalid-json']);
    const keys = await call('POST', predictPath(model), { rows: inputRows(2, 1), keys: ['a'] });
    expect(keys.json.issues).toEqual([
      { field: 'keys', reason: 'has 1 keys for 2 rows: give one key per row (null for none)' },
    ]);
    const shape = await call('POST', predictPath(model), { rows: [1] });
    expect(shape.json.issues).toEqual([
      { field: 'rows[0]', reason: expect.stringMatching(/must be an object/) as string },
    ]);
    const unknown = await call('POST', predictPath('no-such-model'), { row: {} });
    expect([unknown.status, unknown.json.error]).toEqual([404, 'model-not-found']);
    expect(unknown.json.message).toContain(model);
  });
});

describe('outcomes', () => {
  it('join predictions by prediction id and by key in serving.labelled_predictions', async () => {
    const rows = inputRows(2, 21);
    const answer = (await call('POST', predictPath(model), { rows, keys: ['out-a', 'out-b'] }))
      .json as unknown as PredictResponse;
    const [byId, byKey] = answer.predictions as [
      PredictResponse['predictions'][0],
      PredictResponse['predictions'][0],
    ];
    const recorded = await call('POST', '/v1/outcomes', {
      model,
      outcomes: [
        { predictionId: byId.predictionId, actual: 12.5, observedAt: '2025-03-01T10:00:00Z' },
        { key: 'out-b', actual: 30 },
      ],
    });
    expect(recorded).toMatchObject({ status: 200, json: { model, recorded: 2 } });
    const labelled = await waitFor('labelled predictions', async () => {
      const { rows: found } = await world.db.pool.query<{
        prediction_id: string;
        actual_value: number;
        predicted_value: number;
        matched_by: string;
        alias: string;
      }>(
        'SELECT * FROM serving.labelled_predictions WHERE model = $1 AND prediction_id = ANY($2::uuid[]) ORDER BY actual_value',
        [model, [byId.predictionId, byKey.predictionId]],
      );
      return found.length === 2 ? found : undefined;
    });
    expect(labelled).toMatchObject([
      {
        prediction_id: byId.predictionId,
        actual_value: 12.5,
        predicted_value: byId.value,
        matched_by: 'prediction-id',
      },
      {
        prediction_id: byKey.predictionId,
        actual_value: 30,
        predicted_value: byKey.value,
        matched_by: 'key',
      },
    ]);
  });

  it('refuses outcomes that name no prediction or carry text for a regression', async () => {
    const response = await call('POST', '/v1/outcomes', {
      model,
      outcomes: [{ actual: 3 }, { key: 'x', actual: 'slow' }, { predictionId: 'nope', actual: 1 }],
    });
    expect(response.status).toBe(400);
    expect((response.json.issues as { field: string }[]).map((issue) => issue.field)).toEqual([
      'outcomes[0].predictionId',
      'outcomes[1].actual',
      'outcomes[2].predictionId',
    ]);
    const unknown = await call('POST', '/v1/outcomes', {
      model: 'no-such-model',
      outcomes: [{ key: 'x', actual: 1 }],
    });
    expect(unknown.status).toBe(404);
  });

  it('come in bulk from a read-only query over the shop (cut time per job)', async () => {
    await generateShop(world.db.ownerPool, { jobs: 120, seed: 4 });
    const { rows: jobs } = await world.db.pool.query<{ job_id: string }>(
      "SELECT job_id::text FROM shop.route_steps WHERE operation = 'cut' ORDER BY job_id LIMIT 3",
    );
    const keys = jobs.map((job) => job.job_id);
    const answer = (await call('POST', predictPath(model), { rows: inputRows(3, 8), keys }))
      .json as unknown as PredictResponse;
    const query = `
      SELECT s.job_id AS key, s.run_seconds / j.quantity AS actual,
             s.started_at + make_interval(secs => s.run_seconds) AS observed_at
      FROM shop.route_steps s JOIN shop.jobs j ON j.job_id = s.job_id
      WHERE s.operation = 'cut';`;
    const result = await recordOutcomesFromQuery(world.db.pool, model, query);
    expect(result.recorded).toBeGreaterThanOrEqual(keys.length);
    expect(result.skipped).toBe(0);
    const ids = answer.predictions.map((prediction) => prediction.predictionId);
    const labelled = await waitFor('bulk outcomes joined', async () => {
      const { rows } = await world.db.pool.query<{ key: string; matched_by: string }>(
        'SELECT key, matched_by FROM serving.labelled_predictions WHERE prediction_id = ANY($1::uuid[]) ORDER BY key',
        [ids],
      );
      return rows.length === 3 ? rows : undefined;
    });
    expect(labelled.map((row) => row.matched_by)).toEqual(['key', 'key', 'key']);
    // Recording the same query again replaces, never duplicates.
    await recordOutcomesFromQuery(world.db.pool, model, query);
    const { rows: count } = await world.db.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM serving.outcomes WHERE model = $1 AND key = ANY($2)',
      [model, keys],
    );
    expect(count[0]?.n).toBe(3);

    await expect(
      recordOutcomesFromQuery(world.db.pool, model, 'SELECT job_id FROM shop.jobs'),
    ).rejects.toThrow(/returns no key or actual column \(it returns job_id\)/);
    await expect(
      recordOutcomesFromQuery(
        world.db.pool,
        model,
        'SELECT 1 AS key, 2 AS actual) AS x; DELETE FROM shop.jobs; SELECT (1',
      ),
    ).rejects.toBeInstanceOf(OutcomeQueryError);
    await expect(
      recordOutcomesFromQuery(
        world.db.pool,
        model,
        "SELECT 'k' AS key, nextval('serving.outcomes_outcome_id_seq')::float8 AS actual",
      ),
    ).rejects.toThrow(/must only read/);
    const { rows: jobCount } = await world.db.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM shop.jobs',
    );
    expect(jobCount[0]?.n).toBe(120);
  });
});

describe('the registry through the API', () => {
  it('lists models, shows versions, aliases, metrics and the input contract, and serves the card', async () => {
    const list = await call('GET', '/v1/models');
    expect(list.json.models).toContainEqual({
      name: model,
      task: 'regression',
      description: null,
      latestVersion: 1,
      productionVersion: 1,
      serving: [{ alias: 'production', version: 1, trafficShare: null }],
    });
    const detail = await call('GET', `/v1/models/${model}`);
    expect(detail.status).toBe(200);
    expect(detail.json).toMatchObject({
      name: model,
      aliases: [{ alias: 'production', version: 1, trafficShare: null, updatedBy: 'shop-manager' }],
      versions: [
        {
          version: 1,
          status: 'deployed',
          metrics: { rmse: 1.03 },
          card: `/v1/models/${model}/versions/1/card`,
        },
      ],
    });
    expect((detail.json.inputs as { name: string }[]).map((feature) => feature.name)).toEqual(
      FEATURES.map((f) => f.name),
    );
    const card = await call('GET', `/v1/models/${model}/versions/1/card`);
    expect(card.status).toBe(200);
    expect(card.text).toContain(`<h1>${model} v1</h1>`);
    expect((await call('GET', `/v1/models/${model}/versions/9/card`)).status).toBe(404);
    expect((await call('GET', '/v1/models/no-such-model')).status).toBe(404);
  });
});

describe('canary and shadow', () => {
  it('routes the canary its share, scores the shadow on every row without answering with it', async () => {
    const split = modelName('split');
    await registerVersion(world, { model: split, iterations: 10, alias: 'production' });
    const canary = await registerVersion(world, { model: split, iterations: 20 });
    const shadow = await registerVersion(world, { model: split, iterations: 40 });
    await deploy(world, split, canary.version, 'canary', 0.3);
    await deploy(world, split, shadow.version, 'shadow');
    await waitFor('canary and shadow loaded', () => {
      const status = serving.models.status().models.find((entry) => entry.model === split);
      return status?.serving.length === 3 ? status : undefined;
    });
    const rows = inputRows(400, 17);
    const answer = (await call('POST', predictPath(split), { rows })).json as unknown as PredictResponse;
    const canaryRows = answer.predictions.filter((prediction) => prediction.alias === 'canary');
    expect(canaryRows.length / rows.length).toBeGreaterThan(0.22);
    expect(canaryRows.length / rows.length).toBeLessThan(0.38);
    expect(new Set(answer.predictions.map((prediction) => prediction.version))).toEqual(
      new Set([1, canary.version]),
    );
    const canaryScorer = await OnnxScorer.load(canary.onnx);
    const index = answer.predictions.findIndex((prediction) => prediction.alias === 'canary');
    expect(answer.predictions[index]?.value).toBe(
      (await canaryScorer.scoreRow(rows[index] as Record<string, number>)).prediction?.[0],
    );
    await canaryScorer.release();

    const ids = answer.predictions.map((prediction) => prediction.predictionId);
    const shadows = await waitFor('shadow predictions logged', async () => {
      const { rows: found } = await world.db.pool.query<{ version: number; shadow_of: string }>(
        "SELECT version, shadow_of FROM serving.predictions WHERE alias = 'shadow' AND shadow_of = ANY($1::uuid[])",
        [ids],
      );
      return found.length === ids.length ? found : undefined;
    });
    expect(new Set(shadows.map((row) => row.version))).toEqual(new Set([shadow.version]));
    const audit = (await auditTrail(world.db.pool, split)).map((entry) => entry.action);
    expect(audit).not.toContain('serving-load-refused');
  });
});

describe('a classifier', () => {
  it('answers the most probable label with every probability, as onnxruntime scores them', async () => {
    const classifier = modelName('slow');
    const registered = await registerVersion(world, { model: classifier, iterations: 20, task: 'binary' });
    await deploy(world, classifier, registered.version, 'production');
    await waitFor('the classifier loaded', () =>
      serving.models.servedModels().includes(classifier) ? true : undefined,
    );
    const rows = inputRows(20, 31);
    const response = await call('POST', predictPath(classifier), {
      rows,
      keys: rows.map((_, i) => `c-${i}`),
    });
    expect(response.status).toBe(200);
    const answer = response.json as unknown as PredictResponse;
    const classScorer = await OnnxScorer.load(registered.onnx);
    const expected = await classScorer.scoreTable(tableFromRows(rows));
    const labels = classScorer.metadata.classLabels ?? [];
    await classScorer.release();
    expect(labels.toSorted()).toEqual(['fast', 'slow']);
    answer.predictions.forEach((prediction, row) => {
      const p = [expected.probabilities?.[row * 2], expected.probabilities?.[row * 2 + 1]] as [
        number,
        number,
      ];
      expect(prediction.value).toEqual({
        label: p[1] > p[0] ? labels[1] : labels[0],
        probabilities: { [labels[0] as string]: p[0], [labels[1] as string]: p[1] },
      });
    });
    expect(
      new Set(answer.predictions.map((prediction) => (prediction.value as { label: string }).label)).size,
    ).toBe(2);

    const outcome = await call('POST', '/v1/outcomes', {
      model: classifier,
      outcomes: [{ key: 'c-0', actual: 'slow' }],
    });
    expect(outcome.status).toBe(200);
    const first = answer.predictions[0]?.value as { label: string };
    const labelled = await waitFor('the labelled classification', async () => {
      const { rows: found } = await world.db.pool.query<{ predicted_label: string; actual_label: string }>(
        'SELECT predicted_label, actual_label FROM serving.labelled_predictions WHERE model = $1',
        [classifier],
      );
      return found.length === 1 ? found[0] : undefined;
    });
    expect(labelled).toEqual({ predicted_label: first.label, actual_label: 'slow' });
  });
});

describe('taught category mappings', () => {
  /** A serving app of its own with this category mappings hook (the caller closes it). */
  const servingWithHook = (categoryMappings: CategoryMappingsHook) =>
    buildServingApp({
      pool: world.db.pool,
      objectStore: world.objectStore,
      token: SERVING_TOKEN,
      listen: false,
      categoryMappings,
    });
  /** A row with titanium, a material the model never saw, and the app's answer to it. */
  const predictTitanium = async (served: ServingApp) => {
    await served.models.ready();
    const row = { ...inputRows(1, 5)[0], material_family: 'titanium' };
    const response = await served.app.inject({
      method: 'POST',
      url: predictPath(model),
      headers: { authorization: `Bearer ${SERVING_TOKEN}` },
      payload: { row },
    });
    return { row, response };
  };

  it('score an unseen category as the known one the hook names, and say so', async () => {
    const asked: string[] = [];
    const taught = servingWithHook((name) => {
      asked.push(name);
      return new Map([['material_family', new Map([['titanium', 'stainless_steel']])]]);
    });
    try {
      const { row, response } = await predictTitanium(taught);
      expect(response.statusCode).toBe(200);
      const [prediction] = response.json<PredictResponse>().predictions;
      expect(prediction?.value).toBe(
        (await scorer.scoreRow({ ...row, material_family: 'stainless_steel' })).prediction?.[0],
      );
      expect(prediction?.value).not.toBe((await scorer.scoreRow(row)).prediction?.[0]);
      expect(prediction?.warnings[0]?.message).toMatch(
        /scored as "stainless_steel", as a taught category mapping says/,
      );
      expect(asked).toEqual([model]);
      const metrics = await taught.app.inject({
        method: 'GET',
        url: '/metrics',
        headers: { authorization: `Bearer ${SERVING_TOKEN}` },
      });
      expect(metrics.body).toContain(
        `kerf_serving_unseen_categories_total{model="${model}",column="material_family",handling="mapped"} 1`,
      );
    } finally {
      await taught.close();
    }
  });

  it('still answer when the hook throws or rejects, scoring the unseen category unmapped', async () => {
    const failing: Record<string, () => never | Promise<never>> = {
      throws: () => {
        throw new Error('registry unreachable');
      },
      rejects: () => Promise.reject(new Error('registry unreachable')),
    };
    for (const [how, hook] of Object.entries(failing)) {
      const served = servingWithHook(hook);
      try {
        const { row, response } = await predictTitanium(served);
        expect(response.statusCode, how).toBe(200);
        const [prediction] = response.json<PredictResponse>().predictions;
        expect(prediction?.value, how).toBe((await scorer.scoreRow(row)).prediction?.[0]);
        expect(prediction?.warnings[0]?.message, how).toMatch(/"titanium" was never seen by this model/);
        expect(prediction?.warnings[0]?.message, how).not.toMatch(/taught category mapping/);
      } finally {
        await served.close();
      }
    }
  });
});
