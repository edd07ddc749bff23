/**
 * Hostile request bodies against the prediction API: each case asserts the exact refusal (status,
 * code, message) and that no table of registry, serving or shop changed; then the prediction log's
 * dead-letter path, which keeps a row PostgreSQL refuses from blocking the rows behind it.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PredictionRecord, type PredictResponse, type RunningServing } from '../../serving';
import {
  answerOf,
  type ApiAnswer,
  createServingWorld,
  inputRows,
  modelName,
  registerVersion,
  SERVING_TOKEN,
  type ServingWorld,
  startWorldServing,
  waitFor,
} from '../servingFixtures';
import { expectUnchanged, tableContents } from './tableContents';

let world: ServingWorld;
let serving: RunningServing;
let logDir: string;
let logFile: string;
/** A prediction the API answered, for outcomes. */
let answeredId: string;
const model = modelName('hostile');
const row = inputRows(1, 7)[0] as Record<string, number | string | null>;
const COLUMNS = 'thickness_mm, cut_length_mm, material_family, machine_id';

beforeAll(async () => {
  world = await createServingWorld('kerf_test_hostile');
  await registerVersion(world, { model, iterations: 10, alias: 'production' });
  logDir = await mkdtemp(path.join(tmpdir(), 'kerf-serving-log-'));
  logFile = path.join(logDir, 'api.log');
  serving = await startWorldServing(world, {
    logger: { level: 'warn', file: logFile },
    predictionLog: { flushIntervalMs: 50 },
  });
  const answer = await send(predictPath, JSON.stringify({ row, key: 'job-1' }));
  expect(answer.status).toBe(200);
  answeredId = (answer.json as unknown as PredictResponse).predictions[0]?.predictionId ?? '';
  await serving.predictionLog.flush();
});

afterAll(async () => {
  await serving.close();
  await world.close();
  await rm(logDir, { recursive: true, force: true });
});

const predictPath = `/v1/models/${model}/predict`;

/** Sends a body as raw text, with the token. */
async function send(url: string, body: string, contentType = 'application/json'): Promise<ApiAnswer> {
  const response = await fetch(`${serving.url}${url}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${SERVING_TOKEN}`, 'content-type': contentType },
    body,
  });
  return answerOf(response);
}

/** Sends a hostile body and checks that no guarded table changed, the prediction log flushed. */
async function refused(url: string, body: string, contentType?: string): Promise<ApiAnswer> {
  const before = await tableContents(world.db.pool);
  const answer = await send(url, body, contentType);
  await serving.predictionLog.flush();
  await expectUnchanged(world.db.pool, before);
  return answer;
}

/** Sends a hostile body and expects a 400 naming one field, with no guarded table changed. */
async function refusedAsInvalid(
  url: string,
  body: string,
  field: string,
  reason: string,
): Promise<ApiAnswer> {
  const answer = await refused(url, body);
  expect(answer.status).toBe(400);
  expect(answer.json).toEqual(invalid(field, reason));
  return answer;
}

/** The body of a 400 naming one field. */
function invalid(field: string, reason: string): Record<string, unknown> {
  return {
    error: 'invalid-input',
    message: `The request is invalid: ${field}: ${reason}`,
    issues: [{ field, reason }],
  };
}

/** A row's JSON with one column's value replaced by raw JSON text. */
function rowWith(column: string, rawValue: string): string {
  const cells = Object.entries({ ...row, [column]: null }).map(([name, value]) =>
    name === column
      ? `${JSON.stringify(name)}:${rawValue}`
      : `${JSON.stringify(name)}:${JSON.stringify(value)}`,
  );
  return `{${cells.join(',')}}`;
}

const FINITE = 'a number too large to be finite: send a finite number';
const TOO_DEEP =
  'nests lists and objects deeper than the 16 levels a body may have: send plain column values';
const TOO_LONG = 'holds a string longer than the 1000 characters a value may have: send a shorter value';

