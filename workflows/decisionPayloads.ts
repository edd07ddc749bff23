/**
 * What the workflow makes of a decision's payload before the decision activity checks it: anything
 * a Signal or Update can carry (null, an array, a number, a typed name, a megabyte of text) becomes a
 * small, typed pending decision, with the problem named when the payload cannot be a decision.
 */
import type { PendingDecision } from '../access/decisionCodes';

/** How many refusals the status keeps. */
export const REFUSALS_KEPT = 20;
/**
 * Signals one execution takes before the wait continues as new: Temporal refuses Signals past
 * 10,000 per execution (and events past 51,200), so a flood never reaches either.
 */
export const CONTINUE_AFTER_SIGNALS = 4000;
/** Decisions checked per activity call: thousands of Signals cost a few dozen activities. */
export const DECISION_BATCH = 500;

/** The longest code accepted for checking (codes are 32 characters; anything longer is not one). */
const MAX_CODE_LENGTH = 64;
/** Comments are kept for the audit log, shortened to this. */
const MAX_COMMENT_LENGTH = 1000;

const HOW = 'get a code with `kerf approval-code <run id>`';

function describe(payload: unknown): string {
  if (payload === undefined) return 'no payload';
  if (payload === null) return 'null';
  if (Array.isArray(payload)) return 'an array';
  if (typeof payload === 'string') return `a string of ${payload.length} characters`;
  return `a ${typeof payload}`;
}

/** The pending decision for a Signal's or Update's payload. */
export function pendingDecision(
  action: PendingDecision['action'],
  via: PendingDecision['via'],
  payload: unknown,
): PendingDecision {
  const shape =
    action === 'rollback' ? '{"code": "kc_...", "reason": "..."}' : '{"code": "kc_...", "comment": "..."}';
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    return {
      action,
      via,
      problem: `a ${action} needs a JSON object ${shape}, not ${describe(payload)}: ${HOW}`,
    };
  }
  const fields = payload as Record<string, unknown>;
  if (via === 'update' && action !== 'rollback' && fields.decision !== action) {
    return { action, via, problem: 'decision must be "approve" or "reject"' };
  }
  if (fields.code === undefined) {
    const typedName = ['approver', 'actor', 'user', 'as'].some((field) => field in fields);
    return {
      action,
      via,
      problem: typedName
        ? `a typed name proves nothing and is not accepted: send ${shape} with a code issued to you; ${HOW}`
        : `the ${action} has no "code": send ${shape}; ${HOW}`,
    };
  }
  if (typeof fields.code !== 'string' || fields.code.length > MAX_CODE_LENGTH) {
    return {
      action,
      via,
      problem: `"code" must be a Kerf decision code (kc_...), not ${describe(fields.code)}: ${HOW}`,
    };
  }
  const note = action === 'rollback' ? fields.reason : fields.comment;
  if (note !== undefined && typeof note !== 'string') {
    return { action, via, problem: `"${action === 'rollback' ? 'reason' : 'comment'}" must be text` };
  }
  if (action === 'rollback' && (note === undefined || note.trim() === '')) {
    return { action, via, problem: 'say why: a rollback needs a reason' };
  }
  return {
    action,
    via,
    code: fields.code,
    ...(note ? { comment: note.slice(0, MAX_COMMENT_LENGTH) } : {}),
  };
}
