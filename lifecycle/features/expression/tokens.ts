/**
 * The derived-feature expression language's tokenizer: numbers, quoted texts, names (bare or in
 * backticks) and symbols, read character by character.
 */
import { ExpressionError } from './error';

export type Token =
  | { kind: 'number'; value: number; at: number }
  | { kind: 'string'; value: string; at: number }
  | { kind: 'name'; name: string; quoted: boolean; at: number }
  | { kind: 'symbol'; symbol: string; at: number }
  | { kind: 'end'; at: number };

export const KEYWORDS = new Set(['and', 'or', 'not', 'in']);
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
export function tokenize(text: string): Token[] {
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
