/**
 * The API's JSON body parser: one pass over the text, before any value is built, that refuses what no
 * caller needs and an attacker would send (nesting deeper than a limit, a huge string, a number
 * JSON.parse would turn into Infinity, a duplicate key, a key that reaches an object's prototype, a
 * NUL or a broken surrogate pair PostgreSQL cannot store), naming where in the body it was. Only a
 * body that passes is handed to JSON.parse.
 */
import { invalidInput, ServingHttpError } from './errors';

/** What a body may hold. */
export interface JsonBodyLimits {
  /**
   * The deepest nesting of objects and lists; a predict or outcomes body needs 3.
   * @default 16
   */
  maxDepth: number;
  /**
   * The longest string (a key or a value), in characters.
   * @default 1000
   */
  maxStringLength: number;
}

export const DEFAULT_JSON_BODY_LIMITS: JsonBodyLimits = { maxDepth: 16, maxStringLength: 1000 };

/** Keys refused anywhere in a body: in JavaScript they name an object's prototype, not data. */
const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

interface Frame {
  kind: 'object' | 'array';
  /** Objects: the keys seen so far, and the key whose value is being read. */
  keys?: Set<string>;
  key?: string;
  /** Arrays: the index of the value being read. */
  index: number;
}

type Expect = 'value' | 'value-or-end' | 'key' | 'key-or-end' | 'after-value';

/**
 * Checks a JSON body against the limits and returns its value.
 *
 * @throws ServingHttpError: `invalid-json` (400) for text that is not JSON, `invalid-input` (400)
 *   naming the field and the limit or the reason for everything else
 */
export function parseJsonBody(body: string, limits: JsonBodyLimits = DEFAULT_JSON_BODY_LIMITS): unknown {
  // Some Windows tools start UTF-8 with a byte order mark; it is not part of the JSON.
  const text = body.charCodeAt(0) === 0xfeff ? body.slice(1) : body;
  if (text.trim() === '') {
    throw new ServingHttpError(400, 'invalid-json', 'The body is empty: send a JSON object');
  }
  return new BodyScan(text, limits).run();
}

/**
 * One scan of a body: its state in fields and its steps as methods, so a request costs one object
 * (not a closure per step, each named by the TypeScript loader at every call).
 */
class BodyScan {
  private readonly stack: Frame[] = [];
  private at = 0;
  private expect: Expect = 'value';
  private readonly length: number;

  constructor(
    private readonly text: string,
    private readonly limits: JsonBodyLimits,
  ) {
    this.length = text.length;
  }

  run(): unknown {
    const { text, limits, stack } = this;
    for (;;) {
      this.skipWhitespace();
      const at = this.at;
      const char = text[at];
      const top = stack.at(-1);
      switch (this.expect) {
        case 'value':
        case 'value-or-end': {
          if (this.expect === 'value-or-end' && char === ']') {
            this.closeContainer();
          } else if (char === '{' || char === '[') {
            if (stack.length >= limits.maxDepth) {
              this.refuse(
                `nests lists and objects deeper than the ${limits.maxDepth} levels a body may have: send plain column values`,
                depthPath(stack),
              );
            }
            stack.push(
              char === '{' ? { kind: 'object', keys: new Set(), index: 0 } : { kind: 'array', index: 0 },
            );
            this.at += 1;
            this.expect = char === '{' ? 'key-or-end' : 'value-or-end';
          } else if (char === '"') {
            this.readString(false);
            this.expect = 'after-value';
          } else if (char === '-' || (char !== undefined && char >= '0' && char <= '9')) {
            NUMBER.lastIndex = at;
            const match = NUMBER.exec(text);
            if (!match) return this.syntax();
            if (!Number.isFinite(Number(match[0]))) {
              const shown = match[0].length > 20 ? `${match[0].slice(0, 20)}...` : match[0];
              this.refuse(`is ${shown}, a number too large to be finite: send a finite number`);
            }
            this.at += match[0].length;
            this.expect = 'after-value';
          } else if (text.startsWith('true', at) || text.startsWith('null', at)) {
            this.at += 4;
            this.expect = 'after-value';
          } else if (text.startsWith('false', at)) {
            this.at += 5;
            this.expect = 'after-value';
          } else {
            this.syntax();
          }
          break;
        }
        case 'key':
        case 'key-or-end': {
          if (this.expect === 'key-or-end' && char === '}') {
            this.closeContainer();
            break;
          }
          if (char !== '"' || top?.kind !== 'object' || !top.keys) return this.syntax();
          // A key too long is named by the object that holds it, not by the key before it.
          top.key = undefined;
          const key = this.readString(true) as string;
          top.key = key;
          if (PROTOTYPE_KEYS.has(key)) {
            this.refuse(`is a key named ${key}, which is refused: it is not a column or a field of the API`);
          }
          if (top.keys.has(key)) this.refuse('appears twice in the same object: send each key once');
          top.keys.add(key);
          this.skipWhitespace();
          if (text[this.at] !== ':') this.syntax();
          this.at += 1;
          this.expect = 'value';
          break;
        }
        case 'after-value': {
          if (!top) {
            if (at < this.length) this.syntax();
            try {
              return JSON.parse(text) as unknown;
            } catch {
              return this.syntax();
            }
          }
          if (char === ',') {
            this.at += 1;
            if (top.kind === 'array') {
              top.index += 1;
              this.expect = 'value';
            } else {
              this.expect = 'key';
            }
          } else if (char === (top.kind === 'object' ? '}' : ']')) {
            this.closeContainer();
          } else {
            this.syntax();
          }
          break;
        }
      }
    }
  }

