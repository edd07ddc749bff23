import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditTrail, rollback } from '../../registry';
import { type PredictResponse, type RunningServing } from '../../serving';
import {
  createServingWorld,
  deploy,
  flipOneByte,
  inputRows,
  modelName,
  registerVersion,
  SERVING_TOKEN,
  type ServingWorld,
  startWorldServing,
  waitFor,
} from '../servingFixtures';

let world: ServingWorld;
let serving: RunningServing;
const model = modelName('swap');

beforeAll(async () => {
  world = await createServingWorld('kerf_test_serving_swap');
  await registerVersion(world, { model, iterations: 10, alias: 'production' });
  // Its poll is a minute apart: a swap within seconds can only come from LISTEN/NOTIFY.
  serving = await startWorldServing(world);
});

afterAll(async () => {
  await serving.close();
  await world.close();
});

interface LoadResult {
  versions: number[];
  failures: string[];
}

/** Sends batches from `workers` concurrent loops until `stop()` resolves; records every answer's version. */
async function underLoad(url: string, workers: number, stop: Promise<void>): Promise<LoadResult> {
  const result: LoadResult = { versions: [], failures: [] };
  let stopped = false;
  void stop.then(() => (stopped = true));
  const rows = inputRows(8, 3);
  const loop = async () => {
    while (!stopped) {
      try {
        const response = await fetch(`${url}/v1/models/${model}/predict`, {
          method: 'POST',
          headers: { authorization: `Bearer ${SERVING_TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify({ rows }),
        });
        const text = await response.text();
        if (response.status !== 200) {
          result.failures.push(`${response.status}: ${text}`);
          continue;
        }
        const answer = JSON.parse(text) as PredictResponse;
        const versions = new Set(answer.predictions.map((prediction) => prediction.version));
        if (versions.size !== 1)
          result.failures.push(`one batch answered by versions ${[...versions].join(', ')}`);
        result.versions.push(...versions);
      } catch (error) {
        result.failures.push(String(error));
      }
    }
  };
  await Promise.all(Array.from({ length: workers }, loop));
  return result;
}

/** The swap model's entry in the served-model status. */
const servedStatus = () => serving.models.status().models.find((entry) => entry.model === model);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('deploying while requests run', () => {
  it('swaps in a new production version without a failed request', async () => {
    let stop!: () => void;
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    const load = underLoad(serving.url, 8, stopped);
    await sleep(300);
    const next = await registerVersion(world, { model, iterations: 20 });
    const movedAt = Date.now();
    await deploy(world, model, next.version, 'production');
    await waitFor('the new version to answer', () => {
      const production = servedStatus()?.serving.find((entry) => entry.alias === 'production');
      return production?.version === next.version ? true : undefined;
    });
    const swapSeconds = (Date.now() - movedAt) / 1000;
    await sleep(300);
    stop();
    const { versions, failures } = await load;
    expect(failures).toEqual([]);
    expect(new Set(versions)).toEqual(new Set([1, next.version]));
    // Once the new version answered, the old one never did again.
    expect(versions.slice(versions.indexOf(next.version))).not.toContain(1);
    expect(versions.length).toBeGreaterThan(50);
    expect(swapSeconds).toBeLessThan(10);
  });
});

describe('a tampered artifact', () => {
  it('is never loaded: the last good version keeps serving and the refusal is reported', async () => {
    const good = servedStatus()?.serving.find((entry) => entry.alias === 'production');
    expect(good?.version).toBe(2);
    const tampered = await registerVersion(world, { model, iterations: 30 });
    await flipOneByte(world.objectStore, tampered.keys.onnx);

    let stop!: () => void;
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    const load = underLoad(serving.url, 4, stopped);
    await deploy(world, model, tampered.version, 'production');
    const status = await waitFor('the refusal', async () => {
      const response = await fetch(`${serving.url}/v1/status`, {
        headers: { authorization: `Bearer ${SERVING_TOKEN}` },
      });
      const body = (await response.json()) as {
        models: {
          model: string;
          serving: { alias: string; version: number }[];
          upToDate: boolean;
          lastRefusal: { version: number; reason: string; message: string; alias: string } | null;
        }[];
      };
      const entry = body.models.find((candidate) => candidate.model === model);
      return entry?.lastRefusal?.version === tampered.version ? entry : undefined;
    });
    await sleep(200);
    stop();
    const { versions, failures } = await load;
    expect(failures).toEqual([]);
    expect(new Set(versions)).toEqual(new Set([2]));
    expect(status.lastRefusal).toMatchObject({ alias: 'production', reason: 'onnx-hash-mismatch' });
    expect(status.lastRefusal?.message).toMatch(/is not the one the manifest signs/);
    expect(status.serving).toEqual([expect.objectContaining({ alias: 'production', version: 2 })]);
    expect(status.upToDate).toBe(false);

    const metrics = await (
      await fetch(`${serving.url}/metrics`, { headers: { authorization: `Bearer ${SERVING_TOKEN}` } })
    ).text();
    expect(metrics).toContain(
      `kerf_model_load_refusals_total{model="${model}",alias="production",version="${tampered.version}",reason="onnx-hash-mismatch"} 1`,
    );
    const audit = await auditTrail(world.db.pool, model);
    expect(audit.filter((entry) => entry.action === 'serving-load-refused')).toMatchObject([
      {
        actor: 'serving',
        version: tampered.version,
        details: { alias: 'production', reason: 'onnx-hash-mismatch' },
      },
    ]);

    // A poll does not try the refused bytes again; rolling back brings the registry back in step.
    await serving.models.refreshAll();
    expect(servedStatus()?.refusals).toHaveLength(1);
    await rollback(world.db.pool, { model, actor: 'shop-manager', reason: 'tampered v3 refused by serving' });
    await waitFor('serving up to date after the rollback', () =>
      servedStatus()?.upToDate ? true : undefined,
    );
  });

  it('refuses a tampered artifact at start too, and answers 503 naming the refusal', async () => {
    const fresh = modelName('fresh');
    const only = await registerVersion(world, { model: fresh, iterations: 10 });
    await flipOneByte(world.objectStore, only.keys.manifest);
    await deploy(world, fresh, only.version, 'production');
    const second = await startWorldServing(world, { listen: false, pollIntervalMs: 100 });
    try {
      const response = await fetch(`${second.url}/v1/models/${fresh}/predict`, {
        method: 'POST',
        headers: { authorization: `Bearer ${SERVING_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ row: inputRows(1, 1)[0] }),
      });
      expect(response.status).toBe(503);
      const body = (await response.json()) as { error: string; message: string };
      expect(body.error).toBe('model-unavailable');
      expect(body.message).toMatch(/v1 was refused \((signature-invalid|manifest-malformed)\)/);

      // Polling alone (no LISTEN here) picks up a good version deployed later.
      const repaired = await registerVersion(world, { model: fresh, iterations: 20 });
      await deploy(world, fresh, repaired.version, 'production');
      await waitFor('polling to load the repaired version', () => {
        const entry = second.models.status().models.find((candidate) => candidate.model === fresh);
        return entry?.upToDate ? true : undefined;
      });
      const answer = await fetch(`${second.url}/v1/models/${fresh}/predict`, {
        method: 'POST',
        headers: { authorization: `Bearer ${SERVING_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ row: inputRows(1, 1)[0] }),
      });
      expect(answer.status).toBe(200);
      expect(((await answer.json()) as PredictResponse).predictions[0]?.version).toBe(repaired.version);
    } finally {
      await second.close();
    }
  });
});

describe('the alias listener', () => {
  it('reconnects after its connection is killed and catches up with a move it missed', async () => {
    const terminated = await world.db.pool.query<{ ok: boolean }>(
      `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
       WHERE application_name = 'kerf-serving-listener' AND datname = current_database()`,
    );
    expect(terminated.rows.map((row) => row.ok)).toEqual([true]);
    // Moved around the reconnect: the catch-up after reconnecting (or a notification on the new
    // connection) must bring it in, as polls are a minute apart.
    const next = await registerVersion(world, { model, iterations: 40 });
    await deploy(world, model, next.version, 'production');
    await waitFor('the listener back and the missed move served', () => {
      const status = serving.models.status();
      const production = servedStatus()?.serving.find((entry) => entry.alias === 'production');
      return status.listening && production?.version === next.version ? true : undefined;
    });
  });
});
