import { describe, expect, it } from 'vitest';
import {
  ExpressionError,
  type ExpressionNode,
  isBareName,
  MAX_EXPRESSION_LENGTH,
  MAX_NESTING_DEPTH,
  parseExpression,
} from '../../../../../lifecycle/features/expression';
import { Random } from '../../../../../ml/random';

/** The tree in a compact, fully parenthesised form, to read precedence and associativity at a glance. */
function show(node: ExpressionNode): string {
  switch (node.kind) {
    case 'number':
      return String(node.value);
    case 'string':
      return JSON.stringify(node.value);
    case 'name':
      return node.name;
    case 'negate':
      return `(-${show(node.operand)})`;
    case 'not':
      return `(not ${show(node.operand)})`;
    case 'binary':
      return `(${show(node.left)} ${node.operator} ${show(node.right)})`;
    case 'in':
      return `(${show(node.operand)} ${node.negated ? 'not in' : 'in'} [${node.values.map(show).join(', ')}])`;
    case 'call':
      return `${node.name}(${node.args.map(show).join(', ')})`;
  }
}

const parsed = (text: string) => show(parseExpression(text));

/** The error an expression is refused with. */
function refusal(text: string): ExpressionError {
  try {
    parseExpression(text);
  } catch (error) {
    if (error instanceof ExpressionError) return error;
    throw error;
  }
  throw new Error(`"${text}" parsed`);
}

