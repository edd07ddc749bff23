import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForStage } from '../../workflows/client/lifecycleRuns';
import type { PipelineSpec } from '../../lifecycle/spec';
import { loadSnapshot } from '../../lifecycle/ingest';
import type { UnsignedManifest } from '../../lifecycle/manifest';
import { MISSING_CODE } from '../../ml/table';
import { artifactKeys } from '../../registry/artifactKeys';
import { ModelLoadRefusedError, type PredictResponse, startServing } from '../../serving';
import { loadVersion } from '../../serving/loadVersion';
import type { StoredPredictions } from '../../activities/lifecycle/evaluate';
import { createLifecycleTestbed, type LifecycleTestbed } from '../lifecycleTestbed';
import { waitFor } from '../servingFixtures';

const TOKEN = 'test-serving-token-lifecycle-history-0123456789';
const HOUR = 3_600_000;

/** What a machine and a material did lately: the rows before each job, never the job itself. */
const HISTORY = [
  { name: 'machine_recent_cut', of: 'target', by: ['machine_id'], stat: 'mean', events: 20 },
  { name: 'material_last_cut', of: 'target', by: ['material_id'], lag: 1 },
  { name: 'machine_jobs_7d', of: 'target', by: ['machine_id'], stat: 'count', window: '7d' },
  { name: 'machine_idle_hours', by: ['machine_id'], since: 'hours' },
];

let bed: LifecycleTestbed;
let spec: PipelineSpec;

beforeAll(async () => {
  bed = await createLifecycleTestbed('lifecycle_history');
  const shipped = await bed.spec('cut-time.json');
  spec = await bed.spec('cut-time.json', {
    trainer: { params: { iterations: 120 } },
    history: HISTORY,
    features: [
      ...shipped.features,
      ...HISTORY.map((feature) => ({ name: feature.name, kind: 'numeric' as const })),
    ],
  });
});
afterAll(async () => {
  await bed.close();
});

/** A built-table row as a client sends it: its time as epoch milliseconds, categories as text. */
function rowOf(
  table: Awaited<ReturnType<typeof loadSnapshot>>,
  names: readonly string[],
  row: number,
): Record<string, number | string | null> {
  return Object.fromEntries(
    names.map((name): [string, number | string | null] => {
      if (name === table.time?.name) return [name, table.time.values[row] ?? null];
      const column = table.table.column(name);
      if (column.kind === 'numeric') {
        const value = column.values[row] as number;
        return [name, Number.isNaN(value) ? null : value];
      }
      const code = column.codes[row] as number;
      return [name, code === MISSING_CODE ? null : (column.dictionary[code] ?? null)];
    }),
  );
}

