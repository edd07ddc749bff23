/**
 * Building blocks of the trainers' parameter schemas (and of the pipeline spec, which re-exports
 * them): strict objects with "did you mean" hints and numbers with their range in the message.
 */
import { z } from 'zod';

/** Edit distance, for "did you mean" hints on misspelt keys. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

export function unknownKeyReason(key: string, known: readonly string[]): string {
  const lower = key.toLowerCase();
  const close = known
    .map((candidate) => ({
      candidate,
      distance: candidate.toLowerCase() === lower ? 0 : editDistance(lower, candidate.toLowerCase()),
    }))
    .filter(({ distance }) => distance <= (key.length >= 5 ? 2 : 1))
    .sort((x, y) => x.distance - y.distance)[0];
  return close
    ? `unknown key; did you mean "${close.candidate}"?`
    : `unknown key; allowed keys: ${known.join(', ')}`;
}

/**
 * A strict object: a key not in `shape` is refused by name. The issue's message holds one reason per
 * unknown key, in the order of `issue.keys`, one per line; `formatIssues` puts each on its own path.
 */
export function strictObject<Shape extends z.core.$ZodLooseShape>(shape: Shape) {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? issue.keys.map((key) => unknownKeyReason(key, known)).join('\n')
        : undefined,
  });
}

/** The message for a given but wrong value; a missing one keeps the per-parse "required" message. */
export function whenGiven(issue: { input?: unknown }, message: string): string | undefined {
  return issue.input === undefined ? undefined : message;
}

/** A number in (min, max], [min, max], ... with the range in the message. */
export function between(
  min: number,
  max: number,
  { minOpen = false, maxOpen = false, integer = false } = {},
): z.ZodNumber {
  const unbounded = max >= Number.MAX_SAFE_INTEGER;
  const range = unbounded
    ? `${minOpen ? '>' : '>='} ${min}`
    : `in ${minOpen ? '(' : '['}${min}, ${max}${maxOpen ? ')' : ']'}`;
  const message = `must be ${integer ? 'an integer ' : ''}${range}`;
  let schema = z.number({ error: (issue) => (issue.input === undefined ? undefined : `must be a number`) });
  if (integer) schema = schema.int(message);
  schema = minOpen ? schema.gt(min, message) : schema.gte(min, message);
  schema = maxOpen ? schema.lt(max, message) : schema.lte(max, message);
  return schema;
}

export const nonNegative = () => between(0, Number.MAX_VALUE);
