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

/** The longest expression the parser reads, in characters: a spec is written by people, not generated. */
export const MAX_EXPRESSION_LENGTH = 1000;
/** The deepest nesting of parentheses, calls, unary minus and `not`, so a hostile spec cannot exhaust the stack. */
export const MAX_NESTING_DEPTH = 32;

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

type Token =
  | { kind: 'number'; value: number; at: number }
  | { kind: 'string'; value: string; at: number }
  | { kind: 'name'; name: string; quoted: boolean; at: number }
  | { kind: 'symbol'; symbol: string; at: number }
  | { kind: 'end'; at: number };

const KEYWORDS = new Set(['and', 'or', 'not', 'in']);
const SYMBOLS = ['==', '!=', '<=', '>=', '<', '>', '+', '-', '*', '/', '(', ')', ','];

const isDigit = (char: string | undefined) => char !== undefined && char >= '0' && char <= '9';
const isNameStart = (char: string | undefined) =>
  char !== undefined && ((char >= 'a' && char <= 'z') || (char >= 'A' && char <= 'Z') || char === '_');
const isNamePart = (char: string | undefined) => isNameStart(char) || isDigit(char);

/** Whether a name can be written bare (not a keyword, letters, digits and `_`, not starting with a digit). */
export function isBareName(name: string): boolean {
  if (KEYWORDS.has(name) || !isNameStart(name[0])) return false;
  for (const char of name) if (!isNamePart(char)) return false;
  return true;
}

/** Splits an expression into tokens. */
function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const char = text[i] ?? '';
    if (char === ' ' || char === '\t' || char === '\n' || char === '\r') {
      i++;
    } else if (isDigit(char) || (char === '.' && isDigit(text[i + 1]))) {
      i = readNumber(text, i, tokens);
    } else if (isNameStart(char)) {
      const start = i;
      while (isNamePart(text[i])) i++;
      tokens.push({ kind: 'name', name: text.slice(start, i), quoted: false, at: start });
    } else if (char === '`') {
      const close = text.indexOf('`', i + 1);
      if (close < 0) throw new ExpressionError('unclosed `name`', i, 'end the column name with a backtick');
      const name = text.slice(i + 1, close);
      if (name === '')
        throw new ExpressionError('empty `` name', i, 'write the column name between the backticks');
      refuseControlCharacters(name, i + 1);
      tokens.push({ kind: 'name', name, quoted: true, at: i });
      i = close + 1;
    } else if (char === '"' || char === "'") {
      i = readString(text, i, tokens);
    } else {
      const symbol = SYMBOLS.find((candidate) => text.startsWith(candidate, i));
      if (symbol === undefined) {
        const advice =
          char === '='
            ? 'compare with ==, not ='
            : char === '&' || char === '|'
              ? 'write and / or'
              : char === '!'
                ? 'write not, or != to compare'
                : 'the language has + - * / ( ) , == != < <= > >=, names, numbers and quoted text';
        throw new ExpressionError(`unexpected character ${JSON.stringify(char)}`, i, advice);
      }
      tokens.push({ kind: 'symbol', symbol, at: i });
      i += symbol.length;
    }
  }
  tokens.push({ kind: 'end', at: text.length });
  return tokens;
}

function refuseControlCharacters(text: string, offset: number): void {
  for (let j = 0; j < text.length; j++) {
    if (text.charCodeAt(j) < 0x20) {
      throw new ExpressionError('control character in a name or text', offset + j, 'remove it');
    }
  }
}

/** Reads a decimal number (`12`, `0.5`, `.5`, `1e-3`) starting at `start`; returns the offset after it. */
function readNumber(text: string, start: number, tokens: Token[]): number {
  let i = start;
  while (isDigit(text[i])) i++;
  if (text[i] === '.') {
    i++;
    while (isDigit(text[i])) i++;
  }
  if (text[i] === 'e' || text[i] === 'E') {
    let j = i + 1;
    if (text[j] === '+' || text[j] === '-') j++;
    if (!isDigit(text[j]))
      throw new ExpressionError('number with an empty exponent', start, 'write e.g. 1e-3');
    while (isDigit(text[j])) j++;
    i = j;
  }
  if (isNameStart(text[i]) || text[i] === '.') {
    throw new ExpressionError(
      `number runs into ${JSON.stringify(text[i])}`,
      start,
      'put an operator between a number and a name, e.g. 2 * x',
    );
  }
  const value = Number(text.slice(start, i));
  if (!Number.isFinite(value)) throw new ExpressionError('number too large', start, 'use a smaller number');
  tokens.push({ kind: 'number', value, at: start });
  return i;
}

/** Reads a quoted text starting at `start` (at its quote); returns the offset after the closing quote. */
function readString(text: string, start: number, tokens: Token[]): number {
  const quote = text[start];
  let value = '';
  let i = start + 1;
  for (;;) {
    const char = text[i];
    if (char === undefined) {
      throw new ExpressionError('unclosed text', start, `end it with ${quote ?? ''}`);
    }
    if (char === quote) break;
    if (char === '\\') {
      const escaped = text[i + 1];
      if (escaped !== '\\' && escaped !== "'" && escaped !== '"') {
        throw new ExpressionError('unknown escape in text', i, 'only \\\\, \\\' and \\" are escapes');
      }
      value += escaped;
      i += 2;
    } else if (char.charCodeAt(0) < 0x20) {
      throw new ExpressionError('control character in text', i, 'remove it');
    } else {
      value += char;
      i++;
    }
  }
  tokens.push({ kind: 'string', value, at: start });
  return i + 1;
}

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