describe('a spec with history features', () => {
  it('is built, pinned, served from the entity history as it was trained, and grows with outcomes', async () => {
    const handle = await bed.start(spec, { startedBy: 'shop-manager', approvalDeadlineMs: 600_000 });
    const waiting = await waitForStage(handle, 'awaiting-approval', { timeoutMs: 240_000 });
    expect(waiting.history.map((entry) => entry.stage).slice(3, 5)).toEqual(['features', 'train']);
    const built = waiting.features;
    if (!built) throw new Error('the run built no feature table');
    await bed.signalDecision(handle, 'production-planner', 'approve', 'history features look right');
    expect(await handle.result()).toEqual({ outcome: 'deployed', pipeline: spec.name, version: 1 });

    // The manifest pins the history definition; the time column and keys are request inputs.
    const keys = artifactKeys(spec.name, 1);
    const manifest = JSON.parse(
      new TextDecoder().decode(await bed.store.get(keys.manifest)),
    ) as UnsignedManifest;
    expect(manifest.featureBuild?.history).toMatchObject({
      timeColumn: 'released_at',
      target: 'cut_seconds_per_part',
      features: [
        {
          name: 'machine_recent_cut',
          of: 'cut_seconds_per_part',
          by: ['machine_id'],
          definition: { kind: 'rolling', stat: 'mean', window: { kind: 'events', count: 20 } },
        },
        { name: 'material_last_cut', definition: { kind: 'lag', lag: 1 } },
        { name: 'machine_jobs_7d', definition: { kind: 'rolling', stat: 'count' } },
        { name: 'machine_idle_hours', definition: { kind: 'since', unitMs: HOUR } },
      ],
    });
    expect(manifest.featureBuild?.inputs.map((input) => input.name)).toEqual(
      expect.arrayContaining(['released_at', 'machine_id', 'material_id']),
    );
    const card = new TextDecoder().decode(await bed.store.get(keys.card));
    expect(card).toContain('history: mean of cut_seconds_per_part over the last 20 events, per machine_id');

    const offline = await bed.store.getJson<StoredPredictions>(keys.predictions);
    const table = await loadSnapshot(bed.store, built.key);
    const serving = await startServing({
      pool: bed.db.pool,
      objectStore: bed.store,
      token: TOKEN,
      port: 0,
      pollIntervalMs: 200,
      predictionLog: { flushIntervalMs: 50 },
    });
    const call = async (path: string, body: unknown) => {
      const response = await fetch(`${serving.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: response.status, json: await response.json() };
    };
    try {
      const described = (await (
        await fetch(`${serving.url}/v1/models/${spec.name}`, {
          headers: { authorization: `Bearer ${TOKEN}` },
        })
      ).json()) as { inputs?: { name: string }[] };
      const requestColumns = (described.inputs ?? []).map((input) => input.name);
      expect(requestColumns).toContain('released_at');
      for (const feature of HISTORY) expect(requestColumns).not.toContain(feature.name);

      // The test rows as a client sends them: the served answers are the offline ones, so the
      // history serving read for each row is the one the model was evaluated with.
      const rows = offline.testRows.slice(0, 200).map((row) => rowOf(table, requestColumns, row));
      const answered = await call(`/v1/models/${spec.name}/predict`, { rows });
      expect(answered.status).toBe(200);
      const online = (answered.json as PredictResponse).predictions.map((p) => p.value as number);
      expect(online).toEqual(offline.prediction.slice(0, 200));

      // A history feature is read from the entity history, never taken from the request.
      const sneaky = await call(`/v1/models/${spec.name}/predict`, {
        rows: [{ ...rows[0], machine_recent_cut: 1 }],
      });
      expect(sneaky.status).toBe(400);

      // A job after everything the table holds, then its outcome: the next job on that machine
      // reads it as its latest event.
      const latest = Math.max(...Array.from(table.time?.values ?? []).filter(Number.isFinite));
      const job = { ...(rows[0] as Record<string, number | string | null>), released_at: latest + 24 * HOUR };
      const first = (await call(`/v1/models/${spec.name}/predict`, { rows: [job] })).json as PredictResponse;
      const predictionId = first.predictions[0]?.predictionId ?? '';
      await waitFor('the prediction log flush', async () => {
        const { rows: found } = await bed.db.pool.query(
          'SELECT 1 FROM serving.predictions WHERE prediction_id = $1',
          [predictionId],
        );
        return found.length === 1 ? true : undefined;
      });
      const outcome = await call('/v1/outcomes', {
        model: spec.name,
        outcomes: [{ predictionId, actual: 1234.5 }],
      });
      expect(outcome.status).toBe(200);
      const next = { ...job, released_at: latest + 30 * HOUR };
      const logged = await waitFor('a job that sees the outcome', async () => {
        const answer = (await call(`/v1/models/${spec.name}/predict`, { rows: [next] }))
          .json as PredictResponse;
        const id = answer.predictions[0]?.predictionId ?? '';
        const seen = await waitFor('the prediction log flush', async () => {
          const { rows: found } = await bed.db.pool.query<{ inputs: Record<string, unknown> }>(
            'SELECT inputs FROM serving.predictions WHERE prediction_id = $1',
            [id],
          );
          return found[0]?.inputs;
        });
        return seen.machine_idle_hours === 6 ? seen : undefined;
      });
      // The history features a prediction was served with are logged with its inputs: the outcome
      // is among the machine's last 20 events, and the material's latest.
      expect(logged.machine_recent_cut).toBeGreaterThan(1234.5 / 20);
      expect(logged.material_last_cut).toBe(1234.5);
      expect(logged.machine_jobs_7d).toBeGreaterThan(0);
    } finally {
      await serving.close();
    }

    // A built table swapped under the version: its hash no longer fits the signed manifest.
    await bed.store.put(
      built.key,
      new TextEncoder().encode('not the built table'),
      'application/octet-stream',
    );
    const refused = await loadVersion({ pool: bed.db.pool, objectStore: bed.store }, spec.name, 1).catch(
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(ModelLoadRefusedError);
    expect((refused as ModelLoadRefusedError).reason).toBe('feature-build-mismatch');
    expect((refused as ModelLoadRefusedError).message).toMatch(/the history was altered/);
  });
});
