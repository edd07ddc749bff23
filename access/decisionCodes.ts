/**
 * One-time decision codes: issued to an authenticated person for one run, version and action
 * (approve, reject, rollback), expiring with the approval deadline; redeemed by the lifecycle's
 * decision check, which is the only place a decision is accepted. Also who started each run, for
 * separation of duties by identity.
 */
import type pg from 'pg';
import { appendAudit } from '../registry/audit';
import { inTransaction, type Queryable } from '../registry/sql';
import { AccessError } from './errors';
import { actionProblem } from './roles';
import { issueSecret, parseSecret, secretExample, verifySecret } from './secrets';
import { getUser, type Identity } from './users';

/** The decisions a code may carry. */
export type CodeAction = 'approve' | 'reject' | 'rollback';
/** How the person behind a decision was authenticated. */
export type AuthenticatedBy = 'cli-key' | 'approval-code';

/** Wrong secrets tried against one code before it is locked. */
export const MAX_FAILED_ATTEMPTS = 5;

export interface IssuedCode {
  code: string;
  codeId: string;
  expiresAt: Date;
}

/**
 * Issues a code to `identity` for one decision on one run's version. Refused at once when the person
 * may not take the action on the model (the check is made again when the code is redeemed).
 *
 * @throws AccessError (`forbidden`, `invalid-input`)
 */
