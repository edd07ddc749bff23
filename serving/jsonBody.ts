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

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * A number without an exponent and at most this many characters long has at most as many integer
 * digits, so it is finite (only 309 of them or more can reach Infinity): only a longer one, or one with
 * an exponent, is converted to check.
 */
const ALWAYS_FINITE_LENGTH = 300;

/** Up to this many keys an object's keys are searched in a list; past them, in a Set. */
const LISTED_KEYS = 8;

/** What the scan reads next: numbers rather than names, as the step switches on it for every token. */
const VALUE = 0;
const VALUE_OR_END = 1;
const KEY = 2;
const KEY_OR_END = 3;
const AFTER_VALUE = 4;
type Expect = typeof VALUE | typeof VALUE_OR_END | typeof KEY | typeof KEY_OR_END | typeof AFTER_VALUE;

/** An open object or list. A scan keeps one per depth and reuses it for the next one opened there. */
class Frame {
  isObject = false;
  /** Objects: the key whose value is being read. */
  key: string | undefined = undefined;
  /**
   * Objects: how many keys so far, each decoded; the first {@link LISTED_KEYS} are in `keys`, and past
   * those all of them are in `keySet`.
   */
  keyCount = 0;
  readonly keys: string[] = [];
  keySet: Set<string> | undefined = undefined;
  /** Arrays: the index of the value being read. */
  index = 0;
}

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
 * One scan of a body: its state in fields and its steps as methods, so a request costs one object and
 * a frame per depth (not a closure per step, each named by the TypeScript loader at every call). It
 * reads char codes, never one-character strings.
 */
class BodyScan {
  /** The open objects and lists, outermost first: `frames[0]` to `frames[depth - 1]`. */
  private readonly frames: Frame[] = [];
  private depth = 0;
  /** `frames[depth - 1]`, or undefined at the top level. */
  private top: Frame | undefined = undefined;
  private at = 0;
  private expect: Expect = VALUE;
  private readonly length: number;

  constructor(
    private readonly text: string,
    private readonly limits: JsonBodyLimits,
  ) {
    this.length = text.length;
  }

  run(): unknown {
    const text = this.text;
    for (;;) {
      let at = this.at;
      // NaN past the end, which matches nothing below.
      let code = text.charCodeAt(at);
      if (code <= 0x20) {
        at = this.skipWhitespace();
        code = text.charCodeAt(at);
      }
      const expect = this.expect;
      if (expect === AFTER_VALUE) {
        const top = this.top;
        if (top === undefined) {
          if (at < this.length) this.syntax();
          try {
            return JSON.parse(text) as unknown;
          } catch {
            return this.syntax();
          }
        }
        if (code === 0x2c /* , */) {
          this.at = at + 1;
          if (top.isObject) {
            this.expect = KEY;
          } else {
            top.index += 1;
            this.expect = VALUE;
          }
        } else if (code === (top.isObject ? 0x7d /* } */ : 0x5d) /* ] */) {
          this.closeContainer();
        } else {
          this.syntax();
        }
      } else if (expect === KEY || expect === KEY_OR_END) {
        if (expect === KEY_OR_END && code === 0x7d /* } */) this.closeContainer();
        else this.readKey(code);
      } else if (expect === VALUE_OR_END && code === 0x5d /* ] */) {
        this.closeContainer();
      } else {
        this.readValue(code);
      }
    }
  }

  /** Reads the value starting at `at`, whose first char code is `code`, or opens its object or list. */
  private readValue(code: number): void {
    if (code === 0x22 /* " */) {
      this.readString(false);
      this.expect = AFTER_VALUE;
    } else if (code === 0x2d /* - */ || (code >= 0x30 && code <= 0x39)) {
      this.readNumber();
      this.expect = AFTER_VALUE;
    } else if (code === 0x7b /* { */ || code === 0x5b /* [ */) {
      this.openContainer(code === 0x7b);
    } else if (
      (code === 0x74 && this.text.startsWith('true', this.at)) ||
      (code === 0x6e && this.text.startsWith('null', this.at))
    ) {
      this.at += 4;
      this.expect = AFTER_VALUE;
    } else if (code === 0x66 && this.text.startsWith('false', this.at)) {
      this.at += 5;
      this.expect = AFTER_VALUE;
    } else {
      this.syntax();
    }
  }

