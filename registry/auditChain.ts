/**
 * Checks the audit log's hash chain (migration 000008): every row's hash must be the SHA-256 of its
 * canonical text with the previous row's hash, and the chain's head must be the last row. The first
 * row that does not match is named, so someone can see what was edited, removed or added by hand.
 *
 * The canonical text is made by this module's own query and hashed here with node:crypto: the check
 * trusts neither the database's hash function nor the stored hashes.
 */
import { createHash } from 'node:crypto';
import type { Queryable } from './sql';

/** The first place the chain breaks. */
export interface AuditChainBreak {
  /** The row (or, for `head`, the last row) where the chain stops matching. */
  id: number | null;
  at: string | null;
  action: string | null;
  /** What does not match. */
  problem: 'row-changed' | 'chain-broken' | 'head-mismatch';
  message: string;
}

export interface AuditChainReport {
  ok: boolean;
  /** Rows checked. */
  rows: number;
  /** The last row's id, when there is one. */
  lastId: number | null;
  /** The first break, when the chain does not hold. */
  firstBreak?: AuditChainBreak;
}

/** Must give exactly the text of `registry.audit_row_hash` in migration 000008. */
const CANONICAL_TEXT = `jsonb_build_array(
  id::text, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), actor, action, model,
  version, details, prev_hash
)::text`;

interface ChainRow {
  id: string;
  at: string;
  action: string;
  prev_hash: string | null;
  row_hash: string | null;
  canonical: string;
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/**
 * Walks the whole audit log in id order, `batchSize` rows at a time.
 *
 * @param db the application role's pool (it may read the log and its head)
 */
export async function verifyAuditChain(
  db: Queryable,
  options: { batchSize?: number } = {},
): Promise<AuditChainReport> {
  const batchSize = options.batchSize ?? 5000;
  let previousHash: string | null = null;
  let afterId = 0;
  let rows = 0;
  let last: ChainRow | undefined;
  // The report as far as the walk got: the rows checked so far, and where the chain broke if it did.
  const reportOf = (firstBreak?: AuditChainBreak): AuditChainReport => ({
    ok: firstBreak === undefined,
    rows,
    lastId: last ? Number(last.id) : null,
    ...(firstBreak ? { firstBreak } : {}),
  });
  for (;;) {
    const batch = await db.query<ChainRow>(
      `SELECT id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at, action,
              prev_hash, row_hash, ${CANONICAL_TEXT} AS canonical
         FROM registry.audit_log WHERE id > $1 ORDER BY id LIMIT $2`,
      [afterId, batchSize],
    );
    for (const row of batch.rows) {
      const where = { id: Number(row.id), at: row.at, action: row.action };
      if (row.prev_hash !== previousHash) {
        return reportOf({
          ...where,
          problem: 'chain-broken',
          message:
            previousHash === null
              ? `audit row ${row.id} (${row.at}, ${row.action}) claims a previous row, but none is there: rows before it were removed`
              : `audit row ${row.id} (${row.at}, ${row.action}) does not follow the row before it: a row between them was removed or inserted`,
        });
      }
      if (row.row_hash !== sha256(row.canonical)) {
        return reportOf({
          ...where,
          problem: 'row-changed',
          message: `audit row ${row.id} (${row.at}, ${row.action}) no longer matches its hash: it was changed after it was written`,
        });
      }
      previousHash = row.row_hash;
      rows++;
      last = row;
    }
    if (batch.rows.length < batchSize) break;
    afterId = Number(batch.rows[batch.rows.length - 1]?.id);
  }
  const head = await db.query<{ last_id: string | null; last_hash: string | null }>(
    'SELECT last_id, last_hash FROM registry.audit_chain_head',
  );
  const recorded = head.rows[0];
  if (!recorded || recorded.last_hash !== previousHash || (recorded.last_id ?? null) !== (last?.id ?? null)) {
    return reportOf({
      id: last ? Number(last.id) : null,
      at: last?.at ?? null,
      action: last?.action ?? null,
      problem: 'head-mismatch',
      message: `the chain's head names row ${recorded?.last_id ?? 'none'}, but the log ends at ${last ? `row ${last.id} (${last.at}, ${last.action})` : 'no row'}: rows at the end were removed, or the head was moved`,
    });
  }
  return reportOf();
}
