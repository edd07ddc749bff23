/**
 * The prediction log under a burst of batch requests: more rows than it keeps in memory arrive faster
 * than PostgreSQL takes them (or while it takes none), and every answered row still reaches
 * `serving.predictions`, through the spill file, with nothing dropped.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PredictionRecord, PredictResponse } from '../../serving';
import {
  createServingWorld,
  inputRows,
  modelName,
  registerVersion,
  SERVING_TOKEN,
  type ServingWorld,
  startWorldServing,
} from '../servingFixtures';

let world: ServingWorld;
let spillDirectory: string;
const model = modelName('burst');
let version: number;

beforeAll(async () => {
  world = await createServingWorld('kerf_test_prediction_burst');
  ({ version } = await registerVersion(world, { model, iterations: 10, alias: 'production' }));
  spillDirectory = await mkdtemp(path.join(tmpdir(), 'kerf-test-spill-'));
});

afterAll(async () => {
  await world.close();
  await rm(spillDirectory, { recursive: true, force: true });
});

/** Sends `requests` batches of `rows` rows at once; returns every answered prediction id. */
async function burst(url: string, requests: number, rows: number): Promise<string[]> {
  const body = JSON.stringify({ rows: inputRows(rows, 11) });
  const answers = await Promise.all(
    Array.from({ length: requests }, async () => {
      const response = await fetch(`${url}/v1/models/${model}/predict`, {
        method: 'POST',
        headers: { authorization: `Bearer ${SERVING_TOKEN}`, 'content-type': 'application/json' },
        body,
      });
      expect(response.status).toBe(200);
      return ((await response.json()) as PredictResponse).predictions.map((entry) => entry.predictionId);
    }),
  );
  return answers.flat();
}

async function loggedCount(ids: readonly string[]): Promise<number> {
  const { rows } = await world.db.pool.query<{ count: string }>(
    'SELECT count(*) FROM serving.predictions WHERE prediction_id = ANY($1::uuid[])',
    [ids],
  );
  return Number(rows[0]?.count);
}

describe('a burst of batch requests', () => {
  it('logs every row: those past the memory limit go to the spill file and are written from there', async () => {
    const serving = await startWorldServing(world, {
      predictionLog: { maxPending: 300, batchSize: 100, flushIntervalMs: 60_000, spillDirectory },
    });
    let ids: string[];
    let spilledAtMost = 0;
    try {
      const watching = setInterval(() => {
        spilledAtMost = Math.max(spilledAtMost, serving.predictionLog.status().spilled);
      }, 1);
      try {
        ids = [...(await burst(serving.url, 40, 100)), ...(await burst(serving.url, 40, 100))];
      } finally {
        clearInterval(watching);
      }
    } finally {
      await serving.close();
    }
    expect(ids).toHaveLength(8000);
    expect(new Set(ids).size).toBe(8000);
    expect(spilledAtMost).toBeGreaterThan(0);
    expect(serving.predictionLog.status()).toMatchObject({ pending: 0, spilled: 0, dropped: 0 });
    expect(await loggedCount(ids)).toBe(8000);
    // The spill file's folder is gone with the log.
    expect(await readdir(spillDirectory)).toEqual([]);
  });

  it('keeps the rows in the spill file while PostgreSQL takes none, and writes them all when it is back', async () => {
    const serving = await startWorldServing(world, {
      predictionLog: { maxPending: 200, batchSize: 50, flushIntervalMs: 60_000, spillDirectory },
    });
    const owner = world.db.ownerPool;
    let renamed = false;
    let ids: string[] = [];
    try {
      await owner.query('ALTER TABLE serving.predictions RENAME TO predictions_away');
      renamed = true;
      ids = await burst(serving.url, 20, 100);
      await serving.predictionLog.flush();
      const held = serving.predictionLog.status();
      expect(held).toMatchObject({ pending: 2000, written: 0, dropped: 0, state: 'degraded' });
      expect(held.spilled).toBeGreaterThanOrEqual(1800);

      await owner.query('ALTER TABLE serving.predictions_away RENAME TO predictions');
      renamed = false;
      await serving.predictionLog.flush();
      expect(serving.predictionLog.status()).toMatchObject({
        pending: 0,
        spilled: 0,
        written: 2000,
        dropped: 0,
      });
    } finally {
      if (renamed) await owner.query('ALTER TABLE serving.predictions_away RENAME TO predictions');
      await serving.close();
    }
    expect(await loggedCount(ids)).toBe(2000);
  });
});

describe('a logged row', () => {
  /** A prediction with text COPY must escape in every column that can hold it. */
  function record(): PredictionRecord {
    return {
      predictionId: randomUUID(),
      model,
      version,
      alias: 'shadow',
      key: 'job\t7\\b\nline\r',
      inputs: { notes: 'tab\there, \\ and "quotes"', thickness_mm: 2.5, laser_id: null },
      output: { value: 12.5 },
      warnings: [{ column: 'material_family', value: 'ti\ttanium', message: 'never seen' }],
      servedAt: new Date(),
      shadowOf: randomUUID(),
    };
  }

  async function loggedRow(id: string): Promise<Record<string, unknown> | undefined> {
    const { rows } = await world.db.pool.query<Record<string, unknown>>(
      `SELECT prediction_id, model, version, alias, key, inputs, output, warnings, served_at, shadow_of
       FROM serving.predictions WHERE prediction_id = $1`,
      [id],
    );
    return rows[0];
  }

  const columnsOf = (made: PredictionRecord) => ({
    prediction_id: made.predictionId,
    model: made.model,
    version: made.version,
    alias: made.alias,
    key: made.key,
    inputs: made.inputs,
    output: made.output,
    warnings: made.warnings,
    served_at: made.servedAt,
    shadow_of: made.shadowOf,
  });

  it('holds every column as served, whether its line was made between requests or by the flush', async () => {
    const serving = await startWorldServing(world, {
      predictionLog: { flushIntervalMs: 60_000, spillDirectory },
    });
    const byFlush = record();
    const ahead = record();
    try {
      // Flushed at once: the flush makes the line before the loop's next turn could.
      serving.predictionLog.add([byFlush]);
      await serving.predictionLog.flush();
      // Its line made in the loop's next turn, between requests; the flush only writes it.
      serving.predictionLog.add([ahead]);
      await new Promise((resolve) => setImmediate(resolve));
      await serving.predictionLog.flush();
      expect(serving.predictionLog.status()).toMatchObject({ pending: 0, written: 2, dropped: 0 });
    } finally {
      await serving.close();
    }
    expect(await loggedRow(byFlush.predictionId)).toEqual(columnsOf(byFlush));
    expect(await loggedRow(ahead.predictionId)).toEqual(columnsOf(ahead));
  });
});
