/**
 * Tampered artifacts and untrusted keys: trust in a signing key comes only from an admin
 * (`kerf keys trust`), never from a worker or a row written into the database; deploy, evaluation
 * (the champion) and serving verify every manifest against trusted, unrevoked keys and the ONNX
 * SHA-256. Each case asserts the exact refusal, its audit row where one is due, and that no registry,
 * serving or shop table (beyond that audit row) and no object of the model changed.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActivityDeps } from '../../activities/deps';
import { createDeployActivities } from '../../activities/lifecycle/deploy';
import { createEvaluateActivities } from '../../activities/lifecycle/evaluate';
import { signManifest, type UnsignedManifest } from '../../lifecycle/manifest';
import { loadOrCreateSigningKey, type SigningKey } from '../../lifecycle/signing';
import { createReaderPool } from '../../platform/database';
import { type PipelineSpec } from '../../lifecycle/spec';
import { buildSpec, shippedSpecInput } from '../specBuilder';
import { revokeSigningKey, trustSigningKey } from '../../registry';
import { KeysCommandError, revokeKey, trustKeyFile } from '../../scripts/cli/keysCommand';
import { loadVersion, ModelLoadRefusedError } from '../../serving/loadVersion';
import type { SnapshotRef, StoredCandidate } from '../../workflows/lifecycleTypes';
import { createKerfWorker, UntrustedSigningKeyError } from '../../workers/kerfWorker';
import { testConfig } from '../helpers';
import {
  createServingWorld,
  flipOneByte,
  modelName,
  registerVersion,
  type RegisteredVersion,
  type ServingWorld,
} from '../servingFixtures';
import { expectUnchanged, worldState, type WorldState } from './worldState';

let world: ServingWorld;
let keyDir: string;
/** The spec reader role's pool, as workers have it (these activities never run spec SQL). */
let readerPool: pg.Pool;

beforeAll(async () => {
  world = await createServingWorld('artifacts_sec');
  readerPool = createReaderPool({ readerUrl: world.db.readerUrl }, testConfig().specSql);
  keyDir = await mkdtemp(path.join(os.tmpdir(), 'kerf-artifacts-sec-'));
});

afterAll(async () => {
  await readerPool.end();
  await world.close();
  await rm(keyDir, { recursive: true, force: true });
});

/** A fresh development key file in this file's folder (created on first load, with its .pub). */
async function newKeyFile(): Promise<{ keyFile: string; key: SigningKey }> {
  const keyFile = path.join(keyDir, `${randomUUID()}.pem`);
  return { keyFile, key: await loadOrCreateSigningKey({ keyFile }) };
}

/** Runs one statement as the bootstrap superuser, on this file's database. */
async function asAdmin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: world.db.adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

function workerConfig(keyFile: string) {
  return testConfig({ ...world.db.env, KERF_SIGNING_KEY_FILE: keyFile, KERF_SIGNING_KEY: '' });
}

/** The error createKerfWorker fails with; a worker that starts anyway is shut down and fails the test. */
async function workerStartError(keyFile: string): Promise<unknown> {
  try {
    const worker = await createKerfWorker(workerConfig(keyFile), {
      taskQueue: `artifacts-sec-${randomUUID()}`,
    });
    await worker.shutdown();
  } catch (error) {
    return error;
  }
  throw new Error('the worker started with a key no admin trusted');
}

const modelPrefixes = (model: string) => [`models/${model}/`];

async function state(model: string): Promise<WorldState> {
  return worldState(world.db.pool, world.objectStore, modelPrefixes(model));
}

async function auditRows(
  action: string,
  model?: string,
): Promise<{ actor: string; details: Record<string, unknown> }[]> {
  const { rows } = await world.db.pool.query<{ actor: string; details: Record<string, unknown> }>(
    `SELECT actor, details FROM registry.audit_log WHERE action = $1 AND ($2::text IS NULL OR model = $2) ORDER BY id`,
    [action, model ?? null],
  );
  return rows;
}

