/**
 * The derived-feature expression language's syntax: a hand-written tokenizer and recursive-descent
 * parser from the text a shop writes in its spec to a small tree. Nothing here ever becomes
 * JavaScript; the tree is checked (`check.ts`) and evaluated column by column (`evaluate.ts`).
 *
 * ```
 * expression := or
 * or         := and ("or" and)*
 * and        := not ("and" not)*
 * not        := "not" not | comparison
 * comparison := sum [("==" | "!=" | "<" | "<=" | ">" | ">=") sum | ["not"] "in" "(" literal ("," literal)* ")"]
 * sum        := product (("+" | "-") product)*
 * product    := unary (("*" | "/") unary)*
 * unary      := "-" unary | primary
 * primary    := number | string | name | function "(" [expression ("," expression)*] ")" | "(" expression ")"
 * name       := letter_or_underscore (letter | digit | "_")* | "`" any text but ` "`"
 * string     := "'" ... "'" | '"' ... '"'   (with \\, \' and \" as the only escapes)
 * ```
 */
import { ExpressionError } from './error';
import { KEYWORDS, type Token, tokenize } from './tokens';

/** The longest expression the parser reads, in characters: a spec is written by people, not generated. */
export const MAX_EXPRESSION_LENGTH = 1000;
/** The deepest nesting of parentheses, calls, unary minus and `not`, so a hostile spec cannot exhaust the stack. */
export const MAX_NESTING_DEPTH = 32;

export type ArithmeticOperator = '+' | '-' | '*' | '/';
export type ComparisonOperator = '==' | '!=' | '<' | '<=' | '>' | '>=';
export type LogicalOperator = 'and' | 'or';
export type BinaryOperator = ArithmeticOperator | ComparisonOperator | LogicalOperator;

/** A node of the parsed expression; `at` is the 0-based offset of its first character (an operator's own for binary nodes). */
export type ExpressionNode =
  | { kind: 'number'; value: number; at: number }
  | { kind: 'string'; value: string; at: number }
  | { kind: 'name'; name: string; at: number }
  | { kind: 'negate'; operand: ExpressionNode; at: number }
  | { kind: 'not'; operand: ExpressionNode; at: number }
  | { kind: 'binary'; operator: BinaryOperator; left: ExpressionNode; right: ExpressionNode; at: number }
  | { kind: 'in'; operand: ExpressionNode; values: LiteralNode[]; negated: boolean; at: number }
  | { kind: 'call'; name: string; args: ExpressionNode[]; at: number };

export type LiteralNode = Extract<ExpressionNode, { kind: 'number' | 'string' }>;
/** Recursive descent over the tokens, one method per grammar rule. */
class Parser {
  private index = 0;
  private depth = 0;

  constructor(private readonly tokens: Token[]) {}

  private get next(): Token {
    // The last token is always `end`, and the parser never reads past it.
    return this.tokens[Math.min(this.index, this.tokens.length - 1)] as Token;
  }

  private isSymbol(symbol: string): boolean {
    const token = this.next;
    return token.kind === 'symbol' && token.symbol === symbol;
  }

  private isKeyword(word: string): boolean {
    const token = this.next;
    return token.kind === 'name' && !token.quoted && token.name === word;
  }

  private expectSymbol(symbol: string, advice: string): number {
    const token = this.next;
    if (!this.isSymbol(symbol))
      throw new ExpressionError(`expected "${symbol}", found ${describe(token)}`, token.at, advice);
    this.index++;
    return token.at;
  }

  /** Counts one level of nesting, refusing past the limit. */
  private nest<T>(at: number, parse: () => T): T {
    if (++this.depth > MAX_NESTING_DEPTH) {
      throw new ExpressionError(
        `nested more than ${MAX_NESTING_DEPTH} deep`,
        at,
        'split it into several derived features',
      );
    }
    const node = parse();
    this.depth--;
    return node;
  }

  parse(): ExpressionNode {
    const node = this.expression();
    const token = this.next;
    if (token.kind !== 'end') {
      throw new ExpressionError(
        `unexpected ${describe(token)}`,
        token.at,
        'an operator or the end was expected',
      );
    }
    return node;
  }

  private expression(): ExpressionNode {
    return this.nest(this.next.at, () => this.or());
  }

  private logical(word: LogicalOperator, operand: () => ExpressionNode): ExpressionNode {
    let left = operand();
    while (this.isKeyword(word)) {
      const at = this.next.at;
      this.index++;
      left = { kind: 'binary', operator: word, left, right: operand(), at };
    }
    return left;
  }

  private or(): ExpressionNode {
    return this.logical('or', () => this.and());
  }

  private and(): ExpressionNode {
    return this.logical('and', () => this.not());
  }

  private not(): ExpressionNode {
    if (!this.isKeyword('not')) return this.comparison();
    const at = this.next.at;
    this.index++;
    return this.nest(at, () => ({ kind: 'not', operand: this.not(), at }));
  }

