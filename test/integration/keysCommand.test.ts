/**
 * `kerf keys trust|list|revoke` as a person runs them, a worker refusing an untrusted key in one
 * line, and the embedded stack's first start trusting its development key as an explicit admin step.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateSigningKey } from '../../lifecycle/signing';
import { listAllSigningKeys, revokeSigningKey, signingKeyTrust } from '../../registry';
import { trustDevelopmentKeyOnFirstStart } from '../../scripts/cli/keysCommand';
import { createOwnDatabase, type OwnDatabase, runKerf, testConfig } from '../helpers';

let db: OwnDatabase;
let keyDir: string;

beforeAll(async () => {
  db = await createOwnDatabase('keys_cli');
  keyDir = await mkdtemp(path.join(os.tmpdir(), 'kerf-keys-cli-'));
});

afterAll(async () => {
  await db.drop();
  await rm(keyDir, { recursive: true, force: true });
});

describe('kerf keys', () => {
  it('trusts, lists and revokes a key, each audited with the operating-system user', async () => {
    const key = await loadOrCreateSigningKey({ keyFile: path.join(keyDir, 'press-2.pem') });
    // The database's URLs: `kerf keys` writes the trust root on the owner role's connection.
    const env = db.env;
    const user = `os-user:${os.userInfo().username}`;

    const trusted = await runKerf(
      ['keys', 'trust', `${key.keyFile}.pub`, '--name', 'worker on press-2'],
      env,
    );
    expect(trusted).toMatchObject({
      code: 0,
      stdout: `Trusted signing key ${key.keyId} (worker on press-2).\n`,
    });
    const again = await runKerf(['keys', 'trust', `${key.keyFile}.pub`, '--name', 'worker on press-2'], env);
    expect(again.stdout).toBe(`Signing key ${key.keyId} was already trusted.\n`);

    const listed = await runKerf(['keys', 'list'], env);
    expect(listed.stdout).toMatch(
      new RegExp(`^${key.keyId} {2}trusted {2}worker on press-2 {2}\\(trusted by ${user} at \\S+\\)\\n$`),
    );

    const revoked = await runKerf(['keys', 'revoke', key.keyId, '--reason', 'press sold'], env);
    expect(revoked).toMatchObject({
      code: 0,
      stdout: `Revoked signing key ${key.keyId} (worker on press-2).\n`,
    });
    expect((await runKerf(['keys', 'list'], env)).stdout).toContain(`REVOKED by ${user} at`);

    const refused = await runKerf(['keys', 'trust', `${key.keyFile}.pub`, '--name', 'again'], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      new RegExp(`^kerf: Signing key ${key.keyId} was revoked by ${user} at \\S+ and is never trusted again`),
    );
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);

    const { rows } = await db.pool.query<{ action: string; actor: string }>(
      `SELECT action, actor FROM registry.audit_log WHERE details->>'keyId' = $1 ORDER BY id`,
      [key.keyId],
    );
    expect(rows).toEqual([
      { action: 'signing-key-trusted', actor: user },
      { action: 'signing-key-revoked', actor: user },
    ]);
  });

  it('refuses an unreadable file in one line', async () => {
    const missing = path.join(keyDir, 'nope.pub');
    const result = await runKerf(['keys', 'trust', missing, '--name', 'x'], db.env);
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe(
      `kerf: cannot read the public key file ${missing} (ENOENT): check the path`,
    );
  });
});

describe('kerf worker with a key no admin trusted', () => {
  it('exits 1 with one line naming the command to run', async () => {
    const keyFile = path.join(keyDir, 'untrusted.pem');
    const key = await loadOrCreateSigningKey({ keyFile });
    const result = await runKerf(['worker'], {
      ...db.env,
      KERF_SIGNING_KEY_FILE: keyFile,
      TEMPORAL_TASK_QUEUE: `keys-cli-${key.keyId}`,
    });
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe(
      `kerf: The worker's manifest signing key ${key.keyId} is not trusted, so the worker does not start: an admin runs \`kerf keys trust ${keyFile}.pub --name "worker on ${os.hostname()}"\`.`,
    );
  });
});

describe("the embedded stack's first start", () => {
  it('trusts the development key once, saying so; never again after any key was trusted', async () => {
    const first = await createOwnDatabase('keys_first_start');
    try {
      const keyFile = path.join(keyDir, 'dev.pem');
      // The embedded stack's configuration (no DATABASE_URL), handed the fresh database's owner pool
      // (as `kerf start` hands it `keysPool`: the application role may only read trusted keys).
      const config = testConfig({ KERF_SIGNING_KEY_FILE: keyFile, DATABASE_URL: '', KERF_SIGNING_KEY: '' });
      expect(config.postgres.embedded).toBe(true);
      const lines: string[] = [];
      await trustDevelopmentKeyOnFirstStart(config, first.ownerPool, (line) => lines.push(line));
      const key = await loadOrCreateSigningKey({ keyFile });
      expect(lines).toEqual([
        `First start: trusted the development signing key ${key.keyId} (${keyFile}.pub); \`kerf keys list\` shows it, \`kerf keys revoke ${key.keyId}\` withdraws it.`,
      ]);
      expect(await signingKeyTrust(first.pool, key.keyId)).toBe('trusted');
      expect((await listAllSigningKeys(first.pool))[0]?.trustedBy).toBe(
        'kerf start (embedded stack, first start)',
      );

      // Revoked, then started again: the start command does not trust it (or any new key) again.
      await revokeSigningKey(first.ownerPool, { keyId: key.keyId, actor: 'admin' });
      await trustDevelopmentKeyOnFirstStart(config, first.ownerPool, (line) => lines.push(line));
      expect(lines).toHaveLength(1);
      expect(await signingKeyTrust(first.pool, key.keyId)).toBe('revoked');
    } finally {
      await first.drop();
    }
  });
});