  /**
   * Reads a key, whose first char code is `code`, and the colon after it; refuses a prototype key or a
   * key the object already has (compared decoded: `"\u0061"` is `"a"`).
   */
  private readKey(code: number): void {
    const top = this.top;
    if (code !== 0x22 /* " */ || top === undefined) return this.syntax();
    // A key too long is named by the object that holds it, not by the key before it.
    top.key = undefined;
    const key = this.readString(true) as string;
    top.key = key;
    if (isPrototypeKey(key)) {
      this.refuse(`is a key named ${key}, which is refused: it is not a column or a field of the API`);
    }
    if (!addKey(top, key)) this.refuse('appears twice in the same object: send each key once');
    // The colon mostly follows the key at once; whitespace before it is skipped only when there is some.
    if (
      this.text.charCodeAt(this.at) !== 0x3a /* : */ &&
      this.text.charCodeAt(this.skipWhitespace()) !== 0x3a
    ) {
      this.syntax();
    }
    this.at += 1;
    this.expect = VALUE;
  }

  /** Opens the object or list at `at`, unless it would nest deeper than the limit. */
  private openContainer(isObject: boolean): void {
    const { frames, depth } = this;
    const maxDepth = this.limits.maxDepth;
    if (depth >= maxDepth) {
      this.refuse(
        `nests lists and objects deeper than the ${maxDepth} levels a body may have: send plain column values`,
        depthPath(frames, depth),
      );
    }
    let frame = frames[depth];
    if (frame === undefined) {
      frame = new Frame();
      frames.push(frame);
    } else {
      frame.key = undefined;
      frame.keyCount = 0;
      frame.keySet = undefined;
      frame.index = 0;
    }
    frame.isObject = isObject;
    this.depth = depth + 1;
    this.top = frame;
    this.at += 1;
    this.expect = isObject ? KEY_OR_END : VALUE_OR_END;
  }

  /** Steps over the `]` or `}` that closes the innermost list or object: what follows is a value's end. */
  private closeContainer(): void {
    const depth = this.depth - 1;
    this.depth = depth;
    this.top = depth > 0 ? this.frames[depth - 1] : undefined;
    this.at += 1;
    this.expect = AFTER_VALUE;
  }