/** Re-signs the stored manifest of a version with `key`, keeping every field (as a forger would). */
async function resign(
  version: RegisteredVersion,
  key: SigningKey,
  change?: (manifest: UnsignedManifest) => void,
) {
  const text = new TextDecoder().decode(await world.objectStore.get(version.keys.manifest));
  const manifest = JSON.parse(text) as UnsignedManifest & { keyId?: string; publicKeyPem?: string };
  // signManifest names the signing key itself.
  delete manifest.keyId;
  delete manifest.publicKeyPem;
  change?.(manifest);
  const signed = signManifest(manifest, key);
  await world.objectStore.put(version.keys.manifest, signed.manifestJson, 'application/json');
  await world.objectStore.put(version.keys.signature, signed.signature, 'text/plain');
}

function activityDeps(): ActivityDeps {
  return {
    pool: world.db.pool,
    readerPool,
    objectStore: world.objectStore,
    signingKey: world.signingKey,
    modelSigningKey: world.modelSigningKey,
    codeVersion: 'security-test',
    // Refused before any schedule is set: neither Temporal nor specs on disk are reached.
    temporal: undefined as unknown as ActivityDeps['temporal'],
    pipelinesDir: keyDir,
    webhooks: { urls: [], secret: () => 'unused-webhook-secret' },
  };
}

/** Runs an activity as a worker would, inside run `runId`; resolves to its error (undefined if none). */
async function activityError<I>(
  work: (input: I) => Promise<unknown>,
  input: I,
  runId: string,
): Promise<unknown> {
  const env = new MockActivityEnvironment({ workflowExecution: { workflowId: runId, runId: randomUUID() } });
  return env.run(work, input).then(
    () => undefined,
    (error: unknown) => error,
  );
}

async function deployError(model: string, version: number, runId: string): Promise<unknown> {
  const spec = specFor(model);
  const deploy = createDeployActivities(activityDeps());
  return activityError(
    (input: { spec: PipelineSpec; version: number; actor: string }) => deploy.deployVersion(input),
    { spec, version, actor: 'shop-manager' },
    runId,
  );
}

async function evaluateError(model: string, candidate: number, runId: string): Promise<unknown> {
  const spec = specFor(model);
  const evaluation = createEvaluateActivities(activityDeps());
  // The champion is verified before the snapshot or the candidate is read: these are never reached.
  const snapshot: SnapshotRef = {
    key: `snapshots/${model}/${'0'.repeat(64)}.arrow`,
    sha256: '0'.repeat(64),
    rows: 0,
    recordKey: '',
  };
  const trained = { modelKey: '', onnxKey: '', onnxSha256: '', onnxBytes: 0 } as unknown as StoredCandidate;
  return activityError(
    (input: { spec: PipelineSpec; version: number; snapshot: SnapshotRef; trained: StoredCandidate }) =>
      evaluation.evaluateCandidate(input),
    { spec, version: candidate, snapshot, trained },
    runId,
  );
}

const specFor = (model: string): PipelineSpec => buildSpec({ name: model }, shippedSpecInput('cut-time'));

/** A production version (v1) and an approved candidate (v2) of a new model. */
async function championAndCandidate(
  prefix: string,
): Promise<{ champion: RegisteredVersion; candidate: RegisteredVersion }> {
  const model = modelName(prefix);
  const champion = await registerVersion(world, { model, iterations: 20, alias: 'production' });
  const candidate = await registerVersion(world, { model, iterations: 30 });
  return { champion, candidate };
}

function expectStopped(error: unknown, message: RegExp): void {
  expect(error).toBeInstanceOf(ApplicationFailure);
  expect(error).toMatchObject({ type: 'TamperedArtifactError', nonRetryable: true });
  expect((error as Error).message).toMatch(message);
}

