/**
 * A serving test's world on the shared stack: its own migrated database, the shared bucket, and a
 * signing key the registry trusts; and `registerVersion`, which does what the lifecycle does up to
 * deploy in a few hundred milliseconds: trains a small cut-time-like model, stores its ONNX file,
 * signed manifest and card under `models/<model>/v<N>/`, registers, approves and (optionally)
 * deploys it. Model names are unique per call of `modelName`, so files never share artifacts.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { artifactKeys } from '../registry/artifactKeys';
import { MANIFEST_FORMAT_VERSION, signManifest, sha256Hex } from '../lifecycle/manifest';
import { loadOrCreateModelSigningKey, type ModelSigningKey } from '../lifecycle/modelSigningKey';
import { loadOrCreateSigningKey, type SigningKey } from '../lifecycle/signing';
import { trainCandidate } from '../lifecycle/train';
import { Random } from '../ml/random';
import { tableFromRows } from '../ml/rows';
import type { Table } from '../ml/table';
import { applyMigrations } from '../platform/migrations';
import { ObjectStore } from '../platform/objectStore';
import { migrationsDir } from '../platform/paths';
import { type RunningServing, startServing, type StartServingOptions } from '../serving';
import { buildSpec } from './specBuilder';
import {
  type AliasName,
  moveAlias,
  recordApproval,
  recordEvaluation,
  trustSigningKey,
  resolveVersion,
  setStatus,
} from '../registry';
import { createOwnDatabase, type OwnDatabase, testConfig, uniqueName } from './helpers';

/** A token long enough for the API. */
export const SERVING_TOKEN = 'test-serving-token-0123456789abcdef';

export interface ServingWorld {
  db: OwnDatabase;
  objectStore: ObjectStore;
  signingKey: SigningKey;
  /** A P-256 key of its own for `model.sig`, as a worker's `modelSigningKey`. */
  modelSigningKey: ModelSigningKey;
  /** Deletes the artifacts of the models registered here, drops the database. */
  close(): Promise<void>;
}

export async function createServingWorld(prefix: string): Promise<ServingWorld> {
  const db = await createOwnDatabase(prefix);
  await applyMigrations(db.pool, migrationsDir);
  const objectStore = ObjectStore.fromConfig(testConfig().s3);
  await objectStore.ensureBucket();
  const { privateKey } = generateKeyPairSync('ed25519');
  const signingKey = await loadOrCreateSigningKey({
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  });
  const modelSigningKey = await loadOrCreateModelSigningKey({
    privateKeyPem: generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString(),
  });
  // An admin's step, on the owner role's connection: the application role may only read trusted keys.
  await trustSigningKey(db.ownerPool, {
    publicKey: signingKey.publicKeyPem,
    name: 'serving test key',
    actor: 'test',
  });
  return {
    db,
    objectStore,
    signingKey,
    modelSigningKey,
    async close() {
      for (const model of registeredModels.get(objectStore) ?? []) {
        for (const object of await objectStore.list(`models/${model}/`)) await objectStore.delete(object.key);
      }
      objectStore.destroy();
      await db.drop();
    },
  };
}

/**
 * The prediction API over the world's registry, on a free port. Its poll is a minute apart unless
 * `options` say otherwise, so a swap within seconds can only come from LISTEN/NOTIFY.
 */
export function startWorldServing(
  world: ServingWorld,
  options: Partial<StartServingOptions> = {},
): Promise<RunningServing> {
  return startServing({
    pool: world.db.pool,
    objectStore: world.objectStore,
    token: SERVING_TOKEN,
    port: 0,
    pollIntervalMs: 60_000,
    ...options,
  });
}

/** An API answer: its status, its body as text, and as JSON where it is JSON (else `{}`). */
export interface ApiAnswer {
  status: number;
  json: Record<string, unknown>;
  text: string;
}

export async function answerOf(response: Response): Promise<ApiAnswer> {
  const text = await response.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // Not JSON (metrics, a card, a refusal that the assertions name): the text is there.
  }
  return { status: response.status, json, text };
}

const registeredModels = new WeakMap<ObjectStore, Set<string>>();

/** A kebab-case model name no other test uses. */
export function modelName(prefix: string): string {
  return uniqueName(prefix).replace(/_/g, '-');
}

export const MATERIALS = ['mild_steel', 'stainless_steel', 'aluminium'];
export const LASERS = ['LAS-1', 'LAS-2'];

/** Laser-cut parts like the shop's: seconds grow with cut length and thickness, vary by material and laser. */
export function cutRows(count: number, seed: number): Record<string, number | string | null>[] {
  const random = new Random(seed);
  const speedOf: Record<string, number> = { mild_steel: 1, stainless_steel: 0.7, aluminium: 1.4 };
  return Array.from({ length: count }, () => {
    const thickness = 1 + Math.round(random.next() * 190) / 10;
    const cutLength = 100 + Math.round(random.next() * 4900);
    const material = MATERIALS[random.below(MATERIALS.length)] as string;
    const laser = LASERS[random.below(LASERS.length)] as string;
    const speed = (60 / thickness ** 1.25) * (speedOf[material] ?? 1) * (laser === 'LAS-2' ? 1.3 : 1);
    return {
      thickness_mm: thickness,
      cut_length_mm: cutLength,
      material_family: material,
      machine_id: laser,
      cut_seconds: cutLength / speed / 10 + random.next(),
    };
  });
}

