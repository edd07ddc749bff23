/**
 * What a gate says about a candidate model: passed or not, and every check it made, each readable on
 * its own in the model card, the audit log and the approval query.
 */

/** A registered gate's name (`quality`, `fairness`, `security`; see `registry.ts`). */
export type GateName = string;

/** One check of a gate: what was measured, against which bound, and what it means. */
export interface GateCheck {
  /** Short identifier of the check, stable across runs (`rmse-max`, `slice-error-ratio:material_family=steel`). */
  name: string;
  /** Whether this check holds. A check that is only reported (too few rows to judge) has `passed: true` and `judged: false`. */
  passed: boolean;
  /** False when the check was reported but not judged (for example a slice below the minimum support). */
  judged: boolean;
  /** The measured value, when the check is a number. */
  value?: number;
  /** The bound it was compared with, when there is one. */
  bound?: number;
  /** One sentence for people: what was measured and why it passed or failed. */
  message: string;
}

/** The verdict of one gate. */
export interface GateVerdict {
  gate: GateName;
  /** True when every judged check passed. */
  passed: boolean;
  checks: GateCheck[];
}

/**
 * A check that is only reported, never failing its gate: too few rows to judge, or nothing to
 * compare. Its fields keep the order of a judged check's (name, passed, judged, bound, message).
 */
export function reportedCheck(name: string, message: string, bound?: number): GateCheck {
  return { name, passed: true, judged: false, ...(bound === undefined ? {} : { bound }), message };
}

/** Builds a verdict from its checks: it passes when every judged check passed. */
export function verdictOf(gate: GateName, checks: GateCheck[]): GateVerdict {
  return { gate, passed: checks.every((check) => check.passed || !check.judged), checks };
}
