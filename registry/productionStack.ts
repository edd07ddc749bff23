/**
 * Where a rollback goes. The production alias's history is read as a stack: a move puts a version on
 * top, a rollback takes the top off. So after moves to 1, 2, 3 a rollback returns to 2, a second one
 * to 1, and a third finds nothing earlier (instead of bouncing between 3 and 2).
 */

export interface ProductionHistoryEntry {
  kind: 'move' | 'rollback' | 'remove';
  version: number | null;
}

/**
 * The stack of production versions after `history` (oldest entry first); the last element serves now.
 * A move to the version already on top is a no-op; a rollback's own version is trusted over the
 * stack, so history written by hand cannot make the stack disagree with it.
 */
export function productionStack(history: readonly ProductionHistoryEntry[]): number[] {
  const stack: number[] = [];
  for (const entry of history) {
    if (entry.kind === 'remove' || entry.version === null) {
      stack.length = 0;
      continue;
    }
    if (entry.kind === 'rollback') {
      stack.pop();
      while (stack.length > 0 && stack.at(-1) !== entry.version) stack.pop();
      if (stack.length === 0) stack.push(entry.version);
      continue;
    }
    if (stack.at(-1) !== entry.version) stack.push(entry.version);
  }
  return stack;
}

/** The version a rollback returns production to, or undefined when there is none. */
export function previousProductionVersion(history: readonly ProductionHistoryEntry[]): number | undefined {
  const stack = productionStack(history);
  return stack.length >= 2 ? stack[stack.length - 2] : undefined;
}
