/**
 * Personal data never leaves PostgreSQL for S3: a spec whose features hold e-mail addresses, phone
 * numbers or people's names is refused at `kerf spec check` (by name, and by a sample of the values)
 * and by the ingest stage before a snapshot is written. Each case asserts the exact refusal, an audit
 * row where a run was refused, and that no table and no object under the pipeline's prefixes changed.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIngestActivities } from '../../activities/lifecycle/ingest';
import type { ActivityDeps } from '../../activities/deps';
import { loadOrCreateModelSigningKey } from '../../lifecycle/modelSigningKey';
import { loadOrCreateSigningKey } from '../../lifecycle/signing';
import { createReaderPool } from '../../platform/database';
import { ObjectStore } from '../../platform/objectStore';
import { parsePipelineSpec, type PipelineSpec } from '../../lifecycle/spec';
import { features, shippedSpecInput, specInput } from '../specBuilder';
import { checkSpecFile } from '../../scripts/cli/specCommand';
import { createOwnDatabase, type OwnDatabase, testConfig } from '../helpers';
import { expectUnchanged, worldState } from './worldState';

const config = testConfig();
let db: OwnDatabase;
/** The spec reader role's pool: spec SQL (snapshots, `kerf spec check --against-database`) runs here. */
let readerPool: pg.Pool;
let store: ObjectStore;
let specDir: string;
let deps: ActivityDeps;

/** A quotes table with one harmless column and one of each kind of personal data. */
const ROWS = 300;

beforeAll(async () => {
  db = await createOwnDatabase('personal_data');
  readerPool = createReaderPool({ readerUrl: db.readerUrl }, config.specSql);
  // Data is loaded as the owner role (as `kerf import-csv` does); the reader may SELECT it.
  await db.ownerPool.query(`
    CREATE TABLE public.quotes_with_people (
      quote_id int, price float8, thickness_mm float8, material text,
      customer_email text, customer_phone text, operator_name text, ref_code text, buyer text
    )`);
  // ref_code and buyer have harmless names: only their values give them away.
  await db.ownerPool.query(
    `INSERT INTO public.quotes_with_people
     SELECT i, 100 + i % 37, 1 + i % 5, (ARRAY['mild_steel','aluminium','stainless'])[1 + i % 3],
            'buyer' || i || '@example.com', '+49 171 555' || lpad(i::text, 4, '0'),
            (ARRAY['Anna Schmidt','Jonas Weber','Mia Fischer'])[1 + i % 3],
            '+49 30 1234' || lpad(i::text, 4, '0'), 'purchasing' || i || '@customer.example'
       FROM generate_series(1, $1) AS i`,
    [ROWS],
  );
  store = ObjectStore.fromConfig(config.s3);
  await store.ensureBucket();
  specDir = await mkdtemp(path.join(os.tmpdir(), 'kerf-personal-data-'));
  deps = {
    pool: db.pool,
    readerPool,
    objectStore: store,
    signingKey: await loadOrCreateSigningKey(config.signing),
    modelSigningKey: await loadOrCreateModelSigningKey(config.modelSigning),
    codeVersion: 'security-test',
    // The data activities use neither Temporal nor specs on disk.
    temporal: undefined as unknown as ActivityDeps['temporal'],
    pipelinesDir: specDir,
    webhooks: { urls: [], secret: () => 'unused-webhook-secret' },
  };
});

afterAll(async () => {
  store.destroy();
  await readerPool.end();
  await db.drop();
  await rm(specDir, { recursive: true, force: true });
});

/** A cut-time-like spec on the quotes table, with `extra` as one more categorical or numeric feature. */
async function specWith(extra: { name: string; kind: 'categorical' | 'numeric' }): Promise<{
  spec: PipelineSpec;
  file: string;
}> {
  const draft = specInput(
    {
      name: `quote-pd-${randomUUID().slice(0, 8)}`,
      source: { kind: 'table', table: 'public.quotes_with_people' },
      target: 'price',
      features: [...features({ thickness_mm: 'numeric', material: 'categorical' }), extra],
      segments: ['material'],
      timeColumn: undefined,
      // cut-time's derived features read its columns, which this source does not have.
      derived: undefined,
      split: { kind: 'random', testFraction: 0.2, validationFraction: 0.1 },
    },
    shippedSpecInput('cut-time'),
  );
  const spec = parsePipelineSpec(draft);
  const file = path.join(specDir, `${spec.name}.json`);
  await writeFile(file, JSON.stringify(draft, null, 2));
  return { spec, file };
}

const prefixesOf = (spec: PipelineSpec) => [`snapshots/${spec.name}/`, `models/${spec.name}/`];

/** Runs the ingest activity as the worker would, for a run of this spec. */
async function ingest(spec: PipelineSpec): Promise<unknown> {
  const env = new MockActivityEnvironment({
    workflowExecution: { workflowId: `lifecycle-${spec.name}`, runId: randomUUID() },
  });
  const activities = createIngestActivities(deps);
  return env
    .run((input: { pipeline: string; spec: PipelineSpec }) => activities.ingestSnapshot(input), {
      pipeline: spec.name,
      spec,
    })
    .then(
      () => undefined,
      (error: unknown) => error,
    );
}

