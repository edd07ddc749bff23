/**
 * Which version answers each row: the canary answers its traffic share of rows, production the
 * rest. Rows are routed one by one (not whole requests), so a shop that sends big batches still
 * gives the canary its share, and both versions are judged on the same mix of rows.
 */

/** The aliases that answer requests; `shadow` only scores alongside. */
export type AnsweringAlias = 'production' | 'canary';

/**
 * Routes `rowCount` rows.
 *
 * @param canaryShare the canary's share in (0, 1), or undefined when there is no canary
 * @param random uniform numbers in [0, 1): `Math.random`, or a seeded generator in tests
 */
export function routeRows(
  rowCount: number,
  canaryShare: number | undefined,
  random: () => number,
): AnsweringAlias[] {
  const routes = new Array<AnsweringAlias>(rowCount);
  for (let row = 0; row < rowCount; row++) {
    routes[row] = canaryShare !== undefined && random() < canaryShare ? 'canary' : 'production';
  }
  return routes;
}

/** The indices of the rows routed to each alias, in row order. */
export function rowsByAlias(routes: readonly AnsweringAlias[]): Map<AnsweringAlias, number[]> {
  const groups = new Map<AnsweringAlias, number[]>();
  routes.forEach((alias, row) => {
    const group = groups.get(alias);
    if (group) group.push(row);
    else groups.set(alias, [row]);
  });
  return groups;
}
