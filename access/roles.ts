/**
 * Who may do what: the roles of people, the scopes of API tokens, and the checks that join them to
 * a model or an API route. Pure code; the rows come from `access/users.ts` and `access/tokens.ts`.
 */
import { AccessError } from './errors';

export const ROLES = ['admin', 'starter', 'approver', 'operator', 'reader'] as const;
/**
 * - `admin`: manage users, keys and tokens.
 * - `starter`: start lifecycle runs.
 * - `approver`: approve or reject candidates of the user's models.
 * - `operator`: teach categories, roll back, batch-score and garbage-collect the user's models.
 * - `reader`: read only.
 */
export type Role = (typeof ROLES)[number];

export const SCOPES = ['predict', 'outcomes', 'read', 'admin'] as const;
/** What an API token may call: predict, report outcomes, read models/cards/status, or anything. */
export type Scope = (typeof SCOPES)[number];

/** The models a user acts on: pipeline names, or `*` for all. */
export const EVERY_MODEL = '*';

/** A person as the checks need them. */
export interface AccessUser {
  name: string;
  displayName: string;
  roles: Role[];
  models: string[];
  disabledAt: Date | null;
}

/** What a decision on a model asks of the user. */
export type ModelAction = 'approve' | 'reject' | 'rollback' | 'teach' | 'score' | 'collect';

const ROLE_FOR_ACTION: Record<ModelAction, Role> = {
  approve: 'approver',
  reject: 'approver',
  rollback: 'operator',
  teach: 'operator',
  // Batch scoring runs a query over the shop's data and writes a result table: the model's operators.
  score: 'operator',
  // Garbage collection removes a model's rejected and failed versions' objects (`kerf gc`): its operators.
  collect: 'operator',
};

/** The role an action on a model needs. */
export function roleFor(action: ModelAction): Role {
  return ROLE_FOR_ACTION[action];
}

/**
 * Why `user` may not take `action` on `model`, or undefined when they may. The message names the
 * role and the models, for the refusal a person reads.
 */
export function actionProblem(user: AccessUser, action: ModelAction, model: string): string | undefined {
  if (user.disabledAt) return `user ${user.name} is disabled`;
  const role = roleFor(action);
  if (!user.roles.includes(role)) {
    return `user ${user.name} has roles ${user.roles.join(', ')}, not ${role}: only an ${role} may ${action}`;
  }
  if (!user.models.includes(EVERY_MODEL) && !user.models.includes(model)) {
    return `user ${user.name} is a ${role} of ${user.models.length ? user.models.join(', ') : 'no model'}, not of ${model}`;
  }
  return undefined;
}

/**
 * The scope an API request needs: POST predict (and forecast) needs `predict`, POST outcomes needs `outcomes`,
 * any other GET needs `read`; everything else needs `admin`.
 */
export function scopeForRequest(method: string, route: string): Scope {
  const upper = method.toUpperCase();
  if (upper === 'POST' && /^\/v1\/models\/[^/]+\/(predict|forecast)$/.test(route)) return 'predict';
  if (upper === 'POST' && route === '/v1/outcomes') return 'outcomes';
  if (upper === 'GET' || upper === 'HEAD') return 'read';
  return 'admin';
}

/** Whether a token with `scopes` may make a request that needs `needed` (`admin` may do anything). */
export function scopeAllows(scopes: readonly Scope[], needed: Scope): boolean {
  return scopes.includes('admin') || scopes.includes(needed);
}

/** Parses a comma-separated list of roles, naming the first unknown one. */
export function parseRoles(text: string): Role[] {
  return parseList(text, ROLES, 'role');
}

/** Parses a comma-separated list of scopes, naming the first unknown one. */
export function parseScopes(text: string): Scope[] {
  return parseList(text, SCOPES, 'scope');
}

function parseList<T extends string>(text: string, known: readonly T[], what: string): T[] {
  const items = [
    ...new Set(
      text
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== ''),
    ),
  ];
  if (items.length === 0)
    throw new AccessError('invalid-input', `give at least one ${what}: ${known.join(', ')}`);
  for (const item of items) {
    if (!(known as readonly string[]).includes(item)) {
      throw new AccessError(
        'invalid-input',
        `${what} ${JSON.stringify(item)} is unknown: use ${known.join(', ')}`,
      );
    }
  }
  return items as T[];
}