describe('non-finite numbers', () => {
  it('refuses 1e999 in a predict row, naming the row and column', async () => {
    await refusedAsInvalid(
      predictPath,
      `{"rows":[${rowWith('thickness_mm', '1e999')}]}`,
      'rows[0].thickness_mm',
      `is 1e999, ${FINITE}`,
    );
  });

  it('refuses -1e999 in a single predict row', async () => {
    await refusedAsInvalid(
      predictPath,
      `{"row":${rowWith('cut_length_mm', '-1e999')}}`,
      'row.cut_length_mm',
      `is -1e999, ${FINITE}`,
    );
  });

  it('refuses 1e999 as an outcome (it used to be a 500 with PostgreSQL text)', async () => {
    await refusedAsInvalid(
      '/v1/outcomes',
      `{"model":${JSON.stringify(model)},"outcomes":[{"predictionId":"${answeredId}","actual":1e999}]}`,
      'outcomes[0].actual',
      `is 1e999, ${FINITE}`,
    );
  });

  it('refuses -1e999 as an outcome', async () => {
    await refusedAsInvalid(
      '/v1/outcomes',
      `{"model":${JSON.stringify(model)},"outcome":{"key":"job-1","actual":-1e999}}`,
      'outcome.actual',
      `is -1e999, ${FINITE}`,
    );
  });

  it('refuses "NaN" and "Infinity" as text, in predict and outcomes', async () => {
    await refusedAsInvalid(
      predictPath,
      `{"row":${rowWith('thickness_mm', '"NaN"')}}`,
      'row.thickness_mm',
      'must be a number, got a string ("NaN")',
    );
    await refusedAsInvalid(
      '/v1/outcomes',
      `{"model":${JSON.stringify(model)},"outcome":{"key":"job-1","actual":"Infinity"}}`,
      'outcome.actual',
      'must be a finite number (the model is a regression), got a string ("Infinity")',
    );
  });

  it('refuses a number sent as text: the API does not coerce, it says what to send', async () => {
    await refusedAsInvalid(
      predictPath,
      `{"row":${rowWith('thickness_mm', '"3"')}}`,
      'row.thickness_mm',
      'must be a JSON number, got text ("3"): send 3 without quotes',
    );
  });
});

describe('columns and shapes', () => {
  it('refuses a column the model does not take, naming it', async () => {
    await refusedAsInvalid(
      predictPath,
      JSON.stringify({ rows: [{ ...row, notes: 'rush job' }] }),
      'rows[0].notes',
      `is not a column this model takes: leave it out (the model takes ${COLUMNS})`,
    );
  });

  it('refuses an extra column nested 5,000 deep, and the log keeps writing the next request', async () => {
    const deep = `${'['.repeat(5000)}1${']'.repeat(5000)}`;
    await refusedAsInvalid(predictPath, `{"rows":[${rowWith('notes', deep)}]}`, 'rows[0].notes', TOO_DEEP);

    const next = await send(predictPath, JSON.stringify({ row, key: 'after-deep' }));
    expect(next.status).toBe(200);
    const id = (next.json as unknown as PredictResponse).predictions[0]?.predictionId;
    await waitFor('the next prediction in serving.predictions', async () => {
      const { rowCount } = await world.db.pool.query(
        'SELECT 1 FROM serving.predictions WHERE prediction_id = $1',
        [id],
      );
      return rowCount === 1 ? true : undefined;
    });
    expect(serving.predictionLog.status()).toMatchObject({ state: 'ok', pending: 0, deadLetters: 0 });
  });

  it('refuses a known column nested 100 deep', async () => {
    const deep = `${'['.repeat(100)}3${']'.repeat(100)}`;
    await refusedAsInvalid(
      predictPath,
      `{"row":${rowWith('thickness_mm', deep)}}`,
      'row.thickness_mm',
      TOO_DEEP,
    );
  });

  it('refuses an array where a row object belongs, and an object where the list of rows belongs', async () => {
    await refusedAsInvalid(
      predictPath,
      JSON.stringify({ row: Object.values(row) }),
      'row',
      'must be an object of column values ({"thickness_mm": 3, ...}), got a list',
    );
    await refusedAsInvalid(
      predictPath,
      JSON.stringify({ rows: row }),
      'rows',
      'must be a list of rows, got an object',
    );
  });

  it('refuses more rows than one request may carry', async () => {
    await refusedAsInvalid(
      predictPath,
      JSON.stringify({ rows: Array.from({ length: 1001 }, () => row) }),
      'rows',
      'holds 1001 rows, more than the 1000 one request may carry: split the batch',
    );
  });
});

