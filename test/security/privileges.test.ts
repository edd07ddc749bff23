/**
 * The application role (workers, serving, the CLI) can do only what the code needs: no superuser,
 * no DDL, no roles, and on the audit log INSERT and SELECT only, so it cannot rewrite history nor
 * switch off the triggers that guard it. Each case asserts PostgreSQL's refusal and that nothing
 * changed.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAudit } from '../../registry';
import { createOwnDatabase, type OwnDatabase, runKerf } from '../helpers';
import { fingerprint } from './unchanged';

let db: OwnDatabase;
let app: pg.Client;

beforeAll(async () => {
  db = await createOwnDatabase('sec_privileges');
  await appendAudit(db.pool, { actor: 'planner', action: 'approval-recorded', details: { note: 'kept' } });
  app = new pg.Client({ connectionString: db.url });
  await app.connect();
});

afterAll(async () => {
  await app.end();
  await db.drop();
});

/** Asserts that `sql`, run as the application role, is refused with `message` and changes nothing. */
async function refused(sql: string, message: string, code = '42501'): Promise<void> {
  const before = await fingerprint(db.adminUrl);
  const error = await app.query(sql).then(
    () => undefined,
    (failure: unknown) => failure as pg.DatabaseError,
  );
  expect(error, `${sql} should have been refused`).toBeInstanceOf(pg.DatabaseError);
  expect({ code: error?.code, message: error?.message }).toEqual({ code, message });
  expect(await fingerprint(db.adminUrl)).toEqual(before);
}

describe('the application role', () => {
  it('is not a superuser and may not make itself one', async () => {
    const { rows } = await app.query<{ superuser: boolean; createdb: boolean; createrole: boolean }>(
      `SELECT rolsuper AS superuser, rolcreatedb AS createdb, rolcreaterole AS createrole
         FROM pg_roles WHERE rolname = current_user`,
    );
    expect(rows).toEqual([{ superuser: false, createdb: false, createrole: false }]);
    await refused('ALTER ROLE CURRENT_USER SUPERUSER', 'permission denied to alter role');
  });

  it('cannot create a role or a database', async () => {
    await refused('CREATE ROLE mallory SUPERUSER LOGIN', 'permission denied to create role');
    await refused('CREATE DATABASE mallory', 'permission denied to create database');
  });

  it('cannot CREATE TABLE in public or in Kerf schemas', async () => {
    await refused('CREATE TABLE public.mallory (id int)', 'permission denied for schema public');
    await refused('CREATE TABLE registry.mallory (id int)', 'permission denied for schema registry');
  });

  it('cannot UPDATE the audit log', async () => {
    await refused("UPDATE registry.audit_log SET actor = 'mallory'", 'permission denied for table audit_log');
  });

  it('cannot DELETE from the audit log', async () => {
    await refused('DELETE FROM registry.audit_log', 'permission denied for table audit_log');
  });

  it('cannot TRUNCATE the audit log', async () => {
    await refused('TRUNCATE registry.audit_log CASCADE', 'permission denied for table audit_log');
  });

  it('cannot ALTER TABLE ... DISABLE TRIGGER on the audit log', async () => {
    await refused(
      'ALTER TABLE registry.audit_log DISABLE TRIGGER audit_log_append_only',
      'must be owner of table audit_log',
    );
    await refused('ALTER TABLE registry.audit_log DISABLE TRIGGER ALL', 'must be owner of table audit_log');
  });

  it("cannot move the audit chain's head", async () => {
    await refused(
      "UPDATE registry.audit_chain_head SET last_hash = 'forged'",
      'permission denied for table audit_chain_head',
    );
  });

  it('cannot take the owner role', async () => {
    await refused('SET ROLE kerf_owner', 'permission denied to set role "kerf_owner"');
  });

  it('cannot read server files or run programs', async () => {
    await refused("SELECT pg_read_file('/etc/hostname')", 'permission denied for function pg_read_file');
    await refused(
      "COPY registry.audit_log TO PROGRAM 'true'",
      'permission denied to COPY to or from an external program',
    );
  });
});

describe('the spec reader role', () => {
  it("cannot read Kerf's own schemas", async () => {
    const reader = new pg.Client({ connectionString: db.readerUrl });
    await reader.connect();
    try {
      for (const schema of ['registry', 'serving', 'monitoring']) {
        const error = await reader
          .query(
            `SELECT count(*) FROM ${schema}.${schema === 'registry' ? 'audit_log' : schema === 'serving' ? 'predictions' : 'reports'}`,
          )
          .then(
            () => undefined,
            (failure: unknown) => failure as pg.DatabaseError,
          );
        expect({ code: error?.code, message: error?.message }).toEqual({
          code: '42501',
          message: `permission denied for schema ${schema}`,
        });
      }
      const bookkeeping = await reader.query('SELECT * FROM public.kerf_migrations').then(
        () => undefined,
        (failure: unknown) => failure as pg.DatabaseError,
      );
      expect(bookkeeping?.message).toBe('permission denied for table kerf_migrations');
    } finally {
      await reader.end();
    }
  });
});

describe('kerf doctor', () => {
  it('passes the roles Kerf sets up, and warns (exit 1 with --strict) about a superuser runtime role', async () => {
    const good = await runKerf(['doctor', '--strict'], db.env);
    expect({ code: good.code, stdout: good.stdout }).toEqual({
      code: 0,
      stdout: 'ok: the runtime and spec reader roles hold only what Kerf needs\n',
    });
    const before = await fingerprint(db.adminUrl);
    const bad = await runKerf(['doctor', '--strict'], {
      ...db.env,
      DATABASE_URL: db.adminUrl,
      KERF_READER_DATABASE_URL: db.adminUrl,
    });
    expect(await fingerprint(db.adminUrl)).toEqual(before);
    expect(bad.code).toBe(1);
    const lines = bad.stdout.split('\n');
    expect(lines.slice(0, 4)).toEqual([
      'WARNING: the runtime role kerf is a superuser',
      'WARNING: the runtime role kerf may create roles (CREATEROLE)',
      'WARNING: the runtime role kerf may create databases (CREATEDB)',
      "WARNING: the spec reader role can read Kerf's own schemas (access, monitoring, registry, serving)",
    ]);
  });
});
