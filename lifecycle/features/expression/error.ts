/** The one error the derived-feature expression language throws: what is wrong, where, and what to do. */

/** A problem with an expression, at a character offset, with what to do about it. */
export class ExpressionError extends Error {
  /**
   * @param problem what is wrong, e.g. `unknown function "lg"`
   * @param at the 0-based character offset it is about (shown 1-based)
   * @param advice what to do, e.g. `did you mean "log"?`
   */
  constructor(
    readonly problem: string,
    readonly at: number,
    readonly advice?: string,
  ) {
    super(`${problem} at character ${at + 1}${advice ? `; ${advice}` : ''}`);
    this.name = 'ExpressionError';
  }
}