describe('parseExpression', () => {
  it('gives * and / precedence over + and -, and comparisons and logic the lowest', () => {
    expect(parsed('a + b * c')).toBe('(a + (b * c))');
    expect(parsed('a * b + c / d')).toBe('((a * b) + (c / d))');
    expect(parsed('a + b > c * 2 and not d == 1 or e < 0')).toBe(
      '((((a + b) > (c * 2)) and (not (d == 1))) or (e < 0))',
    );
  });

  it('associates + - * / to the left, and parentheses override', () => {
    expect(parsed('a - b - c')).toBe('((a - b) - c)');
    expect(parsed('a / b / c')).toBe('((a / b) / c)');
    expect(parsed('a - (b - c)')).toBe('(a - (b - c))');
    expect(parsed('a or b or c')).toBe('((a or b) or c)');
  });

  it('reads unary minus tighter than * and repeatable', () => {
    expect(parsed('-a * b')).toBe('((-a) * b)');
    expect(parsed('a - -b')).toBe('(a - (-b))');
    expect(parsed('--a')).toBe('(-(-a))');
  });

  it('reads numbers, texts, quoted names, calls and lists', () => {
    expect(parsed('1.5e3 + .25')).toBe('(1500 + 0.25)');
    expect(parsed("material == 'steel'")).toBe('(material == "steel")');
    expect(parsed('m == "it\\"s" or m == \'a\\\\b\'')).toBe('((m == "it\\"s") or (m == "a\\\\b"))');
    expect(parsed('`Torque [Nm]` * `Rotational speed [rpm]`')).toBe('(Torque [Nm] * Rotational speed [rpm])');
    expect(parsed('clip(x, 0, max(y, 1))')).toBe('clip(x, 0, max(y, 1))');
    expect(parsed('material in ("steel", "stainless")')).toBe('(material in ["steel", "stainless"])');
    expect(parsed('shift not in (1, -2)')).toBe('(shift not in [1, -2])');
    expect(parsed('f()')).toBe('f()');
  });

  it('keeps positions of nodes', () => {
    const tree = parseExpression('a +  log(b)');
    expect(tree).toMatchObject({ kind: 'binary', at: 2, left: { at: 0 }, right: { kind: 'call', at: 5 } });
  });

  it.each([
    ['a +', 'the expression ends too early', 3],
    ['a + * b', 'unexpected "*"', 4],
    ['(a + b', 'expected ")", found the end', 6],
    ['a b', 'unexpected "b"', 2],
    ['a = b', 'unexpected character "="', 2],
    ['a && b', 'unexpected character "&"', 2],
    ['a < b < c', 'comparisons do not chain', 6],
    ['"steel', 'unclosed text', 0],
    ['"a\\nb"', 'unknown escape in text', 2],
    ['`col', 'unclosed `name`', 0],
    ['2x', 'number runs into "x"', 0],
    ['1e', 'number with an empty exponent', 0],
    ['1e999', 'number too large', 0],
    ['m in steel', 'expected "(", found "steel"', 5],
    ['m in (a)', 'expected a quoted text or a number, found "a"', 6],
    ['and', 'unexpected "and"', 0],
    ['', 'empty expression', 0],
    ['f(a,', 'the expression ends too early', 4],
    ['a # b', 'unexpected character "#"', 2],
  ])('refuses %j: %s at %i', (text, problem, at) => {
    const error = refusal(text);
    expect(error.problem).toBe(problem);
    expect(error.at).toBe(at);
    expect(error.message).toContain(`at character ${at + 1}`);
  });

  it('says what to do', () => {
    expect(refusal('a = b').message).toBe('unexpected character "=" at character 3; compare with ==, not =');
    expect(refusal('a < b < c').message).toContain('write a < b and b < c');
  });

  it('refuses an expression longer than the limit and nesting deeper than the limit', () => {
    const long = 'a + '.repeat(MAX_EXPRESSION_LENGTH / 4) + 'a';
    expect(refusal(long).problem).toBe(`longer than ${MAX_EXPRESSION_LENGTH} characters`);
    const deep = '('.repeat(MAX_NESTING_DEPTH) + 'a' + ')'.repeat(MAX_NESTING_DEPTH);
    expect(refusal(deep).problem).toBe(`nested more than ${MAX_NESTING_DEPTH} deep`);
    const shallower = '('.repeat(MAX_NESTING_DEPTH - 2) + 'a' + ')'.repeat(MAX_NESTING_DEPTH - 2);
    expect(parsed(shallower)).toBe('a');
    expect(refusal('-'.repeat(MAX_NESTING_DEPTH + 1) + 'a').problem).toContain('nested more than');
    expect(refusal('abs('.repeat(MAX_NESTING_DEPTH) + 'a' + ')'.repeat(MAX_NESTING_DEPTH)).problem).toContain(
      'nested more than',
    );
  });

  it('keeps a long flat sum within the length limit parseable', () => {
    const sum = Array.from({ length: 200 }, (_, i) => `x${i}`).join('+');
    expect(sum.length).toBeLessThanOrEqual(MAX_EXPRESSION_LENGTH);
    expect(parseExpression(sum).kind).toBe('binary');
  });

  it('refuses control characters in texts and names', () => {
    expect(refusal('m == "a\u0000b"').problem).toBe('control character in text');
    expect(refusal('`a\u0007b` + 1').problem).toBe('control character in a name or text');
  });

  it('tells bare names from keywords and odd names', () => {
    expect(isBareName('cut_length_per_kw')).toBe(true);
    expect(isBareName('_x2')).toBe(true);
    expect(isBareName('2x')).toBe(false);
    expect(isBareName('in')).toBe(false);
    expect(isBareName('Torque [Nm]')).toBe(false);
    expect(isBareName('')).toBe(false);
  });

  it('never throws anything but ExpressionError on random garbage', () => {
    const random = new Random(14);
    const alphabet = [
      ...Array.from('abcxyz_019.eE+-*/()<>=!,"\'`\\ \t\n#&|'),
      'and ',
      'or ',
      'not ',
      ' in ',
      'log(',
      'if(',
      '\u0000',
      '\u00e9',
      '\ud83d\ude00',
    ];
    for (let trial = 0; trial < 5000; trial++) {
      const length = random.below(40);
      let text = '';
      for (let i = 0; i < length; i++) text += alphabet[random.below(alphabet.length)] ?? '';
      try {
        parseExpression(text);
      } catch (error) {
        if (!(error instanceof ExpressionError))
          throw new Error(`${JSON.stringify(text)} threw ${String(error)}`);
        expect(error.at).toBeGreaterThanOrEqual(0);
        expect(error.at).toBeLessThanOrEqual(Math.max(text.length, MAX_EXPRESSION_LENGTH));
      }
    }
    // Deep garbage too: past the nesting limit the parser refuses before the stack runs out.
    for (const text of ['('.repeat(100_000), 'not '.repeat(300), '-'.repeat(999), 'f('.repeat(400)]) {
      expect(() => parseExpression(text)).toThrow(ExpressionError);
    }
  });
});