describe('a worker starts only with a key an admin trusted', () => {
  it('refuses a key nobody trusted, naming the exact `kerf keys trust` command; audited', async () => {
    const { keyFile, key } = await newKeyFile();
    const before = await state('none');
    const error = await workerStartError(keyFile);
    expect(error).toBeInstanceOf(UntrustedSigningKeyError);
    expect((error as Error).message).toBe(
      `The worker's manifest signing key ${key.keyId} is not trusted, so the worker does not start: an admin runs \`kerf keys trust ${keyFile}.pub --name "worker on ${os.hostname()}"\`.`,
    );
    expectUnchanged(before, await state('none'), 1);
    expect((await auditRows('worker-start-refused')).at(-1)?.details).toEqual({
      keyId: key.keyId,
      trust: 'unknown',
    });
  });

  it('refuses a key written straight into registry.signing_keys by SQL (no admin vouched for it)', async () => {
    const { keyFile, key } = await newKeyFile();
    // As the owner role, the strongest writer short of a superuser: a row there is still no trust.
    await world.db.ownerPool.query(
      'INSERT INTO registry.signing_keys (key_id, public_key_pem) VALUES ($1, $2)',
      [key.keyId, key.publicKeyPem],
    );
    const before = await state('none');
    const error = await workerStartError(keyFile);
    expect(error).toBeInstanceOf(UntrustedSigningKeyError);
    expect((error as Error).message).toContain(
      `signing key ${key.keyId} is not trusted, so the worker does not start`,
    );
    expectUnchanged(before, await state('none'), 1);
  });

  it('refuses a revoked key, saying it was revoked', async () => {
    const { keyFile, key } = await newKeyFile();
    await trustSigningKey(world.db.ownerPool, {
      publicKey: key.publicKeyPem,
      name: 'soon revoked',
      actor: 'admin',
    });
    await revokeSigningKey(world.db.ownerPool, { keyId: key.keyId, actor: 'admin', reason: 'laptop lost' });
    const before = await state('none');
    const error = await workerStartError(keyFile);
    expect(error).toBeInstanceOf(UntrustedSigningKeyError);
    expect((error as Error).message).toBe(
      `The worker's manifest signing key ${key.keyId} was revoked, so the worker does not start: delete ${keyFile} and start again for a new development key, then an admin runs \`kerf keys trust NEW_PUBLIC_KEY.pem --name "worker on ${os.hostname()}"\`.`,
    );
    expectUnchanged(before, await state('none'), 1);
  });
});

