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

  it('reads numbers by JSON grammar and refuses only those JSON.parse would make infinite', () => {
    const values = parseJsonBody(
      `[1e308,-1e308,1.7976931348623157e308,1.5E+3,2e-3,-0,0,0.5,-12.25e1,1${'0'.repeat(308)},0.${'0'.repeat(400)}1]`,
      limits,
    ) as number[];
    expect(values).toEqual([1e308, -1e308, Number.MAX_VALUE, 1500, 0.002, -0, 0, 0.5, -122.5, 1e308, 0]);
    expect(Object.is(values[5], -0)).toBe(true);
    const cases: [string, string][] = [
      ['1e309', 'is 1e309'],
      ['-1e309', 'is -1e309'],
      ['1.7976931348623159e308', 'is 1.7976931348623159e3...'],
      ['9'.repeat(309), 'is 99999999999999999999...'],
      [`-${'9'.repeat(309)}.5`, 'is -9999999999999999999...'],
      ['1E+400', 'is 1E+400'],
    ];
    for (const [number, shown] of cases) {
      expect(refusal(`{"a":[0,${number}]}`).issues, number).toEqual([
        { field: 'a[1]', reason: `${shown}, a number too large to be finite: send a finite number` },
      ]);
    }
  });

  it('refuses a malformed number as invalid-json, in the order the body holds it', () => {
    for (const text of [
      '[-01]',
      '[00]',
      '[1.]',
      '[.5]',
      '[1e]',
      '[1e+]',
      '[-]',
      '[+1]',
      '[0x10]',
      '[1.e3]',
      '[--1]',
    ]) {
      const error = refusal(text);
      expect(error.code, text).toBe('invalid-json');
      expect(error.message, text).toMatch(/^The body is not valid JSON \(/);
    }
    expect(refusal('[01,1e999]').code).toBe('invalid-json');
    expect(refusal('[1e999,01]').issues?.[0]?.field).toBe('[0]');
  });

  it('reads true, false, null and spacing around the colon, and refuses a word that is not JSON', () => {
    expect(parseJsonBody('{"a" : true ,"b"\t:\nfalse,"c":null}', limits)).toEqual({
      a: true,
      b: false,
      c: null,
    });
    for (const text of ['[nul]', '[True]', '[fals]', '{"a"x:1}', '{"a"}']) {
      expect(refusal(text).code, text).toBe('invalid-json');
    }
  });

  it('compares keys decoded: an escaped key can be a duplicate or a prototype key', () => {
    expect(refusal('{"rows":[{"a":1,"\\u0061":2}]}').issues).toEqual([
      { field: 'rows[0].a', reason: 'appears twice in the same object: send each key once' },
    ]);
    expect(refusal('{"a\\"b":1,"a\\u0022b":2}').issues?.[0]?.field).toBe('a"b');
    expect(refusal('{"row":{"\\u005f_proto__":1}}').issues).toEqual([
      {
        field: 'row.__proto__',
        reason: 'is a key named __proto__, which is refused: it is not a column or a field of the API',
      },
    ]);
    expect(refusal('{"constructo\\u0072":1}').issues?.[0]?.field).toBe('constructor');
    expect(parseJsonBody('{"a":1,"\\u0062":2,"proto":3,"_proto_":4}', limits)).toEqual({
      a: 1,
      b: 2,
      proto: 3,
      _proto_: 4,
    });
  });

  it('finds a duplicate among many keys, and forgets an object’s keys when it closes', () => {
    const keys = (count: number): string[] =>
      Array.from({ length: count }, (_, index) => `"k${index}":${index}`);
    const many = `{${keys(30).join(',')}}`;
    expect(parseJsonBody(many, limits)).toEqual(JSON.parse(many));
    for (const [count, duplicate] of [
      [5, 0],
      [7, 6],
      [8, 0],
      [9, 7],
      [12, 11],
      [30, 0],
      [30, 29],
    ] as const) {
      const text = `{"rows":[{"x":1},{${[...keys(count), `"k${duplicate}":0`].join(',')}}]}`;
      expect(refusal(text).issues, text).toEqual([
        { field: `rows[1].k${duplicate}`, reason: 'appears twice in the same object: send each key once' },
      ]);
    }
    // Objects one after the other at the same depth, each with its own keys.
    const rows = `{"rows":[${Array.from({ length: 5 }, () => `{${keys(12).join(',')}}`).join(',')}]}`;
    expect(parseJsonBody(rows, limits)).toEqual(JSON.parse(rows));
    expect(parseJsonBody('[{"a":{"a":1}},{"a":[{"a":2}]}]', limits)).toEqual([
      { a: { a: 1 } },
      { a: [{ a: 2 }] },
    ]);
  });

  it('takes objects nested exactly to the limit and names the key where one level more starts', () => {
    const nested = (depth: number): string => `${'{"a":'.repeat(depth - 1)}{}${'}'.repeat(depth - 1)}`;
    expect(parseJsonBody(nested(16), limits)).toEqual(JSON.parse(nested(16)));
    expect(refusal(nested(17)).issues?.[0]?.field).toBe(Array.from({ length: 16 }, () => 'a').join('.'));
    const shallow = { maxDepth: 3, maxStringLength: 1000 };
    expect(parseJsonBody('{"rows":[{"a":1}]}', shallow)).toEqual({ rows: [{ a: 1 }] });
    expect(refusal('{"rows":[{"a":1},{"b":[1]}]}', shallow).issues?.[0]?.field).toBe('rows[1].b');
    expect(refusal('{"rows":[[[1]]]}', shallow).issues?.[0]?.field).toBe('rows');
  });
});
