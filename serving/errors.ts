/**
 * Errors the prediction API answers with. Every refusal names what was wrong and what to do; bad
 * input also lists each field with its reason, so a caller can fix a whole batch in one go.
 */

/** One bad field of a request: `rows[2].thickness_mm` and why it was refused. */
export interface FieldIssue {
  /** Where in the body, e.g. `rows[2].thickness_mm`, `keys`, `outcomes[0].actual`. */
  field: string;
  /** What is wrong and what to send instead. */
  reason: string;
}

/** The JSON body of every error response. */
export interface ErrorBody {
  /** A stable, kebab-case code: `invalid-input`, `unauthorized`, `model-not-found`... */
  error: string;
  /** A sentence for people. */
  message: string;
  /** For `invalid-input`: each bad field. */
  issues?: FieldIssue[];
  /** For `internal` (500): the id under which the serving log has the error. */
  requestId?: string;
}

/** An error with the HTTP status and body the API answers it with. */
export class ServingHttpError extends Error {
  override readonly name = 'ServingHttpError';

  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly issues?: readonly FieldIssue[],
  ) {
    super(message);
  }

  get body(): ErrorBody {
    return {
      error: this.code,
      message: this.message,
      ...(this.issues ? { issues: [...this.issues] } : {}),
    };
  }
}

/** The most issues listed in one answer; a batch with thousands of bad rows gets the first ones. */
export const MAX_LISTED_ISSUES = 50;

/**
 * A 400 listing the bad fields (at most {@link MAX_LISTED_ISSUES}, and how many more there were).
 */
export function invalidInput(issues: readonly FieldIssue[]): ServingHttpError {
  const listed = issues.slice(0, MAX_LISTED_ISSUES);
  const more = issues.length - listed.length;
  const summary = listed.map((issue) => `${issue.field}: ${issue.reason}`).join('; ');
  return new ServingHttpError(
    400,
    'invalid-input',
    `The request is invalid: ${summary}${more > 0 ? ` (and ${more} more issues)` : ''}`,
    listed,
  );
}

/** The text of any thrown value. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