  private refuse(reason: string, field = fieldPath(this.stack)): never {
    throw invalidInput([{ field, reason }]);
  }

  private syntax(): never {
    // JSON.parse words the syntax error (with its position); the scan only knows the text is not JSON.
    try {
      JSON.parse(this.text);
    } catch (error) {
      throw new ServingHttpError(
        400,
        'invalid-json',
        `The body is not valid JSON (${(error as Error).message}): send a JSON object with Content-Type: application/json`,
      );
    }
    throw new ServingHttpError(400, 'invalid-json', `The body is not valid JSON near character ${this.at}`);
  }

  /** Reads the string starting at `at` (a quote); returns its value when it had escapes or is a key. */
  private readString(needValue: boolean): string | undefined {
    const { text, length } = this;
    const maxStringLength = this.limits.maxStringLength;
    let index = this.at + 1;
    let decoded = 0;
    let escaped = false;
    for (;;) {
      if (index >= length) this.syntax();
      const code = text.charCodeAt(index);
      if (code === 0x22) break;
      if (code === 0x5c) {
        escaped = true;
        index += text.charCodeAt(index + 1) === 0x75 ? 6 : 2;
      } else {
        if (code < 0x20) this.syntax();
        index += 1;
      }
      decoded += 1;
      if (decoded > maxStringLength) {
        this.refuse(
          `holds a string longer than the ${maxStringLength} characters a value may have: send a shorter value`,
        );
      }
    }
    const raw = text.slice(this.at, index + 1);
    this.at = index + 1;
    if (!escaped) return needValue ? raw.slice(1, -1) : undefined;
    let value: string;
    try {
      value = JSON.parse(raw) as string;
    } catch {
      return this.syntax();
    }
    if (value.includes('\u0000')) this.refuse('holds a NUL character (\\u0000): remove it');
    if (LONE_SURROGATE.test(value)) {
      this.refuse('holds a broken surrogate pair (a lone \\uD800-\\uDFFF escape): send well-formed Unicode');
    }
    return value;
  }

  /** Steps over the `]` or `}` that closes the innermost list or object: what follows is a value's end. */
  private closeContainer(): void {
    this.stack.pop();
    this.at += 1;
    this.expect = 'after-value';
  }

  private skipWhitespace(): void {
    const { text, length } = this;
    let at = this.at;
    while (at < length) {
      const code = text.charCodeAt(at);
      if (code !== 0x20 && code !== 0x0a && code !== 0x0d && code !== 0x09) break;
      at += 1;
    }
    this.at = at;
  }
}

/**
 * Where a too-deep nesting starts: the path to the innermost key (`rows[0].notes`), not through the
 * thousands of lists below it, and never longer than 200 characters.
 */
function depthPath(stack: readonly Frame[]): string {
  const lastKey = stack.findLastIndex((frame) => frame.kind === 'object' && frame.key !== undefined);
  const path = fieldPath(stack.slice(0, lastKey + 1));
  return path.length <= 200 ? path : `${path.slice(0, 197)}...`;
}

/** Where the scan is, as the API names fields: `rows[2].thickness_mm`, `outcomes[0].actual`, `body`. */
function fieldPath(stack: readonly Frame[]): string {
  let path = '';
  for (const frame of stack) {
    if (frame.kind === 'array') path += `[${frame.index}]`;
    else if (frame.key !== undefined) path += path === '' ? frame.key : `.${frame.key}`;
  }
  return path === '' ? 'body' : path;
}
