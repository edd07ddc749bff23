/**
 * Values stored as jsonb (parameters, metrics, gate verdicts, audit details). `JSON.stringify` would
 * quietly turn a NaN metric into null and drop a Date's type; the registry refuses instead, naming
 * the path, because a version's recorded content can never be corrected afterwards.
 */
import { RegistryError } from './errors';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/**
 * Checks that `value` is plain JSON (objects, arrays, strings, finite numbers, booleans, null) and
 * returns its text for a `$n::jsonb` parameter. Object properties that are `undefined` are left out,
 * as JSON does.
 *
 * @param field the name used in errors, such as `metrics`
 * @throws RegistryError (`invalid-input`) naming the first path that is not JSON
 */
export function toJsonText(value: unknown, field: string): string {
  checkJson(value, field, new Set());
  return JSON.stringify(value);
}

/** Like {@link toJsonText}, and the value must be an object (not an array or a scalar). */
export function toJsonObjectText(value: unknown, field: string): string {
  if (!isPlainObject(value)) {
    throw new RegistryError(
      'invalid-input',
      `${field} must be an object such as {"rmse": 1.7}, not ${describe(value)}`,
    );
  }
  return toJsonText(value, field);
}

function checkJson(value: unknown, path: string, seen: Set<object>): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) {
      throw new RegistryError(
        'invalid-input',
        `${path} is ${String(value)}: record finite numbers only, and leave out a value that could not be measured`,
      );
    }
    return;
  }
  if (Array.isArray(value)) {
    enter(value, path, seen);
    value.forEach((item: unknown, index) => {
      if (item === undefined) {
        throw new RegistryError(
          'invalid-input',
          `${path}[${index}] is undefined: use null for a missing item`,
        );
      }
      checkJson(item, `${path}[${index}]`, seen);
    });
    seen.delete(value);
    return;
  }
  if (isPlainObject(value)) {
    enter(value, path, seen);
    for (const [key, item] of Object.entries(value)) {
      if (item !== undefined) checkJson(item, `${path}.${key}`, seen);
    }
    seen.delete(value);
    return;
  }
  throw new RegistryError(
    'invalid-input',
    `${path} is ${describe(value)}, which JSON cannot hold: convert it to a string, number, boolean, array or plain object`,
  );
}

function enter(value: object, path: string, seen: Set<object>): void {
  if (seen.has(value)) {
    throw new RegistryError('invalid-input', `${path} refers back to itself: JSON cannot hold a cycle`);
  }
  seen.add(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Date) return 'a Date';
  if (typeof value === 'object') return `a ${value.constructor.name}`;
  return `a ${typeof value}`;
}