export async function issueDecisionCode(
  pool: pg.Pool,
  input: {
    identity: Identity;
    runId: string;
    model: string;
    version: number;
    action: CodeAction;
    expiresAt: Date;
    authenticatedBy: AuthenticatedBy;
  },
): Promise<IssuedCode> {
  const problem = actionProblem(input.identity.user, input.action, input.model);
  if (problem) {
    await appendAudit(pool, {
      actor: input.identity.user.name,
      action: 'decision-code-refused',
      model: input.model,
      version: input.version,
      details: { runId: input.runId, decision: input.action, reason: problem },
    });
    throw new AccessError('forbidden', problem);
  }
  if (!(input.expiresAt.getTime() > Date.now())) {
    throw new AccessError('invalid-input', `the run's deadline ${input.expiresAt.toISOString()} has passed`);
  }
  const secret = await issueSecret('decision-code');
  await inTransaction(pool, async (client) => {
    await client.query(
      `INSERT INTO access.decision_codes
         (code_id, secret_hash, run_id, model, version, action, user_name, authenticated_by, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        secret.id,
        secret.hash,
        input.runId,
        input.model,
        input.version,
        input.action,
        input.identity.user.name,
        input.authenticatedBy,
        input.expiresAt,
      ],
    );
    await appendAudit(client, {
      actor: input.identity.user.name,
      action: 'decision-code-issued',
      model: input.model,
      version: input.version,
      details: {
        runId: input.runId,
        decision: input.action,
        codeId: secret.id,
        authenticatedBy: input.authenticatedBy,
        expiresAt: input.expiresAt.toISOString(),
      },
    });
  });
  return { code: secret.text, codeId: secret.id, expiresAt: input.expiresAt };
}

/** Records the authenticated person who starts a run (before it starts), for separation of duties. */
export async function recordRunStarter(db: Queryable, runId: string, identity: Identity): Promise<void> {
  await db.query(
    'INSERT INTO access.run_starters (run_id, user_name, authenticated_by) VALUES ($1, $2, $3)',
    [runId, identity.user.name, identity.method],
  );
}

/** The authenticated starter of a run, if it had one (a run started in the Web UI has none). */
export async function runStarter(db: Queryable, runId: string): Promise<string | undefined> {
  const { rows } = await db.query<{ user_name: string }>(
    'SELECT user_name FROM access.run_starters WHERE run_id = $1',
    [runId],
  );
  return rows[0]?.user_name;
}

/** A decision as the workflow received it, already reduced to small, typed fields. */
export interface PendingDecision {
  action: CodeAction;
  via: 'signal' | 'update';
  /** The presented code, when the payload had a string of a plausible length. */
  code?: string;
  comment?: string;
  /** Set by the workflow when the payload itself is unusable (not an object, a typed name, ...). */
  problem?: string;
}

export interface DecisionCheckInput {
  runId: string;
  model: string;
  version: number;
  /** The spec's approvers: an approver must be one of them too. */
  approvers: string[];
  /** The `startedBy` of the run's input: trusted only when no authenticated starter was recorded. */
  claimedStarter: string;
  items: PendingDecision[];
  /** The activity redeeming the codes: its retry redeems the same code again. */
  redeemedIn: string;
}

export interface AcceptedDecision {
  index: number;
  action: CodeAction;
  user: string;
  authenticatedBy: AuthenticatedBy;
  codeId: string;
  comment?: string;
  /** The run's authenticated starter, or undefined for a run started without one (the Web UI). */
  starter?: string;
}

export interface RefusedDecision {
  index: number;
  /** The person behind a verified code, else `unauthenticated`. */
  actor: string;
  reason: string;
  via: 'signal' | 'update';
}

export interface DecisionCheckResult {
  accepted?: AcceptedDecision;
  refusals: RefusedDecision[];
}

interface CodeRow {
  code_id: string;
  secret_hash: string;
  run_id: string;
  model: string;
  version: number;
  action: CodeAction;
  user_name: string;
  authenticated_by: AuthenticatedBy;
  expires_at: Date;
  expired: boolean;
  failed_attempts: number;
  used_at: Date | null;
  used_in: string | null;
}

const HOW_TO_GET_A_CODE = 'get a code with `kerf approval-code <run id>` (or use `kerf approve <run id>`)';

/**
 * Checks decisions in order, in one transaction: the first that validates is accepted (its code
 * marked used), every other one is refused with the reason and an audit row. Nothing here throws for
 * a bad decision; only a database failure throws (and the activity is retried).
 */
export async function checkDecisions(pool: pg.Pool, input: DecisionCheckInput): Promise<DecisionCheckResult> {
  return inTransaction(pool, async (client) => {
    const result: DecisionCheckResult = { refusals: [] };
    const starter = await runStarter(client, input.runId);
    const decided = await client.query<{ user_name: string; action: CodeAction; used_in: string | null }>(
      `SELECT user_name, action, used_in FROM access.decision_codes
       WHERE run_id = $1 AND used_at IS NOT NULL AND (action = 'rollback') = $2`,
      [input.runId, input.items[0]?.action === 'rollback'],
    );
    let earlier = decided.rows[0];
    for (const [index, item] of input.items.entries()) {
      const verdict = await checkOne(client, input, item, starter, earlier);
      const kind = item.action === 'rollback' ? 'rollback-refused' : 'approval-refused';
      if ('reason' in verdict) {
        result.refusals.push({ index, actor: verdict.actor, reason: verdict.reason, via: item.via });
        await appendAudit(client, {
          actor: verdict.actor,
          action: kind,
          model: input.model,
          version: input.version,
          details: {
            reason: verdict.reason,
            via: item.via,
            decision: item.action,
            runId: input.runId,
            ...(verdict.codeId ? { codeId: verdict.codeId } : {}),
          },
        });
        continue;
      }
      result.accepted = { ...verdict, index, ...(item.comment ? { comment: item.comment } : {}), starter };
      earlier = { user_name: verdict.user, action: verdict.action, used_in: input.redeemedIn };
      await appendAudit(client, {
        actor: verdict.user,
        action: 'decision-authenticated',
        model: input.model,
        version: input.version,
        details: {
          decision: verdict.action,
          via: item.via,
          authenticatedBy: verdict.authenticatedBy,
          codeId: verdict.codeId,
          runId: input.runId,
          starter: starter ?? null,
          starterAuthenticated: starter !== undefined,
        },
      });
    }
    return result;
  });
}

type Verdict =
  | { actor: string; reason: string; codeId?: string }
  | { action: CodeAction; user: string; authenticatedBy: AuthenticatedBy; codeId: string };

async function checkOne(
  client: pg.PoolClient,
  input: DecisionCheckInput,
  item: PendingDecision,
  starter: string | undefined,
  earlier: { user_name: string; action: CodeAction; used_in: string | null } | undefined,
): Promise<Verdict> {
  const anonymous = (reason: string, codeId?: string): Verdict => ({
    actor: 'unauthenticated',
    reason,
    codeId,
  });
  if (item.problem) return anonymous(item.problem);
  const parsed = parseSecret('decision-code', item.code);
  if (!parsed) {
    return anonymous(
      `the code is not a Kerf decision code (${secretExample('decision-code')}): ${HOW_TO_GET_A_CODE}`,
    );
  }
  const { rows } = await client.query<CodeRow>(
    `SELECT code_id, secret_hash, run_id, model, version, action, user_name, authenticated_by, expires_at,
            expires_at <= now() AS expired, failed_attempts, used_at, used_in
     FROM access.decision_codes WHERE code_id = $1 FOR UPDATE`,
    [parsed.id],
  );
  const row = rows[0];
  if (!row) return anonymous(`unknown decision code: ${HOW_TO_GET_A_CODE}`);
  if (row.failed_attempts >= MAX_FAILED_ATTEMPTS) {
    return anonymous(
      `the code ${row.code_id} is locked after ${MAX_FAILED_ATTEMPTS} wrong tries: ${HOW_TO_GET_A_CODE}`,
      row.code_id,
    );
  }
  if (!(await verifySecret(parsed.secret, row.secret_hash))) {
    await client.query(
      'UPDATE access.decision_codes SET failed_attempts = failed_attempts + 1 WHERE code_id = $1',
      [row.code_id],
    );
    return anonymous(`wrong decision code: ${HOW_TO_GET_A_CODE}`, row.code_id);
  }
  // From here the person behind the code is known: refusals are theirs in the audit log.
  const refuse = (reason: string): Verdict => ({ actor: row.user_name, reason, codeId: row.code_id });
  // A used code is named as such first, whichever run it is sent to.
  if (row.used_at && row.used_in === input.redeemedIn) {
    // The same activity again (a retry after its answer was lost): the decision it made stands.
    return {
      action: row.action,
      user: row.user_name,
      authenticatedBy: row.authenticated_by,
      codeId: row.code_id,
    };
  }
  if (row.used_at)
    return refuse(`the code was already used at ${row.used_at.toISOString()}: a code counts once`);
  if (row.run_id !== input.runId || row.model !== input.model || row.version !== input.version) {
    return refuse(
      `the code was issued for run ${row.run_id} (${row.model} version ${row.version}), not this run: ${HOW_TO_GET_A_CODE}`,
    );
  }
  if (row.action !== item.action) {
    return refuse(`the code is for ${row.action}, not ${item.action}: get a code for ${item.action}`);
  }
  if (earlier) {
    return refuse(
      item.action === 'rollback'
        ? `this run was already rolled back by ${earlier.user_name}`
        : `${earlier.user_name} already decided (${earlier.action}) this candidate`,
    );
  }
  if (row.expired) return refuse(`the code expired at ${row.expires_at.toISOString()}: ${HOW_TO_GET_A_CODE}`);
  const user = await getUser(client, row.user_name);
  if (!user) return refuse(`user ${row.user_name} no longer exists`);
  const problem = actionProblem(user, item.action, input.model);
  if (problem) return refuse(problem);
  if (item.action !== 'rollback') {
    if (!input.approvers.includes(user.name)) {
      return refuse(
        `${user.name} is not an approver of ${input.model}; approvers: ${input.approvers.join(', ')}`,
      );
    }
    // Separation of duties compares identities: the authenticated starter when there is one; for a run
    // started without one (the Web UI) the name it claims, so nobody approves a run in their own name.
    const startedBy = starter ?? input.claimedStarter;
    if (startedBy === user.name) {
      return refuse(
        `${user.name} started this run and may not approve it too (separation of duties); ask one of: ${input.approvers.filter((name) => name !== user.name).join(', ')}`,
      );
    }
  }
  await client.query('UPDATE access.decision_codes SET used_at = now(), used_in = $2 WHERE code_id = $1', [
    row.code_id,
    input.redeemedIn,
  ]);
  return {
    action: row.action,
    user: row.user_name,
    authenticatedBy: row.authenticated_by,
    codeId: row.code_id,
  };
}
