import { describe, expect, it } from 'vitest';
import { toJsonObjectText, toJsonText } from '../../../registry/json';
import { parseAliasChange } from '../../../registry/notifications';
import {
  previousProductionVersion,
  productionStack,
  type ProductionHistoryEntry,
} from '../../../registry/productionStack';
import { transitionProblem, VERSION_STATUSES, VERSION_TRANSITIONS } from '../../../registry/status';

const move = (version: number): ProductionHistoryEntry => ({ kind: 'move', version });
const rollback = (version: number): ProductionHistoryEntry => ({ kind: 'rollback', version });

describe('productionStack', () => {
  it('rolls back to the version before, then further back, never bouncing forward', () => {
    const history = [move(1), move(2), move(3)];
    expect(productionStack(history)).toEqual([1, 2, 3]);
    expect(previousProductionVersion(history)).toBe(2);
    history.push(rollback(2));
    expect(previousProductionVersion(history)).toBe(1);
    history.push(rollback(1));
    expect(previousProductionVersion(history)).toBeUndefined();
    history.push(move(4));
    expect(productionStack(history)).toEqual([1, 4]);
  });

  it('ignores a repeated move to the serving version and remembers a return to an old one', () => {
    expect(productionStack([move(1), move(1), move(2)])).toEqual([1, 2]);
    expect(previousProductionVersion([move(1), move(2), move(1)])).toBe(2);
    expect(previousProductionVersion([])).toBeUndefined();
  });

  it("trusts a rollback's own version when the history disagrees", () => {
    expect(productionStack([move(1), move(2), rollback(7)])).toEqual([7]);
    expect(productionStack([move(1), move(2), move(3), rollback(1)])).toEqual([1]);
  });
});

describe('JSON checks', () => {
  it('passes plain JSON through and leaves out undefined properties', () => {
    expect(
      toJsonText({ rmse: 1.5, tags: ['a', null], nested: { ok: true }, skipped: undefined }, 'metrics'),
    ).toBe('{"rmse":1.5,"tags":["a",null],"nested":{"ok":true}}');
  });

  it('names the path of a value JSON would silently change', () => {
    expect(() => toJsonText({ slices: [{ rmse: Number.POSITIVE_INFINITY }] }, 'metrics')).toThrow(
      /^metrics\.slices\[0\]\.rmse is Infinity: record finite numbers only/,
    );
    expect(() => toJsonText({ at: new Date(0) }, 'details')).toThrow(
      /^details\.at is a Date, which JSON cannot hold/,
    );
    expect(() => toJsonText([1, undefined], 'gateVerdicts')).toThrow(/^gateVerdicts\[1\] is undefined/);
    expect(() => toJsonText({ n: 10n }, 'params')).toThrow(/^params\.n is a bigint/);
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    expect(() => toJsonText(loop, 'details')).toThrow(/^details\.self refers back to itself/);
  });

  it('accepts a value used twice, which is not a cycle', () => {
    const shared = { a: 1 };
    expect(toJsonText({ x: shared, y: shared }, 'details')).toBe('{"x":{"a":1},"y":{"a":1}}');
  });

  it('wants an object where an object is expected', () => {
    expect(() => toJsonObjectText([1, 2], 'metrics')).toThrow(/^metrics must be an object such as/);
    expect(() => toJsonObjectText(null, 'params')).toThrow(/not null/);
  });
});

describe('version transitions', () => {
  it('names only known statuses and explains a refused move', () => {
    for (const targets of Object.values(VERSION_TRANSITIONS)) {
      for (const target of targets) expect(VERSION_STATUSES).toContain(target);
    }
    expect(transitionProblem('training', 'candidate')).toBeUndefined();
    expect(transitionProblem('candidate', 'deployed')).toBe(
      'from candidate a version may only become approved or rejected',
    );
    expect(transitionProblem('rejected', 'training')).toBe('rejected is final: nothing follows it');
  });
});

describe('parseAliasChange', () => {
  const payload = {
    event: 'alias-changed',
    model: 'steel-energy',
    alias: 'canary',
    version: 4,
    previousVersion: null,
    trafficShare: 0.1,
    updatedBy: 'shop-manager',
    at: '2026-01-01T00:00:00Z',
  };

  it('reads what the trigger sends', () => {
    expect(parseAliasChange(JSON.stringify(payload))).toEqual(payload);
  });

  it('names what is wrong with another payload', () => {
    expect(() => parseAliasChange('not json')).toThrow(/notification is not JSON: not json/);
    expect(() => parseAliasChange(JSON.stringify({ ...payload, alias: 'staging' }))).toThrow(
      /is not an alias change \(alias: /,
    );
  });
});
