/**
 * Which failures are expected refusals (a failed gate, bad data or spec, a tampered artifact, a
 * registry or scoring refusal) and which are breakdowns, for the terminal: a refusal is one line, a
 * breakdown a line with where its trace is. Also for errors that crossed the workflow thread.
 */
import { innermostCause } from '../platform/log';
import { NEVER_RETRIED } from '../workflows/stoppingErrors';

/** Which model and version a line is about, as far as the activity's input and result say. */
export interface Subject {
  model?: string;
  version?: number;
}

/** A property of an unknown value, without trusting its shape. */
export function property(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[name] : undefined;
}

/**
 * The failure an error stands for: under an ActivityFailure or a ChildWorkflowFailure, the
 * ApplicationFailure an activity threw. By name, since errors logged from the workflow sandbox come
 * from its own copy of the SDK's classes.
 */
function rootFailure(error: unknown): unknown {
  let current = error;
  for (let depth = 0; depth < 5; depth++) {
    const name = property(current, 'name');
    if (name !== 'ActivityFailure' && name !== 'ChildWorkflowFailure' && name !== 'WorkflowFailedError')
      break;
    const cause = property(current, 'cause');
    if (cause === undefined || cause === null) break;
    current = cause;
  }
  return current;
}

/**
 * True for a run's failure that looks raised on purpose once it crossed the workflow thread, which
 * keeps only an error's name, message, stack and cause: its innermost cause was made as an
 * ApplicationFailure (activities raise those only to refuse, `stopRun`), as its stack says.
 */
export function looksLikeRefusal(error: unknown): boolean {
  if (isExpectedRefusal(error)) return true;
  const stack = property(innermostCause(error), 'stack');
  return typeof stack === 'string' && stack.startsWith('ApplicationFailure: ');
}

/** The message of an error's innermost cause: why a run failed, under its ActivityFailure. */
export function innermostMessage(error: unknown): string {
  const message = property(innermostCause(error), 'message');
  return typeof message === 'string' ? message : String(error);
}

/**
 * True for a failure that ends a run (or refuses a request) on purpose: an ApplicationFailure with a
 * type and `nonRetryable` (a failed gate, bad data or spec, a tampered artifact, a registry or
 * scoring refusal), as activities raise them (`stopRun`). Anything else is a breakdown.
 */
export function isExpectedRefusal(error: unknown): boolean {
  const failure = rootFailure(error);
  if (property(failure, 'name') !== 'ApplicationFailure') return false;
  const type = property(failure, 'type');
  if (typeof type !== 'string' || type === '') return false;
  return property(failure, 'nonRetryable') === true || (NEVER_RETRIED as readonly string[]).includes(type);
}

/** The failure's message, without the `<model> v<version>: ` the line already shows. */
export function refusalText(error: unknown, subject: Subject): string {
  const message = property(rootFailure(error), 'message');
  const text = typeof message === 'string' ? message : String(error);
  if (subject.model === undefined) return text;
  const prefix = `${subject.model}${subject.version === undefined ? '' : ` v${subject.version}`}: `;
  return text.startsWith(prefix) ? text.slice(prefix.length) : text;
}
