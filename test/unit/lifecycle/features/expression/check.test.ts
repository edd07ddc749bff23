import { describe, expect, it } from 'vitest';
import {
  checkExpression,
  type ColumnType,
  evaluateExpression,
  ExpressionError,
  type ExpressionScope,
  FUNCTIONS,
  MAX_NESTING_DEPTH,
} from '../../../../../lifecycle/features/expression';
import type { Column } from '../../../../../ml/table';
import { Random } from '../../../../../ml/random';

/** A laser shop's job columns, by type. */
const JOB_COLUMNS: Record<string, ColumnType> = {
  cut_length_mm: 'number',
  laser_power_kw: 'number',
  quantity: 'number',
  thickness_mm: 'number',
  material_family: 'category',
  rush: 'boolean',
  released_at: 'time',
  due_at: 'time',
};

const jobs: ExpressionScope = {
  meaning: (name) =>
    Object.hasOwn(JOB_COLUMNS, name)
      ? { kind: 'column', type: JOB_COLUMNS[name] as ColumnType }
      : { kind: 'unknown', problem: `unknown column "${name}"`, advice: 'the source has cut_length_mm, ...' },
};

/** Before the source is known: every name is deferred. */
const unread: ExpressionScope = { meaning: () => ({ kind: 'deferred' }) };

function refusal(text: string, scope: ExpressionScope = jobs): ExpressionError {
  try {
    checkExpression(text, scope);
  } catch (error) {
    if (error instanceof ExpressionError) return error;
    throw error;
  }
  throw new Error(`"${text}" checked`);
}

