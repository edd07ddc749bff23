/**
 * A person's decision on a candidate: one per version, recorded with the status it leads to and an
 * audit row in one transaction. Whether the person may approve this pipeline is the lifecycle's
 * check (it holds the spec's approvers); the registry records who it was.
 */
import type pg from 'pg';
import { TableColumns } from './columns';
import { RegistryError } from './errors';
import { checkText } from './inputs';
import { inTransaction, type Queryable } from './sql';
import type { ApprovalDecision, ApprovalRecord, VersionRecord } from './types';
import { readVersion, transition, versionLabel } from './versions';

export interface ApprovalInput {
  model: string;
  version: number;
  decision: ApprovalDecision;
  /** The person who decided, by user name. */
  approver: string;
  /** What they said, for the audit log and the model's history. */
  comment?: string;
  /** How the approver proved who they are (`cli-key`, `approval-code`), for the audit row. */
  authenticatedBy?: string;
  /** The lifecycle run that took the decision, for the audit row. */
  runId?: string;
}

export interface ApprovalResult {
  approval: ApprovalRecord;
  /** The version after the decision: `approved` or `rejected`. */
  version: VersionRecord;
  /** False when this exact decision was already recorded (a retried call); nothing changed. */
  recorded: boolean;
}

interface ApprovalRow {
  model: string;
  version: number;
  decision: ApprovalDecision;
  approver: string;
  comment: string | null;
  decided_at: Date;
}

const APPROVAL_COLUMNS = new TableColumns<ApprovalRow>([
  'model',
  'version',
  'decision',
  'approver',
  'comment',
  'decided_at',
]);

/**
 * Records the decision on a candidate, moves it to `approved` or `rejected`, and appends an
 * `approval-recorded` audit row. The same decision by the same approver again changes nothing.
 *
 * @throws RegistryError (`conflict`) when the version was already decided otherwise or by someone
 *   else, (`invalid-transition`) when it is not a candidate, (`not-found`, `invalid-input`)
 */
export async function recordApproval(pool: pg.Pool, input: ApprovalInput): Promise<ApprovalResult> {
  // Callers outside TypeScript (a CLI, a workflow's JSON) can send anything.
  const decision: string = input.decision;
  if (decision !== 'approved' && decision !== 'rejected') {
    throw new RegistryError(
      'invalid-input',
      `decision ${JSON.stringify(input.decision)} is not a decision: use approved or rejected`,
    );
  }
  checkText(input.approver, 'approver', 'who decided, by user name');
  return inTransaction(pool, async (client) => {
    const current = await readVersion(client, input.model, input.version, { lock: true });
    const label = versionLabel(input.model, input.version);
    const earlier = await getApproval(client, input.model, input.version);
    if (earlier) {
      if (earlier.decision === input.decision && earlier.approver === input.approver) {
        return { approval: earlier, version: current, recorded: false };
      }
      throw new RegistryError(
        'conflict',
        `${label} was already ${earlier.decision} by ${earlier.approver} at ${earlier.decidedAt.toISOString()}: ` +
          'a version gets one decision; to decide again, train a new version',
      );
    }
    if (current.status !== 'candidate') {
      throw new RegistryError(
        'invalid-transition',
        `${label} is ${current.status}, not a candidate: only a candidate that passed its gates can be ${input.decision}`,
      );
    }
    const { rows } = await client.query<ApprovalRow>(
      `INSERT INTO registry.approvals (model, version, decision, approver, comment)
       VALUES ($1, $2, $3, $4, $5) RETURNING ${APPROVAL_COLUMNS.sql}`,
      [input.model, input.version, input.decision, input.approver, input.comment ?? null],
    );
    const approval = APPROVAL_COLUMNS.record(rows[0] as ApprovalRow);
    const version = await transition(client, current, input.decision, {
      actor: input.approver,
      action: 'approval-recorded',
      reason: input.comment ?? `${input.decision} by ${input.approver}`,
      details: {
        decision: input.decision,
        comment: input.comment ?? null,
        ...(input.authenticatedBy ? { authenticatedBy: input.authenticatedBy } : {}),
        ...(input.runId ? { runId: input.runId } : {}),
      },
    });
    return { approval, version, recorded: true };
  });
}

/** The decision on a version, or undefined while there is none. */
export async function getApproval(
  db: Queryable,
  model: string,
  version: number,
): Promise<ApprovalRecord | undefined> {
  const { rows } = await db.query<ApprovalRow>(
    `SELECT ${APPROVAL_COLUMNS.sql} FROM registry.approvals WHERE model = $1 AND version = $2`,
    [model, version],
  );
  return rows[0] ? APPROVAL_COLUMNS.record(rows[0]) : undefined;
}
