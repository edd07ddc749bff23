import { describe, expect, it } from 'vitest';
import { ServingHttpError } from '../../../serving/errors';
import { parseJsonBody } from '../../../serving/jsonBody';
import { Random } from '../../../ml/random';

const limits = { maxDepth: 16, maxStringLength: 1000 };

function refusal(text: string, custom = limits): ServingHttpError {
  try {
    parseJsonBody(text, custom);
  } catch (error) {
    expect(error).toBeInstanceOf(ServingHttpError);
    return error as ServingHttpError;
  }
  throw new Error(`parsed ${text.slice(0, 80)}`);
}

/** A random JSON value within the limits: escapes, exponents, empty containers, unicode. */
function randomValue(random: Random, depth: number): unknown {
  const pick = random.below(depth >= 6 ? 5 : 7);
  const texts = ['', 'mild_steel', 'a"b\\c', 'tab\there', 'ÄÖü €', '😀 emoji', 'line\nbreak', '\u001f'];
  switch (pick) {
    case 0:
      return null;
    case 1:
      return random.next() < 0.5;
    case 2:
      return [0, -0.5, 1e21, 1.5e-7, -123456789, 3.14159, 2 ** 53][random.below(7)];
    case 3:
      return texts[random.below(texts.length)];
    case 4:
      return random.next() * 1000 - 500;
    case 5:
      return Array.from({ length: random.below(4) }, () => randomValue(random, depth + 1));
    default:
      return Object.fromEntries(
        Array.from({ length: random.below(4) }, (_, index) => [
          `k${index}${texts[random.below(texts.length)] ?? ''}`,
          randomValue(random, depth + 1),
        ]),
      );
  }
}

describe('parseJsonBody', () => {
  it('gives what JSON.parse gives for any JSON within the limits, however it is spaced', () => {
    const random = new Random(3);
    for (let sample = 0; sample < 500; sample += 1) {
      const value = { rows: [randomValue(random, 2)] };
      for (const text of [JSON.stringify(value), JSON.stringify(value, null, sample % 2 === 0 ? 2 : '\t')]) {
        expect(parseJsonBody(text, limits)).toEqual(JSON.parse(text));
      }
    }
    expect(parseJsonBody(' \r\n[ ] ', limits)).toEqual([]);
    expect(parseJsonBody('"\\u00e9\\/"', limits)).toBe('é/');
    expect(parseJsonBody('\uFEFF{"a":1}', limits)).toEqual({ a: 1 });
  });

  it('refuses text that is not JSON as invalid-json', () => {
    for (const text of [
      '{"a":1,}',
      '[1,]',
      '{"a":1}x',
      '{"a" 1}',
      '"open',
      '01',
      '{a:1}',
      'NaN',
      'Infinity',
      '-',
      '"tab\tinside"',
      '[1 2]',
      '{"a":1 "b":2}',
      'tru',
      '{"a":[}',
    ]) {
      const error = refusal(text);
      expect(error.code, text).toBe('invalid-json');
      expect(error.message, text).toMatch(/^The body is not valid JSON/);
    }
    expect(refusal('  ').message).toBe('The body is empty: send a JSON object');
  });

  it('refuses nesting past the limit, and takes it up to the limit', () => {
    expect(parseJsonBody(`${'['.repeat(16)}${']'.repeat(16)}`, limits)).toBeDefined();
    const error = refusal(`{"rows":[{"a":${'['.repeat(14)}${']'.repeat(14)}}]}`);
    expect(error.issues).toEqual([
      {
        field: 'rows[0].a',
        reason: 'nests lists and objects deeper than the 16 levels a body may have: send plain column values',
      },
    ]);
    // Refused before the rest is read: the text need not even close its brackets.
    expect(refusal('['.repeat(1_000_000)).issues?.[0]?.field).toBe('body');
  });

  it('counts a string by its characters, escapes decoded, and refuses one over the limit', () => {
    expect(parseJsonBody(JSON.stringify({ a: 'x'.repeat(1000) }), limits)).toEqual({ a: 'x'.repeat(1000) });
    expect(parseJsonBody(`{"a":"${'\\n'.repeat(1000)}"}`, limits)).toEqual({ a: '\n'.repeat(1000) });
    expect(refusal(`{"a":"${'\\u0041'.repeat(1001)}"}`).issues).toEqual([
      {
        field: 'a',
        reason: 'holds a string longer than the 1000 characters a value may have: send a shorter value',
      },
    ]);
    expect(refusal(`{"${'k'.repeat(1001)}":1}`).issues?.[0]?.field).toBe('body');
  });

  it('names the field of a non-finite number, a duplicate key, a prototype key, a NUL, a lone surrogate', () => {
    const cases: [string, string, RegExp][] = [
      ['{"rows":[{"a":1},{"a":1e400}]}', 'rows[1].a', /^is 1e400, a number too large/],
      ['{"a":{"b":-1E+999}}', 'a.b', /^is -1E\+999, a number/],
      [`{"a":${'9'.repeat(400)}}`, 'a', /^is 99999999999999999999\.\.\., a number/],
      ['{"a":1,"b":{"c":1,"c":2}}', 'b.c', /^appears twice/],
      ['{"row":{"__proto__":{"x":1}}}', 'row.__proto__', /^is a key named __proto__/],
      ['{"prototype":1}', 'prototype', /^is a key named prototype/],
      ['{"a":"x\\u0000"}', 'a', /NUL/],
      ['{"a":["ok","\\udc00x"]}', 'a[1]', /broken surrogate pair/],
    ];
    for (const [text, field, reason] of cases) {
      const issue = refusal(text).issues?.[0];
      expect(issue?.field, text).toBe(field);
      expect(issue?.reason, text).toMatch(reason);
    }
    expect(parseJsonBody('{"a":"\\ud83d\\ude00","b":1e-400}', limits)).toEqual({ a: '😀', b: 0 });
  });
});
