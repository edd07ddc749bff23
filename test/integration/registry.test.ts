import { createHash, generateKeyPairSync } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyMigrations } from '../../platform/migrations';
import { migrationsDir } from '../../platform/paths';
import {
  currentSpecHash,
  listenForAliasChanges,
  listSpecRevisions,
  recordSpecRevision,
  ModelRegistry,
  RegistryError,
  VERSION_STATUSES,
  VERSION_TRANSITIONS,
  type AliasChange,
  type RegistryErrorKind,
  type ResolveVersionInput,
  type VersionStatus,
} from '../../registry';
import { keyIdOf } from '../../lifecycle/signing';
import { createOwnDatabase, uniqueName, type OwnDatabase } from '../helpers';

// One database for this file, with every migration applied; each test works on models of its own.
let database: OwnDatabase;
let registry: ModelRegistry;

beforeAll(async () => {
  database = await createOwnDatabase('kerf_test_registry');
  await applyMigrations(database.pool, migrationsDir);
  registry = new ModelRegistry(database.pool);
});

afterAll(async () => {
  await database.drop();
});

/** A kebab-case model name no other test uses. */
function modelName(prefix: string): string {
  return uniqueName(prefix).replace(/_/g, '-');
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A run's request: the spec hash covers the parameters, as the lifecycle computes it. */
function request(
  model: string,
  params: Record<string, unknown>,
  snapshot = 'snapshot-a',
): ResolveVersionInput {
  return {
    model,
    task: 'regression',
    specHash: sha256(JSON.stringify({ model, params })),
    modelHash: sha256(JSON.stringify({ model, params, part: 'model' })),
    snapshotHash: sha256(snapshot),
    runId: uniqueName('run'),
    params,
    codeVersion: 'test-commit',
  };
}

const evaluation = (version: number) => ({
  metrics: { rmse: 1 + version / 10, mae: 0.8 },
  gateVerdicts: [{ gate: 'quality', passed: true, checks: [] }],
  artifacts: { onnxKey: `models/v${version}/model.onnx`, manifestKey: `models/v${version}/manifest.json` },
});

/** Registers a version for `iterations` and brings it as far as `until`. */
async function versionAt(
  model: string,
  iterations: number,
  until: 'candidate' | 'approved',
): Promise<number> {
  const { version } = await registry.resolveVersion(request(model, { iterations }));
  await registry.recordEvaluation(model, version.version, evaluation(version.version));
  await registry.setStatus({
    model,
    version: version.version,
    status: 'candidate',
    actor: 'run:t',
    reason: 'gates passed',
  });
  if (until === 'approved') {
    await registry.recordApproval({
      model,
      version: version.version,
      decision: 'approved',
      approver: 'shop-manager',
    });
  }
  return version.version;
}

/** Expects a RegistryError of `kind` whose message matches `message`. */
async function expectRefusal(
  promise: Promise<unknown>,
  kind: RegistryErrorKind,
  message: RegExp,
): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(RegistryError);
  expect((error as RegistryError).kind).toBe(kind);
  expect((error as RegistryError).message).toMatch(message);
}

async function statusOf(model: string, version: number): Promise<VersionStatus> {
  return (await registry.getVersion(model, version)).status;
}

async function auditActions(model: string): Promise<string[]> {
  return (await registry.auditTrail(model)).map((entry) => entry.action);
}