describe('keys a body may not carry', () => {
  it('refuses a __proto__ key', async () => {
    await refusedAsInvalid(
      predictPath,
      `{"row":${rowWith('__proto__', '{"admin":true}')}}`,
      'row.__proto__',
      'is a key named __proto__, which is refused: it is not a column or a field of the API',
    );
  });

  it('refuses a constructor key, in outcomes too', async () => {
    await refusedAsInvalid(
      '/v1/outcomes',
      `{"model":${JSON.stringify(model)},"constructor":{"prototype":{"polluted":true}},"outcome":{"key":"job-1","actual":2}}`,
      'constructor',
      'is a key named constructor, which is refused: it is not a column or a field of the API',
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses a key sent twice (JSON.parse would keep the last one silently)', async () => {
    const body = `{"row":${rowWith('thickness_mm', '3').replace('{', '{"thickness_mm":900,')}}`;
    await refusedAsInvalid(
      predictPath,
      body,
      'row.thickness_mm',
      'appears twice in the same object: send each key once',
    );
  });
});

describe('sizes', () => {
  it('refuses a 10 MB string', async () => {
    await refusedAsInvalid(
      predictPath,
      `{"row":${rowWith('material_family', JSON.stringify('x'.repeat(10_000_000)))}}`,
      'row.material_family',
      TOO_LONG,
    );
  });

  it('refuses a category of 100,000 characters', async () => {
    await refusedAsInvalid(
      predictPath,
      JSON.stringify({ rows: [row, { ...row, machine_id: 'L'.repeat(100_000) }] }),
      'rows[1].machine_id',
      TOO_LONG,
    );
  });

  it('refuses a body over the size limit with 413', async () => {
    const rows = Array.from({ length: 900 }, () => ({ ...row, material_family: 'm'.repeat(990) }));
    const body = JSON.stringify({ rows, keys: rows.map(() => 'k'.repeat(200)) }).padEnd(
      11 * 1024 * 1024,
      ' ',
    );
    const answer = await refused(predictPath, body);
    expect(answer.status).toBe(413);
    expect(answer.json).toEqual({
      error: 'body-too-large',
      message: 'Request body is too large: split the batch into smaller requests',
    });
  });

  it('refuses a content type other than JSON with 415', async () => {
    const answer = await refused(predictPath, JSON.stringify({ row }), 'text/plain');
    expect(answer.status).toBe(415);
    expect(answer.json).toEqual({
      error: 'unsupported-media-type',
      message: 'Unsupported Media Type: send JSON with Content-Type: application/json',
    });
  });

  it('refuses a broken surrogate pair and a NUL, which PostgreSQL cannot store', async () => {
    await refusedAsInvalid(
      predictPath,
      `{"row":${rowWith('material_family', '"steel\\ud800"')}}`,
      'row.material_family',
      'holds a broken surrogate pair (a lone \\uD800-\\uDFFF escape): send well-formed Unicode',
    );
    await refusedAsInvalid(
      predictPath,
      `{"row":${rowWith('machine_id', '"LAS-1\\u0000"')}}`,
      'row.machine_id',
      'holds a NUL character (\\u0000): remove it',
    );
  });
});

describe('outcomes', () => {
  it('refuses an outcome for a prediction that does not exist', async () => {
    const missing = randomUUID();
    await refusedAsInvalid(
      '/v1/outcomes',
      JSON.stringify({ model, outcomes: [{ predictionId: missing, actual: 12 }] }),
      'outcomes[0].predictionId',
      `names no prediction of ${model}: send the predictionId the API answered with (or the key sent with the row)`,
    );
  });

  it('refuses an outcome for a model the registry does not know', async () => {
    const answer = await refused(
      '/v1/outcomes',
      JSON.stringify({ model: 'no-such-model', outcome: { key: 'j', actual: 1 } }),
    );
    expect(answer.status).toBe(404);
    expect(answer.json).toEqual({
      error: 'model-not-found',
      message:
        'model: Model no-such-model is not in the registry: check the pipeline name, or run its lifecycle to register it',
    });
  });

  it('refuses a key with a NUL that used to be a 500 carrying PostgreSQL text', async () => {
    const answer = await refusedAsInvalid(
      '/v1/outcomes',
      `{"model":${JSON.stringify(model)},"outcome":{"key":"job\\u00001","actual":3}}`,
      'outcome.key',
      'holds a NUL character (\\u0000): remove it',
    );
    for (const word of ['violates', 'relation', 'column', 'syntax', 'byte sequence', 'UTF8']) {
      expect(answer.text).not.toContain(word);
    }
  });

  it('refuses an observation time PostgreSQL cannot store (year 0 used to be a 500 with its text)', async () => {
    const answer = await refusedAsInvalid(
      '/v1/outcomes',
      JSON.stringify({
        model,
        outcome: { predictionId: answeredId, actual: 3, observedAt: '0000-01-01T00:00:00Z' },
      }),
      'outcome.observedAt',
      'must be an ISO 8601 date-time from 1900 to 9999 such as 2025-03-01T14:30:00Z, got a string ("0000-01-01T00:00:00Z")',
    );
    for (const word of ['violates', 'relation', 'column', 'syntax', 'out of range']) {
      expect(answer.text).not.toContain(word);
    }
  });

  it('refuses too many outcomes and a key longer than 200 characters', async () => {
    await refusedAsInvalid(
      '/v1/outcomes',
      JSON.stringify({
        model,
        outcomes: Array.from({ length: 10_001 }, (_, i) => ({ key: `j${i}`, actual: 1 })),
      }),
      'outcomes',
      'holds 10001 outcomes, more than 10000 per request: split it, or use recordOutcomesFromQuery',
    );
    await refusedAsInvalid(
      '/v1/outcomes',
      JSON.stringify({ model, outcome: { key: 'k'.repeat(201), actual: 1 } }),
      'outcome.key',
      'must be text (1 to 200 characters) or a whole number, got a string ("kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk...")',
    );
  });

  it('answers a database failure with 500, a request id and no database text; the log has the error', async () => {
    // Only the owner may alter Kerf's tables; serving itself runs as the application role.
    const pool = world.db.ownerPool;
    // A constraint the outcome breaks, as a stand-in for any failure PostgreSQL reports.
    await pool.query(
      'ALTER TABLE serving.outcomes ADD CONSTRAINT security_test_refuses_all CHECK (actual_value < -1e300) NOT VALID',
    );
    try {
      const answer = await refused(
        '/v1/outcomes',
        JSON.stringify({ model, outcome: { predictionId: answeredId, actual: 4 } }),
      );
      expect(answer.status).toBe(500);
      const requestId = answer.json.requestId as string;
      expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(answer.json).toEqual({
        error: 'internal',
        message: `Serving failed on this request; the serving log has the details under request id ${requestId}`,
        requestId,
      });
      for (const word of ['violates', 'relation', 'column', 'syntax', 'security_test', 'constraint']) {
        expect(answer.text).not.toContain(word);
      }
      const logged = await waitFor('the error in the serving log', async () => {
        const text = await readFile(logFile, 'utf8').catch(() => '');
        const line = text
          .split('\n')
          .find((entry) => entry.includes(requestId) && entry.includes('a request failed'));
        return line;
      });
      expect(logged).toContain('security_test_refuses_all');
    } finally {
      await pool.query('ALTER TABLE serving.outcomes DROP CONSTRAINT security_test_refuses_all');
    }
  });
});

/** A prediction as the service hands it to the log. */
function record(inputs: Record<string, unknown>): PredictionRecord {
  return {
    predictionId: randomUUID(),
    model,
    version: 1,
    alias: 'production',
    key: null,
    inputs,
    output: { value: 12.5 },
    warnings: [],
    servedAt: new Date(),
    shadowOf: null,
  };
}

describe('the prediction log', () => {
  it('sets aside a row PostgreSQL refuses, writes the rows behind it, and reports itself degraded', async () => {
    // A second app on the same database, so its degraded state is its own.
    const other = await startWorldServing(world, { predictionLog: { flushIntervalMs: 60_000 } });
    try {
      const pool = world.db.pool;
      // Two rows that cannot be stored, between good ones: a nesting 5,000 deep (JSON.stringify runs out
      // of stack, and the old log retried the whole batch forever) and a lone surrogate (jsonb refuses it).
      let deep: unknown = 1;
      for (let level = 0; level < 5000; level += 1) deep = [deep];
      const before = record(row);
      const tooDeep = record({ ...row, notes: deep });
      const surrogate = record({ ...row, material_family: 'steel\ud800' });
      const after = record(row);
      other.predictionLog.add([before, tooDeep, surrogate, after]);
      await other.predictionLog.flush();

      const { rows: written } = await pool.query<{ prediction_id: string }>(
        'SELECT prediction_id FROM serving.predictions WHERE prediction_id = ANY($1::uuid[])',
        [[before.predictionId, tooDeep.predictionId, surrogate.predictionId, after.predictionId]],
      );
      expect(written.map((entry) => entry.prediction_id).sort()).toEqual(
        [before.predictionId, after.predictionId].sort(),
      );
      const { rows: letters } = await pool.query<{
        prediction_id: string;
        model: string;
        version: number;
        reason: string;
        excerpt: string;
      }>(
        `SELECT prediction_id, model, version, reason, excerpt FROM serving.prediction_dead_letters
         WHERE prediction_id = ANY($1::uuid[]) ORDER BY dead_letter_id`,
        [[tooDeep.predictionId, surrogate.predictionId]],
      );
      expect(letters).toEqual([
        {
          prediction_id: tooDeep.predictionId,
          model,
          version: 1,
          reason: 'Maximum call stack size exceeded',
          excerpt: '(the row cannot be written as JSON: Maximum call stack size exceeded)',
        },
        {
          prediction_id: surrogate.predictionId,
          model,
          version: 1,
          reason: expect.stringMatching(/^22P02: invalid input syntax for type json/) as string,
          excerpt: expect.stringMatching(
            /^\{"key":null,"inputs":\{.*"material_family":"steel\\ud800"/,
          ) as string,
        },
      ]);

      const status = other.predictionLog.status();
      expect(status).toMatchObject({ state: 'degraded', pending: 0, written: 2, deadLetters: 2, dropped: 0 });
      const health = await fetch(`${other.url}/healthz`).then((response) => response.json());
      expect(health).toEqual({
        ok: false,
        ready: true,
        predictionLog: 'degraded',
        degraded: [
          expect.stringMatching(
            /^PostgreSQL refused prediction rows, set aside in serving.prediction_dead_letters \(the last at /,
          ) as string,
        ],
      });
      const headers = { authorization: `Bearer ${SERVING_TOKEN}` };
      const apiStatus = (await fetch(`${other.url}/v1/status`, { headers }).then((response) =>
        response.json(),
      )) as { predictionLog: Record<string, unknown> };
      expect(apiStatus.predictionLog).toMatchObject({ state: 'degraded', deadLetters: 2, flushFailures: 1 });
      const metrics = await fetch(`${other.url}/metrics`, { headers }).then((response) => response.text());
      expect(metrics).toContain(`kerf_serving_prediction_log_dead_letters_total{model="${model}"} 2`);
      expect(metrics).toContain('kerf_serving_prediction_log_flush_failures_total 1');
      expect(metrics).toContain('kerf_serving_prediction_log_degraded 1');
      expect(metrics).toContain('kerf_serving_prediction_log_pending 0');
    } finally {
      await other.close();
    }
  });

  it('keeps rows while PostgreSQL cannot take any (not a row problem), reports it, and writes them later', async () => {
    const other = await startWorldServing(world, {
      predictionLog: { flushIntervalMs: 60_000, degradedPendingRows: 1 },
    });
    // Only the owner may rename Kerf's tables; serving itself runs as the application role.
    const pool = world.db.ownerPool;
    let renamed = false;
    try {
      // The table gone (a broken deployment, a missing grant): every write fails the same way.
      await pool.query('ALTER TABLE serving.predictions RENAME TO predictions_away');
      renamed = true;
      const rows = [record(row), record(row)];
      other.predictionLog.add(rows);
      await other.predictionLog.flush();
      expect(other.predictionLog.status()).toMatchObject({
        state: 'degraded',
        degraded: [
          '2 predictions wait to be written, more than 1',
          expect.stringMatching(
            /^writing predictions fails since .* \(42P01\); the serving log has the error$/,
          ) as string,
        ],
        pending: 2,
        written: 0,
        deadLetters: 0,
        dropped: 0,
        lastError: { code: '42P01' },
      });
      expect(await fetch(`${other.url}/healthz`).then((response) => response.json())).toMatchObject({
        ok: false,
        predictionLog: 'degraded',
      });
      const { rows: letters } = await pool.query(
        'SELECT 1 FROM serving.prediction_dead_letters WHERE prediction_id = ANY($1::uuid[])',
        [rows.map((entry) => entry.predictionId)],
      );
      expect(letters).toEqual([]);

      await pool.query('ALTER TABLE serving.predictions_away RENAME TO predictions');
      renamed = false;
      await other.predictionLog.flush();
      expect(other.predictionLog.status()).toMatchObject({
        state: 'ok',
        degraded: [],
        pending: 0,
        written: 2,
      });
      const { rowCount } = await pool.query(
        'SELECT 1 FROM serving.predictions WHERE prediction_id = ANY($1::uuid[])',
        [rows.map((entry) => entry.predictionId)],
      );
      expect(rowCount).toBe(2);
      expect(await fetch(`${other.url}/healthz`).then((response) => response.json())).toEqual({
        ok: true,
        ready: true,
        predictionLog: 'ok',
      });
    } finally {
      if (renamed) await pool.query('ALTER TABLE serving.predictions_away RENAME TO predictions');
      await other.close();
    }
  });
});
