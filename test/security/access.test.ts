/**
 * The API path and people management: service tokens with scopes (no token, wrong, revoked, wrong
 * scope), and the admin-only user commands and the CLI's credentials file. Each refusal is exact and
 * changes no registry, serving, shop or access row.
 */
import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addServiceToken, authenticateKey, revokeServiceToken } from '../../access';
import { applyMigrations } from '../../platform/migrations';
import { migrationsDir } from '../../platform/paths';
import { ObjectStore } from '../../platform/objectStore';
import { buildServingApp, type ServingApp } from '../../serving/app';
import { createOwnDatabase, type OwnDatabase, runKerf, testConfig } from '../helpers';
import { addTestPeople } from '../lifecycleTestbed';
import { auditRowsAfter, lastAuditId, tablesSnapshot } from './tablesSnapshot';

const CONFIGURED = 'the-configured-serving-token-0123456789';
let db: OwnDatabase;
let keys: Record<string, string>;
let serving: ServingApp;
let store: ObjectStore;
let scratch: string;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  db = await createOwnDatabase('access_security');
  await applyMigrations(db.pool, migrationsDir);
  keys = await addTestPeople(db.pool);
  const admin = await authenticateKey(db.pool, keys['kerf-admin']);
  tokens.predict = (await addServiceToken(db.pool, { name: 'quoting', scopes: ['predict'] }, admin)).text;
  tokens.read = (await addServiceToken(db.pool, { name: 'dashboard', scopes: ['read'] }, admin)).text;
  tokens.revoked = (await addServiceToken(db.pool, { name: 'old-mes', scopes: ['admin'] }, admin)).text;
  await revokeServiceToken(db.pool, 'old-mes', admin);
  store = ObjectStore.fromConfig(testConfig().s3);
  serving = buildServingApp({ pool: db.pool, objectStore: store, token: CONFIGURED });
  await serving.models.ready();
  scratch = await mkdtemp(path.join(os.tmpdir(), 'kerf-access-'));
});

afterAll(async () => {
  await serving.close();
  store.destroy();
  await db.drop();
  await rm(scratch, { recursive: true, force: true });
});

const predict = {
  method: 'POST' as const,
  url: '/v1/models/cut-time/predict',
  payload: { row: { quantity: 1 } },
};
const outcomes = {
  method: 'POST' as const,
  url: '/v1/outcomes',
  payload: { outcomes: [{ predictionId: 'x', actual: 1 }] },
};

async function expectApiRefusal(
  request: { method: 'POST' | 'GET'; url: string; payload?: object },
  authorization: string | undefined,
  status: number,
  body: { error: string; message: RegExp },
): Promise<void> {
  const before = await tablesSnapshot(db.pool);
  const auditId = await lastAuditId(db.pool);
  const answer = await serving.app.inject({
    ...request,
    headers: authorization === undefined ? {} : { authorization },
  });
  expect(answer.statusCode).toBe(status);
  expect(answer.json()).toEqual({
    error: body.error,
    message: expect.stringMatching(body.message) as string,
  });
  expect(await tablesSnapshot(db.pool)).toEqual(before);
  expect(await auditRowsAfter(db.pool, auditId)).toEqual([]);
}