describe('only the admin connection writes the trust root', () => {
  it('the application role cannot insert, un-revoke or delete trusted keys (PostgreSQL refuses)', async () => {
    const { key } = await newKeyFile();
    const before = await state('none');
    const client = await world.db.pool.connect();
    try {
      for (const sql of [
        `INSERT INTO registry.trusted_signing_keys (key_id, name, public_key_pem, trusted_by) VALUES ('${key.keyId}', 'mine', '${key.publicKeyPem}', 'kerf-worker')`,
        'UPDATE registry.trusted_signing_keys SET revoked_at = NULL, revoked_by = NULL',
        'DELETE FROM registry.trusted_signing_keys',
      ]) {
        await client.query('BEGIN');
        await client.query('SET LOCAL ROLE kerf_app');
        await expect(client.query(sql)).rejects.toMatchObject({
          code: '42501',
          message: 'permission denied for table trusted_signing_keys',
        });
        await client.query('ROLLBACK');
      }
    } finally {
      client.release();
    }
    expectUnchanged(before, await state('none'));
  });

  it('`kerf keys trust` on the application role is refused with one line and no database text', async () => {
    const { keyFile } = await newKeyFile();
    const role = `kerf_app_test_${randomUUID().slice(0, 8)}`;
    const password = randomUUID();
    // Roles are made by the bootstrap superuser: neither the owner nor the application role may.
    await asAdmin(`CREATE ROLE ${role} LOGIN PASSWORD '${password}' IN ROLE kerf_app`);
    const url = new URL(world.db.url);
    url.username = role;
    url.password = password;
    const appPool = new pg.Pool({ connectionString: url.toString(), max: 1 });
    try {
      const before = await state('none');
      const error = await trustKeyFile(appPool, `${keyFile}.pub`, {
        name: 'mine',
        actor: 'os-user:mallory',
      }).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(KeysCommandError);
      expect((error as Error).message).toBe(
        "the database role Kerf connects as may not change trusted signing keys (only read them): run `kerf keys` with the owner role's connection",
      );
      expectUnchanged(before, await state('none'));
    } finally {
      await appPool.end();
      await asAdmin(`DROP ROLE ${role}`);
    }
  });

  it('a revoked key is never trusted again, by the command or by SQL as the owner', async () => {
    const { keyFile, key } = await newKeyFile();
    await trustKeyFile(world.db.ownerPool, `${keyFile}.pub`, { name: 'old', actor: 'os-user:admin' });
    await revokeKey(world.db.ownerPool, key.keyId, { actor: 'os-user:admin', reason: 'rotated' });
    const before = await state('none');
    const error = await trustKeyFile(world.db.ownerPool, `${keyFile}.pub`, {
      name: 'old again',
      actor: 'os-user:admin',
    }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(KeysCommandError);
    expect((error as Error).message).toMatch(
      new RegExp(
        `^Signing key ${key.keyId} was revoked by os-user:admin at \\S+ and is never trusted again: sign with a new key and trust that one$`,
      ),
    );
    await expect(
      world.db.ownerPool.query(
        'UPDATE registry.trusted_signing_keys SET revoked_at = NULL, revoked_by = NULL WHERE key_id = $1',
        [key.keyId],
      ),
    ).rejects.toThrow(`registry.trusted_signing_keys: key ${key.keyId} was revoked and stays revoked`);
    expectUnchanged(before, await state('none'));
    const trusted = await auditRows('signing-key-trusted');
    expect(trusted.filter((row) => row.details.keyId === key.keyId).map((row) => row.actor)).toEqual([
      'os-user:admin',
    ]);
  });

  it('a public key file that holds a private key is refused and nothing is stored', async () => {
    const { keyFile } = await newKeyFile();
    const before = await state('none');
    const error = await trustKeyFile(world.db.ownerPool, keyFile, {
      name: 'private',
      actor: 'os-user:admin',
    }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(KeysCommandError);
    expect((error as Error).message).toBe(
      'publicKey is a private key: give the public half only (the .pub file beside the key), the private half never leaves the signer',
    );
    expectUnchanged(before, await state('none'));
  });
});

describe('deploy verifies against trusted, unrevoked keys', () => {
  it('refuses a manifest signed by a key recorded only by SQL in registry.signing_keys; audited', async () => {
    const { champion, candidate } = await championAndCandidate('dep_sql_key');
    const { key } = await newKeyFile();
    // As the owner role, the strongest writer short of a superuser: a row there is still no trust.
    await world.db.ownerPool.query(
      'INSERT INTO registry.signing_keys (key_id, public_key_pem) VALUES ($1, $2)',
      [key.keyId, key.publicKeyPem],
    );
    await resign(candidate, key);
    const before = await state(champion.model);
    const runId = `lifecycle-${randomUUID()}`;
    const error = await deployError(candidate.model, candidate.version, runId);
    expectStopped(
      error,
      new RegExp(
        `^${candidate.model} v2 was not deployed: The model manifest of model ${candidate.model} version 2 .* is signed by key ${key.keyId}, which is not trusted here`,
      ),
    );
    expectUnchanged(before, await state(champion.model), 1);
    expect((await auditRows('deploy-refused', candidate.model))[0]).toMatchObject({
      actor: `run:${runId}`,
      details: { reason: 'unknown-key' },
    });
  });

  it('refuses a manifest signed by a revoked key, saying so; audited', async () => {
    const { champion, candidate } = await championAndCandidate('dep_revoked');
    const { key } = await newKeyFile();
    await trustSigningKey(world.db.ownerPool, {
      publicKey: key.publicKeyPem,
      name: 'to revoke',
      actor: 'admin',
    });
    await resign(candidate, key);
    await revokeSigningKey(world.db.ownerPool, { keyId: key.keyId, actor: 'admin' });
    const before = await state(champion.model);
    const error = await deployError(candidate.model, candidate.version, `lifecycle-${randomUUID()}`);
    expectStopped(
      error,
      new RegExp(
        `is signed by key ${key.keyId}, which was revoked by admin at \\S+: nothing it signed is trusted any more`,
      ),
    );
    expectUnchanged(before, await state(champion.model), 1);
  });

  it("refuses another version's validly signed manifest copied over this one; audited", async () => {
    const { champion, candidate } = await championAndCandidate('dep_swapped');
    // v1's manifest and signature (genuine, trusted key) over v2's, and v1's ONNX too: all verify.
    for (const which of ['manifest', 'signature', 'onnx'] as const) {
      await world.objectStore.put(candidate.keys[which], await world.objectStore.get(champion.keys[which]));
    }
    const before = await state(champion.model);
    const error = await deployError(candidate.model, candidate.version, `lifecycle-${randomUUID()}`);
    expectStopped(
      error,
      /is that of model .* version 1 .*an artifact was copied over another; do not use it\.$/,
    );
    expectUnchanged(before, await state(champion.model), 1);
  });
});

describe('the evaluate step verifies the champion before scoring it', () => {
  it("stops on a flipped byte in the champion's ONNX file; audited on the champion", async () => {
    const { champion, candidate } = await championAndCandidate('eval_flip');
    await flipOneByte(world.objectStore, champion.keys.onnx);
    const before = await state(champion.model);
    const runId = `lifecycle-${randomUUID()}`;
    const error = await evaluateError(candidate.model, candidate.version, runId);
    expectStopped(
      error,
      new RegExp(
        `^${candidate.model} v2 was not evaluated: the production version 1 is not scored, The ONNX file of model ${champion.model} version 1 .* is not the one the manifest signs`,
      ),
    );
    expect(error).toMatchObject({ details: [{ reason: 'onnx-hash-mismatch', champion: 1 }] });
    expectUnchanged(before, await state(champion.model), 1);
    expect(await auditRows('champion-refused', champion.model)).toEqual([
      {
        actor: `run:${runId}`,
        details: expect.objectContaining({ reason: 'onnx-hash-mismatch', candidate: 2, runId }) as Record<
          string,
          unknown
        >,
      },
    ]);
  });

  it('stops on a champion manifest signed by a key no admin trusted', async () => {
    const { champion, candidate } = await championAndCandidate('eval_untrusted');
    const { key } = await newKeyFile();
    await resign(champion, key);
    const before = await state(champion.model);
    const error = await evaluateError(candidate.model, candidate.version, `lifecycle-${randomUUID()}`);
    expectStopped(error, new RegExp(`is signed by key ${key.keyId}, which is not trusted here`));
    expect(error).toMatchObject({ details: [{ reason: 'unknown-key' }] });
    expectUnchanged(before, await state(champion.model), 1);
  });

  it('stops on a champion whose manifest was edited to the hash of a swapped ONNX file', async () => {
    const { champion, candidate } = await championAndCandidate('eval_hash');
    // The forger swaps in another ONNX file and writes its SHA-256 into the manifest, keeping the signature.
    const other = await world.objectStore.get(candidate.keys.onnx);
    await world.objectStore.put(champion.keys.onnx, other);
    const manifest = new TextDecoder().decode(await world.objectStore.get(champion.keys.manifest));
    const parsed = JSON.parse(manifest) as { onnx: { sha256: string; bytes: number } };
    const edited = manifest
      .replace(parsed.onnx.sha256, createHash('sha256').update(other).digest('hex'))
      .replace(`"bytes":${parsed.onnx.bytes}`, `"bytes":${other.byteLength}`);
    await world.objectStore.put(champion.keys.manifest, edited, 'application/json');
    const before = await state(champion.model);
    const error = await evaluateError(candidate.model, candidate.version, `lifecycle-${randomUUID()}`);
    expectStopped(
      error,
      /does not match it under key [0-9a-f]{16}: the manifest or its signature was changed after signing/,
    );
    expect(error).toMatchObject({ details: [{ reason: 'signature-invalid' }] });
    expectUnchanged(before, await state(champion.model), 1);
  });
});

describe('serving verifies against trusted, unrevoked keys', () => {
  it('refuses to load a version whose key was revoked', async () => {
    const model = modelName('serve_revoked');
    const { key } = await newKeyFile();
    await trustSigningKey(world.db.ownerPool, {
      publicKey: key.publicKeyPem,
      name: 'serving key',
      actor: 'admin',
    });
    const version = await registerVersion(world, { model, iterations: 20, alias: 'production' });
    await resign(version, key);
    // Loads while the key is trusted...
    await (
      await loadVersion({ pool: world.db.pool, objectStore: world.objectStore }, model, 1)
    ).scorer.release();
    await revokeSigningKey(world.db.ownerPool, { keyId: key.keyId, actor: 'admin' });
    const before = await state(model);
    // ...and not once it is revoked.
    const error = await loadVersion({ pool: world.db.pool, objectStore: world.objectStore }, model, 1).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ModelLoadRefusedError);
    expect(error).toMatchObject({ reason: 'unknown-key' });
    expect((error as Error).message).toMatch(
      new RegExp(`^${model} v1 was not loaded: .*signed by key ${key.keyId}, which is not trusted here`),
    );
    expectUnchanged(before, await state(model));
  });
});
