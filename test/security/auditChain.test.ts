/**
 * The audit log's hash chain: rows written concurrently chain in id order, hashes an insert tries
 * to forge are replaced, and an edit or a removal made as the owner role (with the append-only
 * trigger switched off, as only the owner can) is found by `kerf audit verify`, which names the
 * first row that no longer matches.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAudit, verifyAuditChain } from '../../registry';
import { inTransaction } from '../../registry/sql';
import { createOwnDatabase, type OwnDatabase, runKerf } from '../helpers';
import { fingerprint } from './unchanged';

let db: OwnDatabase;

beforeAll(async () => {
  db = await createOwnDatabase('sec_audit_chain');
  // Twenty writers at once, each in its own transaction: the chain must still follow id order.
  await Promise.all(
    Array.from({ length: 20 }, (_, index) =>
      inTransaction(db.pool, (client) =>
        appendAudit(client, { actor: `writer-${index}`, action: 'gate-verdict', details: { index } }),
      ),
    ),
  );
});

afterAll(async () => {
  await db.drop();
});

/** Runs `kerf audit verify --json` on the test database and checks that it changed nothing. */
async function verifyByCli(): Promise<{
  code: number;
  report: Awaited<ReturnType<typeof verifyAuditChain>>;
}> {
  const before = await fingerprint(db.adminUrl);
  const outcome = await runKerf(['audit', 'verify', '--json'], db.env);
  expect(outcome.stderr).toBe('');
  expect(await fingerprint(db.adminUrl)).toEqual(before);
  return {
    code: outcome.code,
    report: JSON.parse(outcome.stdout) as Awaited<ReturnType<typeof verifyAuditChain>>,
  };
}

/** Runs `sql` as the owner role with the append-only trigger off: what only the owner can do. */
async function tamperAsOwner(sql: string): Promise<void> {
  const owner = new pg.Client({ connectionString: db.ownerUrl });
  await owner.connect();
  try {
    await owner.query('ALTER TABLE registry.audit_log DISABLE TRIGGER audit_log_append_only');
    await owner.query(sql);
    await owner.query('ALTER TABLE registry.audit_log ENABLE TRIGGER audit_log_append_only');
  } finally {
    await owner.end();
  }
}

const ids = async () =>
  (await db.pool.query<{ id: string }>('SELECT id FROM registry.audit_log ORDER BY id')).rows.map((row) =>
    Number(row.id),
  );

describe('the audit chain', () => {
  it('holds for concurrent writers, and replaces hashes an insert tries to forge', async () => {
    const forged = await db.pool.query<{ prev_hash: string | null; row_hash: string }>(
      `INSERT INTO registry.audit_log (actor, action, prev_hash, row_hash)
       VALUES ('mallory', 'approval-recorded', 'forged', 'forged') RETURNING prev_hash, row_hash`,
    );
    expect(forged.rows[0]?.row_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(forged.rows[0]?.prev_hash).toMatch(/^[0-9a-f]{64}$/);
    const { code, report } = await verifyByCli();
    expect(code).toBe(0);
    expect(report).toEqual({ ok: true, rows: 21, lastId: (await ids()).at(-1) });
  });

  it('names the first row an owner edited by hand', async () => {
    const tampered = (await ids())[7] as number;
    await tamperAsOwner(`UPDATE registry.audit_log SET actor = 'mallory' WHERE id = ${tampered}`);
    const { code, report } = await verifyByCli();
    expect(code).toBe(1);
    expect(report.ok).toBe(false);
    expect(report.firstBreak).toMatchObject({ id: tampered, action: 'gate-verdict', problem: 'row-changed' });
    expect(report.firstBreak?.message).toMatch(
      new RegExp(
        `^audit row ${tampered} \\(\\d{4}-\\d\\d-\\d\\dT[0-9:.]+Z, gate-verdict\\) no longer matches its hash`,
      ),
    );
    // The plain output says the same in one line.
    const plain = await runKerf(['audit', 'verify'], db.env);
    expect(plain.code).toBe(1);
    expect(plain.stdout).toBe(`BROKEN: ${report.firstBreak?.message}\n`);
  });

  it('names the row after one an owner removed', async () => {
    // Put the edited row back first, so the removal is the first break.
    const all = await ids();
    await tamperAsOwner(`UPDATE registry.audit_log SET actor = 'writer-restored' WHERE id = ${all[7]}`);
    await tamperAsOwner(`DELETE FROM registry.audit_log WHERE id <= ${all[7]}`);
    const { code, report } = await verifyByCli();
    expect(code).toBe(1);
    expect(report.firstBreak).toMatchObject({ id: all[8], problem: 'chain-broken' });
  });

  it('finds rows removed from the end through the chain head', async () => {
    const fresh = await createOwnDatabase('sec_audit_tail');
    try {
      await appendAudit(fresh.pool, { actor: 'planner', action: 'approval-recorded' });
      await appendAudit(fresh.pool, { actor: 'planner', action: 'alias-moved' });
      const owner = new pg.Client({ connectionString: fresh.ownerUrl });
      await owner.connect();
      try {
        await owner.query('ALTER TABLE registry.audit_log DISABLE TRIGGER audit_log_append_only');
        await owner.query("DELETE FROM registry.audit_log WHERE action = 'alias-moved'");
        await owner.query('ALTER TABLE registry.audit_log ENABLE TRIGGER audit_log_append_only');
      } finally {
        await owner.end();
      }
      const report = await verifyAuditChain(fresh.pool);
      expect(report.ok).toBe(false);
      expect(report.firstBreak).toMatchObject({ action: 'approval-recorded', problem: 'head-mismatch' });
    } finally {
      await fresh.drop();
    }
  });
});