async function auditedRefusals(
  spec: PipelineSpec,
): Promise<{ actor: string; details: { stage: string; message: string } }[]> {
  const { rows } = await db.pool.query<{ actor: string; details: { stage: string; message: string } }>(
    `SELECT actor, details FROM registry.audit_log
      WHERE action = 'personal-data-refused' AND details->>'pipeline' = $1`,
    [spec.name],
  );
  return rows;
}

describe('kerf spec check refuses personal data', () => {
  it('an e-mail column, by its name, even without the database', async () => {
    const { spec, file } = await specWith({ name: 'customer_email', kind: 'categorical' });
    const before = await worldState(db.pool, store, prefixesOf(spec));
    const result = await checkSpecFile(file);
    expect(result).toEqual({
      file,
      ok: false,
      name: spec.name,
      problems: [
        'features[2].name: Feature "customer_email" looks like personal data (e-mail addresses) by its name ("email"); drop it from the features, or rename it if it holds no personal data.',
      ],
    });
    expectUnchanged(before, await worldState(db.pool, store, prefixesOf(spec)));
  });

  it('a phone column with a harmless name, by a sample of its values from the database', async () => {
    const { spec, file } = await specWith({ name: 'ref_code', kind: 'categorical' });
    const before = await worldState(db.pool, store, prefixesOf(spec));
    expect((await checkSpecFile(file)).ok).toBe(true);
    const result = await checkSpecFile(file, readerPool);
    expect(result.ok).toBe(false);
    expect(result.problems).toHaveLength(1);
    expect(result.problems[0]).toMatch(
      /^features\[2\]\.name: Feature "ref_code" holds personal data: 300 of 300 values \(100\.0 %\) look like phone numbers, e\.g\. "\+4[* ]+\d\d" \(threshold 5\.0 %\); drop the column or clean its values\.$/,
    );
    // The example is masked: no whole phone number in the message.
    expect(result.problems[0]).not.toMatch(/\+49 30 1234\d{4}/);
    expectUnchanged(before, await worldState(db.pool, store, prefixesOf(spec)));
  });

  it("a column of people's names, by its name", async () => {
    const { spec, file } = await specWith({ name: 'operator_name', kind: 'categorical' });
    const before = await worldState(db.pool, store, prefixesOf(spec));
    const result = await checkSpecFile(file, readerPool);
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([
      expect.stringMatching(
        /^features\[2\]\.name: Feature "operator_name" looks like personal data \(a person's name\)/,
      ),
    ]);
    expectUnchanged(before, await worldState(db.pool, store, prefixesOf(spec)));
  });
});

describe('the ingest stage refuses personal data before anything reaches S3', () => {
  const cases: { column: string; message: RegExp }[] = [
    {
      column: 'customer_email',
      message: /Feature "customer_email" looks like personal data \(e-mail addresses\)/,
    },
    {
      column: 'customer_phone',
      message: /Feature "customer_phone" looks like personal data \(phone numbers\)/,
    },
    {
      column: 'operator_name',
      message: /Feature "operator_name" looks like personal data \(a person's name\)/,
    },
    {
      column: 'buyer',
      message:
        /Feature "buyer" holds personal data: 300 of 300 values \(100\.0 %\) look like e-mail addresses/,
    },
  ];
  for (const { column, message } of cases) {
    it(`a ${column} column: no snapshot, no record, no model; one audit row`, async () => {
      const { spec } = await specWith({ name: column, kind: 'categorical' });
      const before = await worldState(db.pool, store, prefixesOf(spec));
      const error = await ingest(spec);
      expect(error).toBeInstanceOf(ApplicationFailure);
      expect(error).toMatchObject({ type: 'SourceError', nonRetryable: true });
      expect((error as Error).message).toMatch(
        new RegExp(
          `^Pipeline ${spec.name} holds personal data, so nothing of it is stored \\(no snapshot, no model\\): `,
        ),
      );
      expect((error as Error).message).toMatch(message);
      // Nothing under the pipeline's prefixes, nothing in any table but the one audit row.
      expect(await store.list(`snapshots/${spec.name}/`)).toEqual([]);
      expectUnchanged(before, await worldState(db.pool, store, prefixesOf(spec)), 1);
      const audited = await auditedRefusals(spec);
      expect(audited).toHaveLength(1);
      expect(audited[0]?.actor).toBe(`run:lifecycle-${spec.name}`);
      expect(audited[0]?.details.stage).toBe('ingest');
      expect(audited[0]?.details.message).toMatch(message);
    });
  }

  it('a spec without personal data is snapshotted as before (the refusal is not a blanket one)', async () => {
    const { spec } = await specWith({ name: 'quote_id', kind: 'numeric' });
    const error = await ingest(spec);
    expect(error).toBeUndefined();
    const stored = await store.list(`snapshots/${spec.name}/`);
    expect(stored.map((object) => object.key)).toHaveLength(2);
    for (const object of stored) await store.delete(object.key);
  });
});