describe('API tokens', () => {
  it('refuses a request without a token', async () => {
    await expectApiRefusal(predict, undefined, 401, { error: 'unauthorized', message: /^No bearer token/ });
  });
  it('refuses a wrong token', async () => {
    await expectApiRefusal(predict, 'Bearer not-the-token-at-all-0123', 401, {
      error: 'unauthorized',
      message: /^The bearer token is not accepted/,
    });
  });
  it('refuses a service token with a forged secret', async () => {
    const forged = `${(tokens.predict ?? '').slice(0, 14)}${'a'.repeat(52)}`;
    await expectApiRefusal(predict, `Bearer ${forged}`, 401, {
      error: 'unauthorized',
      message: /^The bearer token is not accepted/,
    });
  });
  it('refuses a revoked token', async () => {
    await expectApiRefusal(predict, `Bearer ${tokens.revoked ?? ''}`, 401, {
      error: 'unauthorized',
      message: /^The token old-mes was revoked/,
    });
  });
  it('refuses a predict token on outcomes', async () => {
    await expectApiRefusal(outcomes, `Bearer ${tokens.predict ?? ''}`, 403, {
      error: 'forbidden',
      message: /^The token quoting has the scopes predict; POST \/v1\/outcomes needs outcomes/,
    });
  });
  it('refuses a read token on predict', async () => {
    await expectApiRefusal(predict, `Bearer ${tokens.read ?? ''}`, 403, {
      error: 'forbidden',
      message: /^The token dashboard has the scopes read; POST \/v1\/models\/:name\/predict needs predict/,
    });
  });
  it('lets a predict token predict and a read token read (past authentication)', async () => {
    const predicted = await serving.app.inject({
      ...predict,
      headers: { authorization: `Bearer ${tokens.predict ?? ''}` },
    });
    expect(predicted.statusCode).not.toBe(401);
    expect(predicted.statusCode).not.toBe(403);
    const read = await serving.app.inject({
      method: 'GET',
      url: '/v1/models',
      headers: { authorization: `Bearer ${tokens.read ?? ''}` },
    });
    expect(read.statusCode).toBe(200);
    const configured = await serving.app.inject({
      method: 'GET',
      url: '/v1/models',
      headers: { authorization: `Bearer ${CONFIGURED}` },
    });
    expect(configured.statusCode).toBe(200);
    // Each token's use is noted after the answer, off the request's path: wait for both notes here,
    // so they land in this test and not in the next one's before-and-after.
    await expect
      .poll(
        async () =>
          (
            await db.pool.query<{ noted: number }>(
              `SELECT count(*)::int AS noted FROM access.service_tokens
                WHERE name IN ('quoting', 'dashboard') AND last_used_at IS NOT NULL`,
            )
          ).rows[0]?.noted,
        { timeout: 10_000 },
      )
      .toBe(2);
  });
});

describe('people management', () => {
  const asKerf = (args: string[], env: Record<string, string>) =>
    runKerf(args, { DATABASE_URL: db.url, KERF_CREDENTIALS_FILE: path.join(scratch, 'none'), ...env });

  it('refuses kerf users add by a non-admin, and a second bootstrap', async () => {
    const before = await tablesSnapshot(db.pool);
    const byApprover = await asKerf(['users', 'add', 'mallory', '--role', 'admin'], {
      KERF_KEY: keys['production-planner'] ?? '',
    });
    expect(byApprover.code).toBe(1);
    expect(byApprover.stderr.trim()).toBe(
      'kerf: user production-planner is not an admin: ask an admin to do this',
    );
    const anonymous = await asKerf(['users', 'add', 'mallory', '--role', 'admin'], { KERF_KEY: '' });
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr.trim()).toMatch(/^kerf: not logged in: run `kerf login`/);
    const after = await tablesSnapshot(db.pool);
    // Only the approver's key's last use is noted.
    expect({ ...after, 'access.user_keys': '' }).toEqual({ ...before, 'access.user_keys': '' });
  });
  it('refuses a credentials file others may read, and keeps a login file at 0600', async () => {
    const loose = path.join(scratch, 'loose');
    await writeFile(loose, `${keys['production-planner'] ?? ''}\n`);
    await chmod(loose, 0o644);
    const refused = await asKerf(['whoami'], { KERF_KEY: '', KERF_CREDENTIALS_FILE: loose });
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim()).toBe(
      `kerf: the credentials file ${loose} may be read by others (mode 644): run \`chmod 600 ${loose}\``,
    );
    const kept = path.join(scratch, 'kept', 'credentials');
    const login = await asKerf(['login'], {
      KERF_KEY: keys['production-planner'] ?? '',
      KERF_CREDENTIALS_FILE: kept,
    });
    expect(login.stdout).toMatch(/^Logged in as production-planner/);
    expect((await stat(kept)).mode & 0o777).toBe(0o600);
    const whoami = await asKerf(['whoami'], { KERF_KEY: '', KERF_CREDENTIALS_FILE: kept });
    expect(whoami.stdout).toMatch(/^production-planner: roles approver, operator/);
  });
  it('refuses a forged key and a disabled user’s key', async () => {
    const forged = `${(keys.intern ?? '').slice(0, 14)}${'a'.repeat(52)}`;
    const wrong = await asKerf(['whoami'], { KERF_KEY: forged });
    expect(wrong.stderr.trim()).toBe(
      'kerf: the key was not accepted (unknown, wrong, revoked, or its user is disabled): ask an admin for a new one',
    );
    const disabled = await asKerf(['users', 'disable', 'intern'], { KERF_KEY: keys['kerf-admin'] ?? '' });
    expect(disabled.stdout.trim()).toBe('Disabled intern.');
    const after = await asKerf(['whoami'], { KERF_KEY: keys.intern ?? '' });
    expect(after.stderr.trim()).toMatch(/^kerf: the key was not accepted/);
  });
});