describe('resolveVersion', () => {
  it('gives the same version for the same spec and snapshot, and the next number for any change', async () => {
    const model = modelName('resolve');
    const first = await registry.resolveVersion(request(model, { iterations: 100 }));
    expect(first.created).toBe(true);
    expect(first.version).toMatchObject({
      model,
      version: 1,
      status: 'training',
      params: { iterations: 100 },
    });

    const again = await registry.resolveVersion(request(model, { iterations: 100 }));
    expect(again.created).toBe(false);
    expect(again.version.version).toBe(1);
    expect(again.version.runId).toBe(first.version.runId);

    const newParams = await registry.resolveVersion(request(model, { iterations: 200 }));
    const newData = await registry.resolveVersion(request(model, { iterations: 100 }, 'snapshot-b'));
    expect([newParams.version.version, newData.version.version]).toEqual([2, 3]);
    expect(newParams.created && newData.created).toBe(true);

    expect((await registry.listVersions(model)).map((version) => version.version)).toEqual([1, 2, 3]);
    expect(await auditActions(model)).toEqual(['version-created', 'version-created', 'version-created']);
    const [summary] = (await registry.listModels()).filter((entry) => entry.name === model);
    expect(summary).toMatchObject({ task: 'regression', latestVersion: 3, productionVersion: null });
  });

  it('allocates one version to five concurrent calls for the same pair, and distinct numbers to different pairs', async () => {
    const model = modelName('concurrent');
    const same = request(model, { iterations: 50 });
    const results = await Promise.all(Array.from({ length: 5 }, () => registry.resolveVersion({ ...same })));
    expect(new Set(results.map((result) => result.version.version))).toEqual(new Set([1]));
    expect(results.filter((result) => result.created)).toHaveLength(1);

    const others = await Promise.all(
      [60, 70, 80, 90, 95].map((iterations) => registry.resolveVersion(request(model, { iterations }))),
    );
    expect(others.map((result) => result.version.version).sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6]);
    expect(await registry.listVersions(model)).toHaveLength(6);
  });

  it('refuses a model hash recorded with other parameters, another task, and a malformed name', async () => {
    const model = modelName('mismatch');
    const first = request(model, { iterations: 10 });
    await registry.resolveVersion(first);
    await expectRefusal(
      registry.resolveVersion({ ...first, params: { iterations: 11 } }),
      'conflict',
      /model hash must cover the trainer parameters/,
    );
    await expectRefusal(
      registry.resolveVersion({ ...request(model, { iterations: 12 }), task: 'binary' }),
      'conflict',
      /registered for regression, not binary/,
    );
    await expectRefusal(
      registry.resolveVersion({ ...first, model: 'Steel Energy' }),
      'invalid-input',
      /model "Steel Energy" is not a model name: use the pipeline's kebab-case name/,
    );
    await expectRefusal(
      registry.resolveVersion({ ...first, specHash: '' }),
      'invalid-input',
      /specHash "" is not usable/,
    );
  });
});

describe('spec revisions', () => {
  it('find the version of the same model on the same data, and record the other fields as revisions', async () => {
    const model = modelName('revised');
    const first = request(model, { iterations: 10 });
    const made = await registry.resolveVersion(first);
    expect(made.created).toBe(true);
    expect(made.version.modelHash).toBe(first.modelHash);
    // Another description or monitoring, the same model fields: the same version.
    const edited = {
      ...first,
      specHash: sha256('the spec with a new description'),
      runId: uniqueName('run'),
    };
    const again = await registry.resolveVersion(edited);
    expect([again.created, again.version.version]).toEqual([false, made.version.version]);
    expect(await currentSpecHash(database.pool, model, 1)).toBe(first.specHash);

    const revise = (specHash: string, previousSpecHash: string) =>
      recordSpecRevision(database.pool, {
        model,
        version: 1,
        specHash,
        previousSpecHash,
        fields: ['description', 'monitoring'],
        actor: 'run:test',
        description: 'a new description',
      });
    const revision = await revise(edited.specHash, first.specHash);
    expect(revision).toMatchObject({
      revision: 1,
      specHash: edited.specHash,
      fields: ['description', 'monitoring'],
    });
    expect(await currentSpecHash(database.pool, model, 1)).toBe(edited.specHash);
    expect((await registry.getModel(model)).description).toBe('a new description');
    // A retried call, or one that lost a race, records nothing.
    expect(await revise(edited.specHash, first.specHash)).toBeUndefined();
    // Back to the first spec is a revision too, and the latest is current.
    expect(await revise(first.specHash, edited.specHash)).toMatchObject({ revision: 2 });
    expect(await currentSpecHash(database.pool, model, 1)).toBe(first.specHash);
    expect((await listSpecRevisions(database.pool, model, 1)).map((entry) => entry.revision)).toEqual([1, 2]);
    const audited = await registry.auditTrail(model);
    expect(audited.filter((entry) => entry.action === 'spec-revised')).toHaveLength(2);

    // Another model hash on the same data is a new version.
    const retrained = await registry.resolveVersion({
      ...first,
      modelHash: sha256('other features'),
      specHash: sha256('other features spec'),
    });
    expect([retrained.created, retrained.version.version]).toEqual([true, 2]);
  });
});