  private comparison(): ExpressionNode {
    const left = this.sum();
    const token = this.next;
    if (token.kind === 'symbol' && isComparison(token.symbol)) {
      this.index++;
      const node: ExpressionNode = {
        kind: 'binary',
        operator: token.symbol,
        left,
        right: this.sum(),
        at: token.at,
      };
      const after = this.next;
      if (after.kind === 'symbol' && isComparison(after.symbol)) {
        throw new ExpressionError('comparisons do not chain', after.at, 'write a < b and b < c');
      }
      return node;
    }
    let negated = false;
    if (this.isKeyword('not')) {
      const following = this.tokens[this.index + 1];
      if (following?.kind !== 'name' || following.quoted || following.name !== 'in') return left;
      negated = true;
      this.index++;
    }
    if (!this.isKeyword('in')) return left;
    const at = this.next.at;
    this.index++;
    this.expectSymbol('(', 'write the values in parentheses: x in ("steel", "stainless")');
    const values: LiteralNode[] = [this.literal()];
    while (this.isSymbol(',')) {
      this.index++;
      values.push(this.literal());
    }
    this.expectSymbol(')', 'close the list of values with ")"');
    return { kind: 'in', operand: left, values, negated, at };
  }

  private literal(): LiteralNode {
    const token = this.next;
    if (token.kind === 'string' || token.kind === 'number') {
      this.index++;
      return token.kind === 'string'
        ? { kind: 'string', value: token.value, at: token.at }
        : { kind: 'number', value: token.value, at: token.at };
    }
    if (token.kind === 'symbol' && token.symbol === '-' && this.tokens[this.index + 1]?.kind === 'number') {
      const number = this.tokens[this.index + 1] as Extract<Token, { kind: 'number' }>;
      this.index += 2;
      return { kind: 'number', value: -number.value, at: token.at };
    }
    throw new ExpressionError(
      `expected a quoted text or a number, found ${describe(token)}`,
      token.at,
      'an in (...) list holds literal values only',
    );
  }

  private arithmetic(operators: readonly string[], operand: () => ExpressionNode): ExpressionNode {
    let left = operand();
    for (;;) {
      const token = this.next;
      if (token.kind !== 'symbol' || !operators.includes(token.symbol)) return left;
      this.index++;
      left = {
        kind: 'binary',
        operator: token.symbol as ArithmeticOperator,
        left,
        right: operand(),
        at: token.at,
      };
    }
  }

  private sum(): ExpressionNode {
    return this.arithmetic(['+', '-'], () => this.product());
  }

  private product(): ExpressionNode {
    return this.arithmetic(['*', '/'], () => this.unary());
  }

  private unary(): ExpressionNode {
    if (!this.isSymbol('-')) return this.primary();
    const at = this.next.at;
    this.index++;
    return this.nest(at, () => ({ kind: 'negate', operand: this.unary(), at }));
  }

  private primary(): ExpressionNode {
    const token = this.next;
    switch (token.kind) {
      case 'number':
        this.index++;
        return { kind: 'number', value: token.value, at: token.at };
      case 'string':
        this.index++;
        return { kind: 'string', value: token.value, at: token.at };
      case 'name': {
        if (!token.quoted && KEYWORDS.has(token.name)) {
          throw new ExpressionError(
            `unexpected "${token.name}"`,
            token.at,
            'a value was expected here; quote a column of that name as `name`',
          );
        }
        this.index++;
        if (token.quoted || !this.isSymbol('(')) return { kind: 'name', name: token.name, at: token.at };
        this.index++;
        return this.nest(token.at, () => this.call(token.name, token.at));
      }
      case 'symbol':
        if (token.symbol === '(') {
          this.index++;
          const node = this.expression();
          this.expectSymbol(')', 'close the parenthesis');
          return node;
        }
        throw new ExpressionError(`unexpected "${token.symbol}"`, token.at, 'a value was expected here');
      case 'end':
        throw new ExpressionError('the expression ends too early', token.at, 'a value was expected');
    }
  }

  private call(name: string, at: number): ExpressionNode {
    const args: ExpressionNode[] = [];
    if (!this.isSymbol(')')) {
      args.push(this.expression());
      while (this.isSymbol(',')) {
        this.index++;
        args.push(this.expression());
      }
    }
    this.expectSymbol(')', `close the arguments of ${name}(...) with ")", separating them with ","`);
    return { kind: 'call', name, args, at };
  }
}

function isComparison(symbol: string): symbol is ComparisonOperator {
  return (
    symbol === '==' ||
    symbol === '!=' ||
    symbol === '<' ||
    symbol === '<=' ||
    symbol === '>' ||
    symbol === '>='
  );
}

function describe(token: Token): string {
  switch (token.kind) {
    case 'number':
      return `the number ${token.value}`;
    case 'string':
      return 'a quoted text';
    case 'name':
      return `"${token.name}"`;
    case 'symbol':
      return `"${token.symbol}"`;
    case 'end':
      return 'the end';
  }
}

/**
 * Parses an expression to its tree.
 *
 * @throws ExpressionError for anything that is not a well-formed expression, at its position
 */
export function parseExpression(text: string): ExpressionNode {
  if (text.length > MAX_EXPRESSION_LENGTH) {
    throw new ExpressionError(
      `longer than ${MAX_EXPRESSION_LENGTH} characters`,
      MAX_EXPRESSION_LENGTH,
      'split it into several derived features',
    );
  }
  if (text.trim() === '') throw new ExpressionError('empty expression', 0, 'write e.g. cut_length_mm / 1000');
  return new Parser(tokenize(text)).parse();
}