describe('checkExpression', () => {
  it('types numbers and conditions, with the ranges it can prove', () => {
    expect(checkExpression('cut_length_mm / max(laser_power_kw, 1)', jobs)).toMatchObject({
      type: 'number',
      range: { lo: -Infinity, hi: Infinity },
    });
    expect(checkExpression('material_family in ("steel", "stainless") and not rush', jobs)).toMatchObject({
      type: 'boolean',
      range: { lo: 0, hi: 1 },
    });
    expect(checkExpression('hour(released_at)', jobs).range).toEqual({ lo: 0, hi: 23 });
    expect(checkExpression('dayofweek(released_at)', jobs).range).toEqual({ lo: 1, hi: 7 });
    expect(checkExpression('week(released_at)', jobs).range).toEqual({ lo: 1, hi: 53 });
    expect(checkExpression('month(released_at) * 2 - 1', jobs).range).toEqual({ lo: 1, hi: 23 });
    expect(checkExpression('clip(thickness_mm, 0.5, 20)', jobs).range).toEqual({ lo: 0.5, hi: 20 });
    expect(checkExpression('abs(quantity) + 1', jobs).range).toEqual({ lo: 1, hi: Infinity });
    expect(checkExpression('sqrt(abs(quantity))', jobs).range).toEqual({ lo: 0, hi: Infinity });
    expect(checkExpression('if(rush, 2, -1)', jobs).range).toEqual({ lo: -1, hi: 2 });
  });

  it('lists the names it reads with their types', () => {
    const checked = checkExpression('if(rush, days_since(due_at, released_at), quantity)', jobs);
    expect([...checked.names]).toEqual([
      ['rush', 'boolean'],
      ['due_at', 'time'],
      ['released_at', 'time'],
      ['quantity', 'number'],
    ]);
  });

  it('accepts divisors it can prove are never zero', () => {
    for (const text of [
      'cut_length_mm / 1000',
      'cut_length_mm / -2',
      'cut_length_mm / max(laser_power_kw, 1)',
      'cut_length_mm / (abs(laser_power_kw) + 0.5)',
      'cut_length_mm / clip(laser_power_kw, 1, 12)',
      'cut_length_mm / (hour(released_at) + 1)',
      'cut_length_mm / dayofweek(released_at)',
      'safe_div(cut_length_mm, laser_power_kw)',
    ]) {
      expect(() => checkExpression(text, jobs), text).not.toThrow();
    }
  });

  it('refuses a division by a column that may be zero, saying how to guard it', () => {
    const error = refusal('cut_length_mm / laser_power_kw');
    expect(error.message).toBe(
      'division by "laser_power_kw", which may be zero at character 15; write safe_div(a, b), missing where b is 0, ' +
        'or keep the divisor away from zero, e.g. a / max(b, 1)',
    );
    // Before the source is known too: the rule needs no types.
    expect(refusal('a / b', unread).problem).toBe('division by "b", which may be zero');
    expect(refusal('quantity / (laser_power_kw + 1)').problem).toBe(
      'division by this part, which may be zero',
    );
    expect(refusal('quantity / sqrt(laser_power_kw)').problem).toBe(
      'division by sqrt(...), which may be zero',
    );
    expect(refusal('quantity / hour(released_at)').problem).toBe('division by hour(...), which may be zero');
  });

  it('refuses a division by zero', () => {
    expect(refusal('quantity / 0')).toMatchObject({ problem: 'division by zero', at: 11 });
    expect(refusal('quantity / (2 - 2)').problem).toBe('division by zero');
  });

  it('refuses log, log1p and sqrt of a value whose known bounds leave their domain, and leaves unbounded ones to evaluation', () => {
    expect(refusal('log(hour(released_at))').message).toBe(
      'log of a value that may not be positive: it lies in [0, 23] at character 1; shift it, e.g. log(x + 1), or write log1p(x)',
    );
    expect(refusal('log(max(quantity, 0))').problem).toBe(
      'log of a value that may not be positive: it lies in [0, Infinity]',
    );
    expect(refusal('log1p(clip(quantity, -1, 3))').problem).toBe(
      'log1p of a value that may not be above -1: it lies in [-1, 3]',
    );
    expect(refusal('sqrt(clip(quantity, -1, 5))').advice).toBe('take sqrt(abs(x)) or sqrt(max(x, 0))');
    for (const text of [
      'log(quantity)',
      'log(quantity - 5)',
      'log(hour(released_at) + 1)',
      'log(max(quantity, 1))',
      'log1p(hour(released_at))',
      'sqrt(max(quantity, 0))',
      'if(quantity > 0, log(quantity), 0)',
    ]) {
      expect(() => checkExpression(text, jobs), text).not.toThrow();
    }
  });

  it("names an unknown column with the scope's advice, at its position", () => {
    expect(refusal('log(cut_lenght)').message).toBe(
      'unknown column "cut_lenght" at character 5; the source has cut_length_mm, ...',
    );
  });

  it.each([
    ['log(material_family)', '"material_family" is a category, not a number', 4],
    ['released_at + 1', '"released_at" is a time', 0],
    ['due_at - released_at', '"due_at" is a time', 0],
    ['rush * 2', '"rush" is a condition (true or false), not a number', 0],
    ['quantity == "12"', '"quantity" (number) cannot be compared with the text "12" (text)', 9],
    ['"a" == "b"', 'compares two quoted texts', 4],
    ['released_at == due_at', 'compares times', 12],
    ['quantity in ("a", "b")', '"quantity" (number) cannot be looked up in a list of texts', 9],
    ['material_family in ("steel", 2)', 'the list mixes numbers and quoted texts', 29],
    ['if(quantity, 1, 0)', '"quantity" is a number, not a condition', 3],
    ['quantity > 1 and quantity', '"quantity" is a number, not a condition', 17],
    ['hour(quantity)', '"quantity" is not a time', 5],
    ['days_since(released_at, "01/02/2020")', '"01/02/2020" is not a date', 24],
    ['days_since(released_at, "2021-02-29")', '"2021-02-29" is not a date', 24],
    ['days_since(released_at, quantity)', '"quantity" is not a time', 24],
    ['lg(quantity)', 'unknown function "lg"', 0],
    ['log(quantity, 2)', 'log takes 1 argument, not 2', 0],
    ['clip(quantity, 1)', 'clip takes 3 arguments, not 2', 0],
    ['min(quantity)', 'min takes 2 to 16 arguments, not 1', 0],
    ['clip(quantity, 5, 1)', "clip's low bound is above its high bound", 15],
    ['log(-abs(quantity))', 'log of a value that is never positive', 0],
    ['log(0 * quantity)', 'log of a value that is never positive', 0],
    ['log1p(-1 - abs(quantity))', 'log1p of a value that is never above -1', 0],
    ['sqrt(-1 - abs(quantity))', 'sqrt of a value that is never zero or positive', 0],
    ['material_family', 'the result is a category, not a number', 0],
    ['released_at', 'the result is a time, not a number', 0],
    ['1 + 2', 'the expression reads no column', 0],
    ['log(`Torque [Nm]`)', 'unknown column "Torque [Nm]"', 4],
  ])('refuses %j: %s at %i', (text, problem, at) => {
    const error = refusal(text);
    expect(error.problem).toBe(problem);
    expect(error.at).toBe(at);
  });

  it('suggests a close function name and lists them all', () => {
    expect(refusal('lg(quantity)').advice).toBe(
      `did you mean log? the functions are ${Object.keys(FUNCTIONS).join(', ')}`,
    );
    expect(refusal('LOG(quantity)').advice).toContain('did you mean log?');
    // Names of Object's prototype are no functions either.
    expect(refusal('constructor(quantity)').problem).toBe('unknown function "constructor"');
  });

  it('lets deferred names fit anywhere until the source is known', () => {
    for (const text of [
      'log(a) + b',
      'if(a, b, c)',
      'a == "steel"',
      'hour(t) + days_since(t, u)',
      'a in (1, 2)',
      'not a',
    ]) {
      expect(() => checkExpression(text, unread), text).not.toThrow();
    }
    expect(checkExpression('if(a, b, c)', unread).type).toBe('number');
    expect(checkExpression('if(a, b, c > 1)', unread).type).toBe('boolean');
  });

  it('checks nested if without re-checking its branches (no blow-up)', () => {
    const depth = MAX_NESTING_DEPTH / 2 - 1;
    const nested = 'if(rush, '.repeat(depth) + 'quantity' + ', 1)'.repeat(depth);
    const started = performance.now();
    expect(checkExpression(nested, jobs).type).toBe('number');
    expect(performance.now() - started).toBeLessThan(200);
  });

  it('never throws anything but ExpressionError on random token soup, and evaluates what it accepts', () => {
    const random = new Random(1414);
    const pieces = [
      ...Object.keys(JOB_COLUMNS),
      ...Object.keys(FUNCTIONS).map((name) => `${name}(`),
      'nope',
      '(',
      ')',
      ',',
      '+',
      '-',
      '*',
      '/',
      '==',
      '!=',
      '<',
      '>=',
      'and',
      'or',
      'not',
      'in ("steel", "x")',
      '0',
      '1',
      '2.5',
      '"steel"',
      '"2020-01-01"',
      'if(rush, ',
    ];
    const rows = 4;
    const columns = new Map<string, Column>([
      ['cut_length_mm', { kind: 'numeric', name: 'cut_length_mm', values: Float64Array.of(100, 0, NaN, -5) }],
      ['laser_power_kw', { kind: 'numeric', name: 'laser_power_kw', values: Float64Array.of(0, 2, 3, NaN) }],
      ['quantity', { kind: 'numeric', name: 'quantity', values: Float64Array.of(1, 1e308, -1, 0) }],
      ['thickness_mm', { kind: 'numeric', name: 'thickness_mm', values: Float64Array.of(1, 2, 3, 4) }],
      [
        'material_family',
        {
          kind: 'categorical',
          name: 'material_family',
          codes: Int32Array.of(0, 1, -1, 0),
          dictionary: ['steel', 'alu'],
        },
      ],
      [
        'rush',
        { kind: 'categorical', name: 'rush', codes: Int32Array.of(0, 1, 0, -1), dictionary: ['t', 'f'] },
      ],
      [
        'released_at',
        { kind: 'numeric', name: 'released_at', values: Float64Array.of(0, 1.6e12, NaN, -1e11) },
      ],
      ['due_at', { kind: 'numeric', name: 'due_at', values: Float64Array.of(1e9, 1.7e12, 5, NaN) }],
    ]);
    let accepted = 0;
    for (let trial = 0; trial < 20_000; trial++) {
      const count = 1 + random.below(12);
      const text = Array.from({ length: count }, () => pieces[random.below(pieces.length)]).join(' ');
      try {
        const checked = checkExpression(text, jobs);
        accepted++;
        const values = evaluateExpression(checked, columns, rows);
        expect(values).toHaveLength(rows);
        for (const value of values) {
          expect(Number.isNaN(value) || (value >= checked.range.lo && value <= checked.range.hi), text).toBe(
            true,
          );
        }
      } catch (error) {
        if (!(error instanceof ExpressionError))
          throw new Error(`${JSON.stringify(text)} threw ${String(error)}`);
      }
    }
    expect(accepted).toBeGreaterThan(100);
  });
});