describe('recorded content is immutable', () => {
  it('records an evaluation once, accepts the same again, and refuses different values', async () => {
    const model = modelName('immutable');
    const { version } = await registry.resolveVersion(request(model, { iterations: 5 }));
    const recorded = await registry.recordEvaluation(model, 1, evaluation(1));
    expect(recorded.metrics).toEqual({ rmse: 1.1, mae: 0.8 });
    expect(recorded.artifacts).toEqual({ ...evaluation(1).artifacts, cardKey: null });
    expect(recorded.evaluatedAt).toBeInstanceOf(Date);

    const retried = await registry.recordEvaluation(model, 1, evaluation(1));
    expect(retried.evaluatedAt).toEqual(recorded.evaluatedAt);
    const withCard = await registry.recordEvaluation(model, 1, {
      ...evaluation(1),
      artifacts: { ...evaluation(1).artifacts, cardKey: 'models/v1/card.md' },
    });
    expect(withCard.artifacts.cardKey).toBe('models/v1/card.md');
    expect(await auditActions(model)).toEqual([
      'version-created',
      'evaluation-recorded',
      'evaluation-recorded',
    ]);

    await expectRefusal(
      registry.recordEvaluation(model, 1, { ...evaluation(1), metrics: { rmse: 0.5, mae: 0.8 } }),
      'conflict',
      /v1 already has other metrics recorded; a version's content never changes/,
    );
    await expectRefusal(
      registry.recordEvaluation(model, 1, {
        ...evaluation(1),
        artifacts: { onnxKey: 'elsewhere.onnx', manifestKey: 'models/v1/manifest.json' },
      }),
      'conflict',
      /other artifacts\.onnxKey recorded/,
    );
    await expectRefusal(
      registry.recordEvaluation(model, 1, { ...evaluation(1), metrics: { rmse: Number.NaN } }),
      'invalid-input',
      /metrics\.rmse is NaN: record finite numbers only/,
    );
    expect((await registry.getVersion(model, version.version)).metrics).toEqual({ rmse: 1.1, mae: 0.8 });
  });

  it('has the database refuse changed content, identity and deletes even from hand-written SQL', async () => {
    const model = modelName('trigger');
    await registry.resolveVersion(request(model, { iterations: 5 }));
    await registry.recordEvaluation(model, 1, evaluation(1));
    // The owner role: the application role may not even try a DELETE, and the triggers hold for the owner too.
    const pool = database.ownerPool;
    await expect(
      pool.query(`UPDATE registry.versions SET metrics = '{"rmse": 0.1}' WHERE model = $1`, [model]),
    ).rejects.toThrow(/already has its artifacts and evaluation recorded; they cannot change/);
    await expect(
      pool.query(`UPDATE registry.versions SET onnx_key = 'other.onnx' WHERE model = $1`, [model]),
    ).rejects.toThrow(/cannot change/);
    await expect(
      pool.query(`UPDATE registry.versions SET spec_hash = 'other' WHERE model = $1`, [model]),
    ).rejects.toThrow(/is immutable: its identity, spec, data, parameters and code cannot change/);
    await expect(
      pool.query(`UPDATE registry.versions SET model_hash = 'other' WHERE model = $1`, [model]),
    ).rejects.toThrow(/is immutable/);
    await expect(pool.query('DELETE FROM registry.versions WHERE model = $1', [model])).rejects.toThrow(
      /cannot be deleted/,
    );
    // What may still change: a missing card key, and the status.
    await pool.query(
      `UPDATE registry.versions SET card_key = 'card.md', status = 'failed' WHERE model = $1`,
      [model],
    );
    expect(await registry.getVersion(model, 1)).toMatchObject({
      status: 'failed',
      artifacts: { cardKey: 'card.md' },
    });
  });
});

