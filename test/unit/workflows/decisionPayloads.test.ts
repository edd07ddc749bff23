import { describe, expect, it } from 'vitest';
import { pendingDecision } from '../../../workflows/decisionPayloads';

describe('a decision payload as the workflow reduces it', () => {
  it('keeps a code and a comment', () => {
    expect(pendingDecision('approve', 'signal', { code: 'kc_x', comment: 'fine' })).toEqual({
      action: 'approve',
      via: 'signal',
      code: 'kc_x',
      comment: 'fine',
    });
  });
  it('names the problem of anything else, without keeping it', () => {
    const problem = (payload: unknown, via: 'signal' | 'update' = 'signal') =>
      pendingDecision('approve', via, payload).problem;
    expect(problem(null)).toMatch(/not null/);
    expect(problem([])).toMatch(/not an array/);
    expect(problem(42)).toMatch(/not a number/);
    expect(problem('x'.repeat(2_000_000))).toMatch(/not a string of 2000000 characters/);
    expect(problem({ approver: '' })).toMatch(/a typed name proves nothing/);
    expect(problem({})).toMatch(/has no "code"/);
    expect(problem({ code: 7 })).toMatch(/"code" must be a Kerf decision code/);
    expect(problem({ code: 'kc_x', comment: {} })).toBe('"comment" must be text');
    expect(problem({ decision: 'maybe', code: 'kc_x' }, 'update')).toBe(
      'decision must be "approve" or "reject"',
    );
    expect(pendingDecision('rollback', 'update', { code: 'kc_x', reason: ' ' }).problem).toBe(
      'say why: a rollback needs a reason',
    );
    expect(
      pendingDecision('approve', 'signal', { code: 'kc_x', comment: 'y'.repeat(5000) }).comment,
    ).toHaveLength(1000);
  });
});