/** The same parts labelled `slow` (over 40 seconds) or `fast`, for a classifier. */
export function slowRows(count: number, seed: number): Record<string, number | string | null>[] {
  return cutRows(count, seed).map(({ cut_seconds: seconds, ...inputs }) => ({
    ...inputs,
    slow: (seconds as number) > 40 ? 'slow' : 'fast',
  }));
}

/** The features the test model takes; the target is `cut_seconds`. */
export const FEATURES = [
  { name: 'thickness_mm', kind: 'numeric' },
  { name: 'cut_length_mm', kind: 'numeric' },
  { name: 'material_family', kind: 'categorical' },
  { name: 'machine_id', kind: 'categorical' },
] as const;

/** Rows without the target, as a caller sends them. */
export function inputRows(count: number, seed: number): Record<string, number | string | null>[] {
  return cutRows(count, seed).map((row) =>
    Object.fromEntries(Object.entries(row).filter(([column]) => column !== 'cut_seconds')),
  );
}

export interface RegisterVersionOptions {
  model: string;
  /** Boosting rounds: a different number makes a different version with other predictions. */
  iterations: number;
  /** Deploys it under this alias (production when the model has none yet is the caller's business). */
  alias?: AliasName;
  trafficShare?: number;
  /**
   * A regression of `cut_seconds`, or a classifier of `slow` (`slow` or `fast`: over 40 s or not).
   * @default 'regression'
   */
  task?: 'regression' | 'binary';
}

export interface RegisteredVersion {
  model: string;
  version: number;
  onnx: Uint8Array;
  keys: ReturnType<typeof artifactKeys>;
}

/** Trains, stores, signs, registers and approves a version; deploys it when `alias` is given. */
export async function registerVersion(
  world: ServingWorld,
  options: RegisterVersionOptions,
): Promise<RegisteredVersion> {
  const { model, iterations } = options;
  const task = options.task ?? 'regression';
  const table: Table = tableFromRows(task === 'regression' ? cutRows(1500, 11) : slowRows(1500, 11));
  const target = task === 'regression' ? 'cut_seconds' : 'slow';
  // The loader picks the loss that fits the task.
  const spec = buildSpec({
    task,
    target,
    features: [...FEATURES],
    split: { kind: 'random', testFraction: 0.2 },
    trainer: { params: { iterations, maxLeaves: 15 } },
  });
  const pool = world.db.pool;
  const params = { iterations, maxLeaves: 15 };
  const { version: record } = await resolveVersion(pool, {
    model,
    task,
    specHash: sha256(JSON.stringify({ model, params })),
    modelHash: sha256(JSON.stringify({ model, params })),
    snapshotHash: sha256('cut-rows-1500-11'),
    runId: uniqueName('run'),
    params,
    codeVersion: 'serving-test',
  });
  const version = record.version;
  const trained = trainCandidate({ table, spec, modelName: model, modelVersion: version });
  const keys = artifactKeys(model, version);
  const signed = signManifest(
    {
      formatVersion: MANIFEST_FORMAT_VERSION,
      modelName: model,
      version: String(version),
      task,
      createdAt: new Date().toISOString(),
      codeVersion: 'serving-test',
      specHash: sha256(JSON.stringify({ model, params })),
      snapshot: { hash: sha256('cut-rows-1500-11'), rows: table.rowCount },
      parameters: { trainer: 'gbdt', ...params },
      metrics: { rmse: 1 },
      gates: [],
      features: FEATURES.map((feature) => ({ ...feature })),
      target: { name: target },
      onnx: { key: keys.onnx, sha256: sha256Hex(trained.onnx), bytes: trained.onnx.byteLength },
    },
    world.signingKey,
  );
  const store = world.objectStore;
  const models = registeredModels.get(store) ?? new Set<string>();
  models.add(model);
  registeredModels.set(store, models);
  await store.put(keys.onnx, trained.onnx);
  await store.put(keys.manifest, signed.manifestJson, 'application/json');
  await store.put(keys.signature, signed.signature, 'text/plain');
  await store.put(
    keys.card,
    `<html><body><h1>${model} v${version}</h1></body></html>`,
    'text/html; charset=utf-8',
  );
  await recordEvaluation(pool, model, version, {
    metrics: { rmse: 1 + iterations / 1000 },
    gateVerdicts: [{ gate: 'quality', passed: true, checks: [] }],
    artifacts: { onnxKey: keys.onnx, manifestKey: keys.manifest, cardKey: keys.card },
  });
  await setStatus(pool, { model, version, status: 'candidate', actor: 'run:test', reason: 'gates passed' });
  await recordApproval(pool, { model, version, decision: 'approved', approver: 'shop-manager' });
  if (options.alias) await deploy(world, model, version, options.alias, options.trafficShare);
  return { model, version, onnx: trained.onnx, keys };
}

/** Points an alias at an approved version, as the deploy stage does (after its own verification). */
export async function deploy(
  world: ServingWorld,
  model: string,
  version: number,
  alias: AliasName,
  trafficShare?: number,
): Promise<void> {
  await moveAlias(world.db.pool, {
    model,
    alias,
    version,
    ...(trafficShare === undefined ? {} : { trafficShare }),
    actor: 'shop-manager',
    reason: 'serving test',
  });
}

/** Flips one byte in the middle of a stored object, as an attacker or a bad disk would. */
export async function flipOneByte(store: ObjectStore, key: string): Promise<void> {
  const bytes = Uint8Array.from(await store.get(key));
  const middle = Math.floor(bytes.length / 2);
  bytes[middle] = (bytes[middle] as number) ^ 0x01;
  await store.put(key, bytes);
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Polls until `check` returns a value (not undefined), or fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