describe('status transitions', () => {
  it('refuses moves the life of a version does not allow, saying what to do instead', async () => {
    const model = modelName('status');
    const { version } = await registry.resolveVersion(request(model, { iterations: 5 }));
    const change = { model, version: version.version, actor: 'run:t', reason: 'test' };
    await expectRefusal(
      registry.setStatus({ ...change, status: 'deployed' }),
      'invalid-transition',
      /is training and cannot become deployed: from training a version may only become candidate or rejected or failed/,
    );
    await expectRefusal(
      registry.setStatus({ ...change, status: 'candidate' }),
      'invalid-transition',
      /cannot become a candidate before its ONNX key, manifest key, metrics, gate verdicts are recorded/,
    );
    await registry.recordEvaluation(model, 1, evaluation(1));
    await registry.setStatus({ ...change, status: 'candidate' });
    await expectRefusal(
      registry.setStatus({ ...change, status: 'approved' }),
      'invalid-transition',
      /use recordApproval, which records who approved it/,
    );
    await registry.setStatus({ ...change, status: 'rejected', reason: 'approval deadline passed' });
    await expectRefusal(
      registry.setStatus({ ...change, status: 'candidate' }),
      'invalid-transition',
      /rejected is final/,
    );
    await expectRefusal(
      registry.setStatus({ ...change, status: 'approved', actor: ' ' }),
      'invalid-input',
      /actor is empty/,
    );

    const trail = await registry.auditTrail(model);
    expect(trail.filter((entry) => entry.action === 'status-changed').map((entry) => entry.details)).toEqual([
      { from: 'training', to: 'candidate', reason: 'test' },
      { from: 'candidate', to: 'rejected', reason: 'approval deadline passed' },
    ]);
  });

  it('lets a failed version train again, and a retried status change is a no-op', async () => {
    const model = modelName('retry');
    await registry.resolveVersion(request(model, { iterations: 5 }));
    const change = { model, version: 1, actor: 'run:t', reason: 'trainer crashed' };
    await registry.setStatus({ ...change, status: 'failed' });
    await registry.setStatus({ ...change, status: 'failed' });
    await registry.setStatus({ ...change, status: 'training', reason: 'second run' });
    expect(await statusOf(model, 1)).toBe('training');
    expect((await auditActions(model)).filter((action) => action === 'status-changed')).toHaveLength(2);
  });

  it('enforces in the database exactly the transitions the code allows', async () => {
    const model = modelName('table');
    await registry.resolveVersion(request(model, { iterations: 1 }));
    const client = await database.pool.connect();
    const disagreements: string[] = [];
    try {
      await client.query('BEGIN');
      let next = 100;
      for (const from of VERSION_STATUSES) {
        for (const to of VERSION_STATUSES) {
          if (from === to) continue;
          const version = next++;
          await client.query('SAVEPOINT pair');
          let accepted = true;
          try {
            await client.query(
              `INSERT INTO registry.versions (model, version, spec_hash, model_hash, snapshot_hash, run_id, code_version,
                 status, onnx_key, manifest_key, metrics, gate_verdicts)
               VALUES ($1, $2, $3, $3, 'snap', 'run', 'code', $4, 'm.onnx', 'm.json', '{}', '[]')`,
              [model, version, `spec-${version}`, from],
            );
            await client.query('UPDATE registry.versions SET status = $3 WHERE model = $1 AND version = $2', [
              model,
              version,
              to,
            ]);
          } catch {
            accepted = false;
          }
          await client.query('ROLLBACK TO SAVEPOINT pair');
          if (accepted !== VERSION_TRANSITIONS[from].includes(to)) {
            disagreements.push(`${from} -> ${to}: database ${accepted ? 'accepts' : 'refuses'}`);
          }
        }
      }
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
    expect(disagreements).toEqual([]);
  });
});

describe('approvals', () => {
  it('records one decision per version; the same again is a no-op and another is refused', async () => {
    const model = modelName('approval');
    const version = await versionAt(model, 5, 'candidate');
    const decision = {
      model,
      version,
      decision: 'approved' as const,
      approver: 'shop-manager',
      comment: 'fine',
    };
    const first = await registry.recordApproval(decision);
    expect(first).toMatchObject({ recorded: true, version: { status: 'approved' } });
    expect(first.approval).toMatchObject({ decision: 'approved', approver: 'shop-manager', comment: 'fine' });

    expect((await registry.recordApproval(decision)).recorded).toBe(false);
    await expectRefusal(
      registry.recordApproval({ ...decision, decision: 'rejected' }),
      'conflict',
      /was already approved by shop-manager at .*: a version gets one decision/,
    );
    await expectRefusal(
      registry.recordApproval({ ...decision, approver: 'energy-engineer' }),
      'conflict',
      /one decision/,
    );
    const approvals = await database.pool.query('SELECT * FROM registry.approvals WHERE model = $1', [model]);
    expect(approvals.rowCount).toBe(1);
    const entry = (await registry.auditTrail(model)).find((row) => row.action === 'approval-recorded');
    expect(entry).toMatchObject({
      actor: 'shop-manager',
      version,
      details: { decision: 'approved', to: 'approved' },
    });
  });

  it('lets exactly one of two concurrent decisions win, and refuses deciding on a version that is not a candidate', async () => {
    const model = modelName('race');
    const version = await versionAt(model, 5, 'candidate');
    const outcomes = await Promise.allSettled([
      registry.recordApproval({ model, version, decision: 'approved', approver: 'anna' }),
      registry.recordApproval({ model, version, decision: 'rejected', approver: 'ben' }),
    ]);
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
    const decided = await registry.getApproval(model, version);
    expect(await statusOf(model, version)).toBe(decided?.decision);

    const { version: training } = await registry.resolveVersion(request(model, { iterations: 6 }));
    await expectRefusal(
      registry.recordApproval({ model, version: training.version, decision: 'approved', approver: 'anna' }),
      'invalid-transition',
      /is training, not a candidate/,
    );
  });
});

describe('aliases, history, rollback and notifications', () => {
  let listener: pg.Client;
  const changes: AliasChange[] = [];

  beforeAll(async () => {
    listener = new pg.Client({ connectionString: database.url });
    await listener.connect();
    await listenForAliasChanges(listener, (change) => changes.push(change));
  });

  afterAll(async () => {
    await listener.end();
  });

  /** Waits until the listener has heard `count` changes of `model`, and returns them. */
  async function heard(model: string, count: number): Promise<AliasChange[]> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const mine = changes.filter((change) => change.model === model);
      if (mine.length >= count || Date.now() > deadline) return mine;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it('deploys only approved versions, moves production with history and NOTIFY, and rolls back', async () => {
    const model = modelName('deploy');
    const v1 = await versionAt(model, 1, 'approved');
    const v2 = await versionAt(model, 2, 'candidate');
    const move = { model, alias: 'production' as const, actor: 'shop-manager', reason: 'approved' };

    await expectRefusal(
      registry.moveAlias({ ...move, version: v2 }),
      'invalid-transition',
      /v2 is candidate: only an approved version can be production; approve it first/,
    );
    await registry.moveAlias({ ...move, version: v1 });
    await registry.recordApproval({ model, version: v2, decision: 'approved', approver: 'shop-manager' });
    const moved = await registry.moveAlias({ ...move, version: v2 });
    expect(moved).toMatchObject({
      previousVersion: v1,
      changed: true,
      alias: { version: v2, trafficShare: null },
    });
    expect((await registry.moveAlias({ ...move, version: v2 })).changed).toBe(false);
    expect([await statusOf(model, v1), await statusOf(model, v2)]).toEqual(['retired', 'deployed']);

    const rolledBack = await registry.rollback({
      model,
      actor: 'operator',
      reason: 'scrap predictions too low',
    });
    expect(rolledBack).toMatchObject({ previousVersion: v2, alias: { version: v1, updatedBy: 'operator' } });
    expect((await registry.getAlias(model, 'production'))?.version).toBe(v1);
    expect([await statusOf(model, v1), await statusOf(model, v2)]).toEqual(['deployed', 'retired']);
    await expectRefusal(
      registry.rollback({ model, actor: 'operator', reason: 'again' }),
      'not-found',
      /no earlier production version than v1/,
    );

    const history = await registry.aliasHistory(model, 'production');
    expect(history.map((entry) => [entry.kind, entry.version, entry.previousVersion])).toEqual([
      ['move', v1, null],
      ['move', v2, v1],
      ['rollback', v1, v2],
    ]);
    const notified = await heard(model, 3);
    expect(notified.map((change) => [change.alias, change.version, change.previousVersion])).toEqual([
      ['production', v1, null],
      ['production', v2, v1],
      ['production', v1, v2],
    ]);
    expect(notified[2]?.updatedBy).toBe('operator');
    const actions = await auditActions(model);
    expect(actions.filter((action) => action === 'alias-moved')).toHaveLength(2);
    expect(actions.slice(-3)).toEqual(['production-rolled-back', 'status-changed', 'status-changed']);
  });

  it('walks rollbacks back through the production history instead of bouncing', async () => {
    const model = modelName('stack');
    const versions = [await versionAt(model, 1, 'approved'), await versionAt(model, 2, 'approved')];
    versions.push(await versionAt(model, 3, 'approved'));
    for (const version of versions) {
      await registry.moveAlias({ model, alias: 'production', version, actor: 'a', reason: 'deploy' });
    }
    const rollback = { model, actor: 'a', reason: 'bad' };
    expect((await registry.rollback(rollback)).alias.version).toBe(2);
    expect((await registry.rollback(rollback)).alias.version).toBe(1);
    await expectRefusal(registry.rollback(rollback), 'not-found', /no earlier production version/);
    await expectRefusal(
      registry.rollback({ ...rollback, model: modelName('never') }),
      'not-found',
      /is not in the registry/,
    );
  });

  it('runs a canary with a traffic share and promotes it, removing the canary alias', async () => {
    const model = modelName('canary');
    const champion = await versionAt(model, 1, 'approved');
    const challenger = await versionAt(model, 2, 'approved');
    const base = { model, actor: 'shop-manager', reason: 'try it on 10 %' };
    await registry.moveAlias({ ...base, alias: 'production', version: champion });
    await expectRefusal(
      registry.moveAlias({ ...base, alias: 'canary', version: challenger }),
      'invalid-input',
      /trafficShare undefined for a canary must be a number between 0 and 1/,
    );
    await expectRefusal(
      registry.moveAlias({ ...base, alias: 'canary', version: challenger, trafficShare: 1 }),
      'invalid-input',
      /between 0 and 1/,
    );
    await expectRefusal(
      registry.moveAlias({ ...base, alias: 'shadow', version: champion }),
      'invalid-input',
      /is already production: a shadow must be another version/,
    );
    await expectRefusal(
      registry.moveAlias({ ...base, alias: 'production', version: challenger, trafficShare: 0.5 }),
      'invalid-input',
      /trafficShare is only for a canary/,
    );
    await registry.moveAlias({ ...base, alias: 'canary', version: challenger, trafficShare: 0.1 });
    expect(await registry.getAlias(model, 'canary')).toMatchObject({
      version: challenger,
      trafficShare: 0.1,
    });
    expect(await statusOf(model, challenger)).toBe('deployed');

    await registry.moveAlias({ ...base, alias: 'production', version: challenger, reason: 'canary held up' });
    expect((await registry.listAliases(model)).map((alias) => [alias.alias, alias.version])).toEqual([
      ['production', challenger],
    ]);
    expect([await statusOf(model, champion), await statusOf(model, challenger)]).toEqual([
      'retired',
      'deployed',
    ]);
    const notified = await heard(model, 4);
    expect(notified.map((change) => [change.alias, change.version, change.trafficShare])).toEqual([
      ['production', champion, null],
      ['canary', challenger, 0.1],
      ['canary', null, null],
      ['production', challenger, null],
    ]);
    await expectRefusal(
      registry.removeAlias({ ...base, alias: 'production' as 'canary' }),
      'invalid-input',
      /production cannot be removed/,
    );
    expect(await registry.removeAlias({ ...base, alias: 'shadow' })).toEqual({ removedVersion: null });
  });
});

describe('the audit log', () => {
  it('holds every decision of a version, in order, and takes entries from other parts of Kerf', async () => {
    const model = modelName('audit');
    const version = await versionAt(model, 1, 'approved');
    await registry.moveAlias({ model, alias: 'production', version, actor: 'shop-manager', reason: 'go' });
    const taught = await registry.appendAudit({
      actor: 'operator',
      action: 'category-mapping-taught',
      model,
      version,
      details: { column: 'material', unseen: 'S355MC', mappedTo: 'S355JR' },
    });
    expect(taught.id).toBeGreaterThan(0);
    const trail = await registry.auditTrail(model);
    expect(trail.map((entry) => [entry.action, entry.actor])).toEqual([
      ['version-created', expect.stringMatching(/^run:/)],
      ['evaluation-recorded', expect.stringMatching(/^run:/)],
      ['status-changed', 'run:t'],
      ['approval-recorded', 'shop-manager'],
      ['alias-moved', 'shop-manager'],
      ['status-changed', 'shop-manager'],
      ['category-mapping-taught', 'operator'],
    ]);
    expect(trail.at(-1)?.details).toEqual({ column: 'material', unseen: 'S355MC', mappedTo: 'S355JR' });
    expect(
      (await registry.auditTrail(model, { afterId: trail[4]?.id })).map((entry) => entry.action),
    ).toEqual(['status-changed', 'category-mapping-taught']);
    await expectRefusal(
      registry.appendAudit({ actor: 'operator', action: 'Taught Mapping' }),
      'invalid-input',
      /is not an audit action: use kebab-case words/,
    );
  });

  it('refuses UPDATE, DELETE and TRUNCATE', async () => {
    const model = modelName('append');
    await registry.resolveVersion(request(model, { iterations: 1 }));
    // The owner role: the application role is refused before the triggers (test/security/privileges.test.ts).
    const pool = database.ownerPool;
    await expect(
      pool.query(`UPDATE registry.audit_log SET actor = 'mallory' WHERE model = $1`, [model]),
    ).rejects.toThrow(/registry\.audit_log is append-only: UPDATE is refused/);
    await expect(pool.query('DELETE FROM registry.audit_log WHERE model = $1', [model])).rejects.toThrow(
      /append-only: DELETE is refused/,
    );
    await expect(pool.query('TRUNCATE registry.audit_log CASCADE')).rejects.toThrow(
      /append-only: TRUNCATE is refused/,
    );
    expect(await auditActions(model)).toEqual(['version-created']);
  });
});

describe('signing keys', () => {
  it('trusts the public half of an Ed25519 key once, under the id manifests name it by', async () => {
    // Only the owner role writes the trust table (kerf keys); the application role only reads it.
    const keyAdmin = new ModelRegistry(database.ownerPool);
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const keyId = keyIdOf(pem);
    const first = await keyAdmin.trustSigningKey({ publicKey: pem, name: 'press worker', actor: 'admin' });
    expect(first).toMatchObject({
      trusted: true,
      key: { keyId, publicKeyPem: pem, name: 'press worker', trustedBy: 'admin', revokedAt: null },
    });
    expect(
      (await keyAdmin.trustSigningKey({ publicKey, name: 'press worker', actor: 'admin' })).trusted,
    ).toBe(false);
    expect((await registry.getSigningKey(keyId)).publicKeyPem).toBe(pem);

    await expectRefusal(
      keyAdmin.trustSigningKey({ publicKey: privateKey, name: 'private', actor: 'admin' }),
      'invalid-input',
      /is a private key: give the public half only/,
    );
    await expectRefusal(
      keyAdmin.trustSigningKey({
        publicKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        name: 'private',
        actor: 'admin',
      }),
      'invalid-input',
      /is a private key: give the public half only/,
    );
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    await expectRefusal(
      keyAdmin.trustSigningKey({ publicKey: rsa, name: 'rsa', actor: 'admin' }),
      'invalid-input',
      /is a rsa key; manifests are signed with Ed25519/,
    );
    await expectRefusal(
      keyAdmin.trustSigningKey({ publicKey: pem, name: ' ', actor: 'admin' }),
      'invalid-input',
      /name is empty/,
    );
    await expectRefusal(registry.getSigningKey('0123456789abcdef'), 'not-found', /is not trusted/);
    const audited = await database.ownerPool.query(
      `SELECT actor FROM registry.audit_log WHERE action = 'signing-key-trusted' AND details->>'keyId' = $1`,
      [keyId],
    );
    expect(audited.rows).toEqual([{ actor: 'admin' }]);
  });

  it('revokes a key for good: no longer listed for verification, never trusted again', async () => {
    // Only the owner role writes the trust table (kerf keys); the application role only reads it.
    const keyAdmin = new ModelRegistry(database.ownerPool);
    const { publicKey } = generateKeyPairSync('ed25519');
    const { key } = await keyAdmin.trustSigningKey({ publicKey, name: 'old key', actor: 'admin' });
    expect((await registry.listSigningKeys()).map((listed) => listed.keyId)).toContain(key.keyId);
    const revoked = await keyAdmin.revokeSigningKey({
      keyId: key.keyId,
      actor: 'admin',
      reason: 'laptop lost',
    });
    expect(revoked).toMatchObject({
      revoked: true,
      key: { revokedBy: 'admin', revokeReason: 'laptop lost' },
    });
    expect((await keyAdmin.revokeSigningKey({ keyId: key.keyId, actor: 'admin' })).revoked).toBe(false);
    expect((await registry.listSigningKeys()).map((listed) => listed.keyId)).not.toContain(key.keyId);
    await expectRefusal(
      keyAdmin.trustSigningKey({ publicKey, name: 'old key again', actor: 'admin' }),
      'conflict',
      /was revoked by admin .* and is never trusted again/,
    );
    await expectRefusal(
      keyAdmin.revokeSigningKey({ keyId: 'fedcba9876543210', actor: 'admin' }),
      'not-found',
      /is not trusted/,
    );
    await expect(
      database.ownerPool.query(
        'UPDATE registry.trusted_signing_keys SET revoked_at = NULL, revoked_by = NULL WHERE key_id = $1',
        [key.keyId],
      ),
    ).rejects.toThrow(/was revoked and stays revoked/);
    await expect(
      database.ownerPool.query('DELETE FROM registry.trusted_signing_keys WHERE key_id = $1', [key.keyId]),
    ).rejects.toThrow(/DELETE is refused/);
  });
});
