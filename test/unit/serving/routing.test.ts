import { describe, expect, it } from 'vitest';
import { Random } from '../../../ml/random';
import { routeRows, rowsByAlias } from '../../../serving/routing';

describe('routeRows', () => {
  it('gives the canary its traffic share within a tolerance, for several shares and seeds', () => {
    for (const share of [0.05, 0.1, 0.5, 0.9]) {
      for (const seed of [1, 2, 3]) {
        const random = new Random(seed);
        const routes = routeRows(20_000, share, () => random.next());
        const canary = routes.filter((alias) => alias === 'canary').length / routes.length;
        // Four standard deviations of a binomial share at n = 20 000.
        expect(Math.abs(canary - share)).toBeLessThan(4 * Math.sqrt((share * (1 - share)) / 20_000));
      }
    }
  });

  it('routes every row to production without a canary, and the same seed the same way', () => {
    expect(new Set(routeRows(1000, undefined, Math.random))).toEqual(new Set(['production']));
    const first = new Random(7);
    const second = new Random(7);
    expect(routeRows(500, 0.3, () => first.next())).toEqual(routeRows(500, 0.3, () => second.next()));
  });

  it('groups row indices by alias, in row order', () => {
    const groups = rowsByAlias(['production', 'canary', 'production', 'canary', 'canary']);
    expect(groups.get('production')).toEqual([0, 2]);
    expect(groups.get('canary')).toEqual([1, 3, 4]);
  });
});
