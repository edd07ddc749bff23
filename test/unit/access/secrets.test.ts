import { describe, expect, it } from 'vitest';
import {
  AccessError,
  actionProblem,
  hashSecret,
  issueSecret,
  parseRoles,
  parseScopes,
  parseSecret,
  scopeAllows,
  scopeForRequest,
  verifySecret,
  type AccessUser,
} from '../../../access';

describe('secrets', () => {
  it('hashes with scrypt, salt and parameters, and verifies only the same secret', async () => {
    const stored = await hashSecret('open sesame');
    expect(stored).toMatch(/^scrypt:16384:8:1:[\w-]{22}:[\w-]{43}$/);
    expect(await hashSecret('open sesame')).not.toBe(stored);
    expect(await verifySecret('open sesame', stored)).toBe(true);
    expect(await verifySecret('open sesamE', stored)).toBe(false);
  });
  it('refuses stored hashes that are malformed or would make a check take forever', async () => {
    expect(await verifySecret('x', 'plain:text')).toBe(false);
    expect(await verifySecret('x', 'scrypt:1073741824:8:1:c2FsdHNhbHQ:aGFzaGhhc2hoYXNoaGFzaA')).toBe(false);
    expect(await verifySecret('x', 'scrypt:16384:8:1::')).toBe(false);
  });
  it('issues ids with a prefix and parses only the right kind and shape', async () => {
    const key = await issueSecret('user-key');
    expect(key.text).toMatch(/^kk_[a-z2-7]{10}_[a-z2-7]{52}$/);
    expect(parseSecret('user-key', key.text)).toEqual({ id: key.id, secret: key.text.slice(14) });
    expect(await verifySecret(key.text.slice(14), key.hash)).toBe(true);
    const code = await issueSecret('decision-code');
    expect(code.text).toMatch(/^kc_[a-z2-7]{8}_[a-z2-7]{20}$/);
    expect(parseSecret('user-key', code.text)).toBeUndefined();
    expect(parseSecret('decision-code', code.text.toUpperCase())).toBeUndefined();
    expect(parseSecret('decision-code', `${code.text}x`)).toBeUndefined();
    for (const junk of [null, 42, [], {}, '', 'x'.repeat(1_000_000)]) {
      expect(parseSecret('decision-code', junk)).toBeUndefined();
    }
  });
});

describe('roles and scopes', () => {
  const user = (
    roles: AccessUser['roles'],
    models: string[],
    disabledAt: Date | null = null,
  ): AccessUser => ({
    name: 'anna',
    displayName: '',
    roles,
    models,
    disabledAt,
  });
  it('lets an approver of the model approve, and names why others may not', () => {
    expect(actionProblem(user(['approver'], ['cut-time']), 'approve', 'cut-time')).toBeUndefined();
    expect(actionProblem(user(['approver'], ['*']), 'reject', 'bend-time')).toBeUndefined();
    expect(actionProblem(user(['approver'], ['bend-time']), 'approve', 'cut-time')).toBe(
      'user anna is a approver of bend-time, not of cut-time',
    );
    expect(actionProblem(user(['reader'], ['*']), 'approve', 'cut-time')).toMatch(/not approver/);
    expect(actionProblem(user(['approver'], ['*']), 'rollback', 'cut-time')).toMatch(/not operator/);
    expect(actionProblem(user(['operator'], ['*'], new Date()), 'teach', 'cut-time')).toBe(
      'user anna is disabled',
    );
  });
  it('maps routes to scopes; admin covers everything', () => {
    expect(scopeForRequest('POST', '/v1/models/:name/predict')).toBe('predict');
    expect(scopeForRequest('POST', '/v1/outcomes')).toBe('outcomes');
    expect(scopeForRequest('GET', '/v1/models/:name/versions/:version/card')).toBe('read');
    expect(scopeForRequest('DELETE', '/v1/models')).toBe('admin');
    expect(scopeAllows(['predict'], 'outcomes')).toBe(false);
    expect(scopeAllows(['admin'], 'outcomes')).toBe(true);
  });
  it('parses role and scope lists, naming an unknown one', () => {
    expect(parseRoles('approver, operator,approver')).toEqual(['approver', 'operator']);
    expect(parseScopes('predict,outcomes')).toEqual(['predict', 'outcomes']);
    expect(() => parseRoles('approver,root')).toThrow(AccessError);
    expect(() => parseScopes('')).toThrow(/give at least one scope/);
  });
});