  private refuse(reason: string, field = fieldPath(this.frames, this.depth)): never {
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

  /**
   * Steps over the number at `at` (JSON's grammar: what follows it is left to the next step) and
   * refuses one JSON.parse would turn into Infinity. Only an exponent or hundreds of digits can do
   * that, so only such a number is converted here.
   */
  private readNumber(): void {
    const text = this.text;
    const start = this.at;
    let index = start;
    let code = text.charCodeAt(index);
    if (code === 0x2d /* - */) {
      index += 1;
      code = text.charCodeAt(index);
    }
    if (code === 0x30 /* 0 */) {
      index += 1;
    } else if (code >= 0x31 && code <= 0x39) {
      index = skipDigits(text, index + 1);
    } else {
      this.syntax();
    }
    if (text.charCodeAt(index) === 0x2e /* . */ && isDigit(text.charCodeAt(index + 1))) {
      index = skipDigits(text, index + 2);
    }
    let exponent = false;
    code = text.charCodeAt(index);
    if (code === 0x65 /* e */ || code === 0x45 /* E */) {
      let digits = index + 1;
      code = text.charCodeAt(digits);
      if (code === 0x2b /* + */ || code === 0x2d /* - */) digits += 1;
      if (isDigit(text.charCodeAt(digits))) {
        index = skipDigits(text, digits + 1);
        exponent = true;
      }
    }
    if (exponent || index - start > ALWAYS_FINITE_LENGTH) {
      const raw = text.slice(start, index);
      if (!Number.isFinite(Number(raw))) {
        const shown = raw.length > 20 ? `${raw.slice(0, 20)}...` : raw;
        this.refuse(`is ${shown}, a number too large to be finite: send a finite number`);
      }
    }
    this.at = index;
  }

  /** Reads the string starting at `at` (a quote); returns its value when it had escapes or is a key. */
  private readString(needValue: boolean): string | undefined {
    const { text, length } = this;
    const maxStringLength = this.limits.maxStringLength;
    const start = this.at;
    let index = start + 1;
    let decoded = 0;
    let escaped = false;
    for (;;) {
      if (index >= length) this.syntax();
      const code = text.charCodeAt(index);
      if (code === 0x22 /* " */) break;
      if (code === 0x5c /* \ */) {
        escaped = true;
        index += text.charCodeAt(index + 1) === 0x75 /* u */ ? 6 : 2;
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
    this.at = index + 1;
    if (!escaped) return needValue ? text.slice(start + 1, index) : undefined;
    let value: string;
    try {
      value = JSON.parse(text.slice(start, index + 1)) as string;
    } catch {
      return this.syntax();
    }
    if (value.includes('\u0000')) this.refuse('holds a NUL character (\\u0000): remove it');
    if (LONE_SURROGATE.test(value)) {
      this.refuse('holds a broken surrogate pair (a lone \\uD800-\\uDFFF escape): send well-formed Unicode');
    }
    return value;
  }

  /** Steps over JSON whitespace from `at`; returns where it stopped. */
  private skipWhitespace(): number {
    const { text, length } = this;
    let at = this.at;
    while (at < length) {
      const code = text.charCodeAt(at);
      if (code !== 0x20 && code !== 0x0a && code !== 0x0d && code !== 0x09) break;
      at += 1;
    }
    this.at = at;
    return at;
  }
}

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

/** Where the run of digits from `index` ends. */
function skipDigits(text: string, index: number): number {
  let at = index;
  while (isDigit(text.charCodeAt(at))) at += 1;
  return at;
}

/** Keys refused anywhere in a body: in JavaScript they name an object's prototype, not data. */
function isPrototypeKey(key: string): boolean {
  const length = key.length;
  return (
    (length === 9 && (key === '__proto__' || key === 'prototype')) || (length === 11 && key === 'constructor')
  );
}

/** Adds a (decoded) key to its object's keys; false when the object already has it. */
function addKey(frame: Frame, key: string): boolean {
  const count = frame.keyCount;
  if (count < LISTED_KEYS) {
    const keys = frame.keys;
    for (let index = 0; index < count; index += 1) {
      if (keys[index] === key) return false;
    }
    keys[count] = key;
  } else {
    // Past a handful of keys a list search costs more than a Set: the listed keys move into one.
    const set = (frame.keySet ??= new Set(frame.keys.slice(0, LISTED_KEYS)));
    if (set.has(key)) return false;
    set.add(key);
  }
  frame.keyCount = count + 1;
  return true;
}

/**
 * Where a too-deep nesting starts: the path to the innermost key (`rows[0].notes`), not through the
 * thousands of lists below it, and never longer than 200 characters.
 */
function depthPath(frames: readonly Frame[], depth: number): string {
  let lastKey = depth - 1;
  while (lastKey >= 0) {
    const frame = frames[lastKey];
    if (frame?.isObject === true && frame.key !== undefined) break;
    lastKey -= 1;
  }
  const path = fieldPath(frames, lastKey + 1);
  return path.length <= 200 ? path : `${path.slice(0, 197)}...`;
}

/**
 * Where the scan is, as the API names fields: `rows[2].thickness_mm`, `outcomes[0].actual`, `body`;
 * from the open frames `frames[0]` to `frames[depth - 1]`.
 */
function fieldPath(frames: readonly Frame[], depth: number): string {
  let path = '';
  for (let index = 0; index < depth; index += 1) {
    const frame = frames[index];
    if (frame === undefined) break;
    if (!frame.isObject) path += `[${frame.index}]`;
    else if (frame.key !== undefined) path += path === '' ? frame.key : `.${frame.key}`;
  }
  return path === '' ? 'body' : path;
}
