/** Parsing, loading and hashing pipeline specs, with every problem named by its field. */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { type z } from 'zod';
import { pipelineSpecSchema, type PipelineSpec } from './schema';
import { isRecord, parseDuration } from './syntax';

/**
 * How many problems the message lists, and how long each may be: a spec may come from anyone who
 * reaches Temporal (a run's input), with thousands of unknown keys or a megabyte-long one, and the
 * message goes into the run's failure and the audit log. `problems` keeps them all.
 */
const SHOWN_PROBLEMS = 50;
const SHOWN_PROBLEM_CHARS = 500;

function problemLines(problems: readonly string[]): string {
  const shown = problems
    .slice(0, SHOWN_PROBLEMS)
    .map((problem) =>
      problem.length > SHOWN_PROBLEM_CHARS ? `${problem.slice(0, SHOWN_PROBLEM_CHARS)}...` : problem,
    );
  if (problems.length > SHOWN_PROBLEMS) shown.push(`... and ${problems.length - SHOWN_PROBLEMS} more`);
  return shown.join('\n');
}

/** An invalid pipeline spec: one line per problem, `path.to.field: reason`. */
export class PipelineSpecError extends Error {
  constructor(
    readonly problems: string[],
    readonly origin?: string,
  ) {
    super(`Invalid pipeline spec${origin ? ` ${origin}` : ''}:\n${problemLines(problems)}`);
    this.name = 'PipelineSpecError';
  }
}

/** `['features', 2, 'name']` -> `features[2].name`; odd keys in brackets; the root is `(spec)`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key)) out += out ? `.${key}` : key;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out || '(spec)';
}

function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const reasons = issue.message.split('\n');
      issue.keys.forEach((key, index) => {
        const reason = reasons.length === issue.keys.length ? reasons[index] : undefined;
        lines.push(`${formatPath([...issue.path, key])}: ${reason ?? 'unknown key'}`);
      });
    } else {
      lines.push(`${formatPath(issue.path)}: ${issue.message}`);
    }
  }
  return [...new Set(lines)];
}

/** Per-parse messages: a missing field reads "required", the rest keep the schema's own message. */
const parseErrors: z.core.$ZodErrorMap = (issue) => {
  if (issue.code === 'invalid_type' && issue.input === undefined) return `required (${issue.expected})`;
  if (issue.code === 'invalid_type') {
    const received =
      issue.input === null ? 'null' : Array.isArray(issue.input) ? 'array' : typeof issue.input;
    return `must be ${issue.expected === 'array' || issue.expected === 'object' ? 'an' : 'a'} ${issue.expected}, not ${received}`;
  }
  return undefined;
};

/**
 * Validates a pipeline spec and fills its defaults.
 *
 * @param json the parsed JSON document
 * @param origin where it came from (a file name), for the error message
 * @throws PipelineSpecError listing every problem, one `path.to.field: reason` line each
 */
export function parsePipelineSpec(json: unknown, origin?: string): PipelineSpec {
  const parsed = pipelineSpecSchema.safeParse(json, { error: parseErrors });
  if (!parsed.success) throw new PipelineSpecError(formatIssues(parsed.error.issues), origin);
  return parsed.data;
}

/** Line and column (1-based) of a character offset. */
function lineAndColumn(text: string, position: number): { line: number; column: number } {
  const before = text.slice(0, position).split('\n');
  return { line: before.length, column: (before.at(-1)?.length ?? 0) + 1 };
}

/**
 * The offset of the first JSON syntax error in `text` (text.length when it ends too early), or
 * undefined when it is valid. Node's own messages do not always give a position.
 */
export function jsonErrorOffset(text: string): number | undefined {
  let i = 0;
  class Failure extends Error {
    constructor(readonly at: number) {
      super(`JSON syntax error at ${at}`);
    }
  }
  const fail = (at = i): never => {
    throw new Failure(at);
  };
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i] ?? '')) i++;
  };
  const expect = (char: string) => (text[i] === char ? i++ : fail());
  const literal = (word: string) => (text.startsWith(word, i) ? (i += word.length) : fail());
  const string = () => {
    expect('"');
    for (;;) {
      const char = text[i];
      if (char === undefined) fail();
      else if (char === '"') {
        i++;
        return;
      } else if (char === '\\') {
        const escape = text[i + 1];
        if (escape !== undefined && '"\\/bfnrt'.includes(escape)) i += 2;
        else if (escape === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) i += 6;
        else fail(i + 1);
      } else if (char < ' ') fail();
      else i++;
    }
  };
  // An object's members or an array's values: the opening bracket, then `item`s separated by commas
  // up to `close` (none at all is fine, a trailing comma is not).
  const items = (close: string, item: () => void): void => {
    i++;
    ws();
    if (text[i] === close) {
      i++;
      return;
    }
    for (;;) {
      item();
      ws();
      if (text[i] === ',') i++;
      else {
        expect(close);
        return;
      }
    }
  };
  const member = (): void => {
    ws();
    string();
    ws();
    expect(':');
    value();
  };
  const value = (): void => {
    ws();
    const char = text[i];
    if (char === '{') items('}', member);
    else if (char === '[') items(']', value);
    else if (char === '"') string();
    else if (char === 't') literal('true');
    else if (char === 'f') literal('false');
    else if (char === 'n') literal('null');
    else {
      const number = /-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
      number.lastIndex = i;
      if (!number.test(text)) fail();
      i = number.lastIndex;
    }
  };
  try {
    value();
    ws();
    if (i < text.length) fail();
    return undefined;
  } catch (error) {
    if (error instanceof Failure) return Math.min(error.at, text.length);
    throw error;
  }
}

/**
 * Reads and validates a pipeline spec file.
 *
 * @throws PipelineSpecError when the file is not JSON (naming the line and column) or not a valid spec
 */
export async function loadPipelineSpec(file: string): Promise<PipelineSpec> {
  const text = await readFile(file, 'utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const offset = jsonErrorOffset(text) ?? text.length;
    const { line, column } = lineAndColumn(text, offset);
    throw new PipelineSpecError([`line ${line}, column ${column}: not valid JSON: ${message}`], file);
  }
  return parsePipelineSpec(json, file);
}

/** JSON with object keys sorted at every level; undefined properties are left out as JSON does. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(',')}]`;
  if (isRecord(value)) {
    const entries = Object.keys(value)
      .sort()
      .filter((key) => value[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key])}`);
    return `{${entries.join(',')}}`;
  }
  // undefined, functions and symbols have no JSON; like JSON.stringify in arrays, write null.
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol') return 'null';
  return JSON.stringify(value);
}

/** SHA-256 (hex) of the canonical JSON of a parsed spec: equal specs hash equal whatever their key order. */
export function specHash(spec: PipelineSpec): string {
  return createHash('sha256').update(canonicalJson(spec)).digest('hex');
}

/** The approval deadline in milliseconds. */
export function approvalDeadlineMs(spec: PipelineSpec): number {
  const ms = parseDuration(spec.approval.deadline);
  if (ms === undefined) throw new Error(`approval.deadline "${spec.approval.deadline}" is not a duration`);
  return ms;
}
