import { describe, expect, it } from 'vitest';
import { MAX_HISTORY_FEATURES } from '../../../../lifecycle/features/history';
import {
  checkSpecAgainstSource,
  historyColumnRequests,
  historyDefinition,
  parsePipelineSpec,
  specHash,
} from '../../../../lifecycle/spec';
import { buildSpec, sourceColumns, specInput, specProblems } from '../../../specBuilder';

/** The base spec's `routes` table, with a release time and a customer. */
const routes = sourceColumns({
  minutes: 'double precision',
  thickness_mm: 'double precision',
  material: 'text',
  machine: 'text',
  customer_id: 'integer',
  quantity: 'integer',
  released_at: 'timestamp with time zone',
  notes: 'jsonb',
});

const DAY = 86_400_000;

const GOOD = {
  timeColumn: 'released_at',
  history: [
    { name: 'minutes_machine_28d', of: 'target', by: ['machine'], stat: 'mean', window: '28d' },
    { name: 'prev_minutes', of: 'target', by: ['machine'], lag: 1 },
    {
      name: 'quantity_customer_4w',
      of: 'quantity',
      by: ['customer_id', 'material'],
      stat: 'sum',
      window: '4w',
    },
    { name: 'max_last_10', of: 'minutes', by: ['customer_id'], stat: 'max', events: 10, gap: '7d' },
    { name: 'days_since_order', by: ['customer_id'], since: 'days' },
  ],
};

/** The source check's issues as `path: message` lines. */
const sourceProblems = (spec: Parameters<typeof checkSpecAgainstSource>[0]) =>
  checkSpecAgainstSource(spec, routes).map((issue) => `${issue.path}: ${issue.message}`);

/** A spec with the base's time column and these history features. */
const withHistory = (...history: Record<string, unknown>[]) =>
  specInput({ timeColumn: 'released_at', history });

describe('history features in the pipeline spec', () => {
  it('are accepted and kept as written, change the spec hash, and fit their source', () => {
    const spec = buildSpec(GOOD);
    expect(spec.history).toEqual(GOOD.history);
    expect(parsePipelineSpec(spec)).toEqual(spec);
    expect(specHash(spec)).not.toBe(specHash(buildSpec({ timeColumn: 'released_at' })));
    expect(checkSpecAgainstSource(spec, routes)).toEqual([]);
  });

  it('leave a spec without them as it was (no default written, the same hash)', () => {
    expect('history' in buildSpec()).toBe(false);
  });

  it('turn into the numbers the computation takes', () => {
    const [mean, lag, sum, max, since] = buildSpec(GOOD).history ?? [];
    expect(mean && historyDefinition(mean)).toEqual({
      kind: 'rolling',
      stat: 'mean',
      window: { kind: 'time', ms: 28 * DAY },
      gapMs: 0,
    });
    expect(lag && historyDefinition(lag)).toEqual({ kind: 'lag', lag: 1, gapMs: 0 });
    expect(sum && historyDefinition(sum)).toMatchObject({ window: { kind: 'time', ms: 28 * DAY } });
    expect(max && historyDefinition(max)).toEqual({
      kind: 'rolling',
      stat: 'max',
      window: { kind: 'events', count: 10 },
      gapMs: 7 * DAY,
    });
    expect(since && historyDefinition(since)).toEqual({ kind: 'since', unitMs: DAY, gapMs: 0 });
  });

  it('name the columns to build from, the target by its own name', () => {
    const requests = historyColumnRequests(buildSpec(GOOD));
    expect(requests.map(({ name, of, by }) => ({ name, of, by }))).toEqual([
      { name: 'minutes_machine_28d', of: 'minutes', by: ['machine'] },
      { name: 'prev_minutes', of: 'minutes', by: ['machine'] },
      { name: 'quantity_customer_4w', of: 'quantity', by: ['customer_id', 'material'] },
      { name: 'max_last_10', of: 'minutes', by: ['customer_id'] },
      { name: 'days_since_order', of: undefined, by: ['customer_id'] },
    ]);
    expect(historyColumnRequests(buildSpec())).toEqual([]);
  });

  it('are refused with field paths when they would look at the row itself or its future', () => {
    const problems = specProblems(
      withHistory(
        { name: 'a', of: 'target', by: ['machine'], lag: 0 },
        { name: 'b', of: 'quantity', by: ['machine'], lag: -1 },
        { name: 'c', of: 'target', by: ['machine'], stat: 'sum', window: '-28d' },
        { name: 'd', of: 'target', by: ['machine'], stat: 'sum', window: '0d' },
        { name: 'e', of: 'target', by: ['machine'], stat: 'mean', window: '28d', gap: '-7d' },
        { name: 'f', of: 'target', by: ['machine'], stat: 'count', events: 0 },
        { name: 'g', of: 'quantity', by: ['minutes'], lag: 1 },
        { name: 'h', of: 'quantity', by: ['released_at'], lag: 1 },
        { name: 'i', of: 'quantity', by: ['machine'], lag: 0 },
        { name: 'j', of: 'minutes', by: ['machine'], lag: 0 },
      ),
    );
    expect(problems).toEqual([
      "history[1].lag: -1 would read a later event, the row's future: lag 1 is the previous event, 2 the one before",
      expect.stringMatching(
        /^history\[2\]\.window: "-28d" is negative, which would reach past the row into its future/,
      ),
      expect.stringMatching(
        /^history\[3\]\.window: "0d" is empty: a window of zero length could only hold the row's own time/,
      ),
      expect.stringMatching(
        /^history\[4\]\.gap: "-7d" is negative, which would move the cut-off after the row's own time/,
      ),
      'history[5].events: 0 holds no earlier event and would have to count the row itself or later ones: use 1 or more',
      // The schema's refusals come first, then those across fields.
      "history[0].lag: 0 is the row's own target, the very value the model predicts: use lag 1 for the previous event",
      'history[6].by[0]: "minutes" is the target: grouping by it would tell each row its own target; ' +
        'group by entity columns such as customer_id',
      expect.stringMatching(
        /^history\[7\]\.by\[0\]: "released_at" is the time column: rows at one time never see each other/,
      ),
      "history[8].lag: 0 is the row's own value, not its history: use lag 1 for the previous event, or list the column as a feature",
      "history[9].lag: 0 is the row's own target, the very value the model predicts: use lag 1 for the previous event",
    ]);
  });

  it('are refused with field paths for a missing time column, bad shapes, limits and name clashes', () => {
    expect(
      specProblems(specInput({ history: [{ name: 'p', of: 'target', by: ['machine'], lag: 1 }] })),
    ).toEqual([expect.stringMatching(/^timeColumn: required by the history features/)]);
    const problems = specProblems(
      specInput({
        timeColumn: 'released_at',
        derived: [{ name: 'thick', expression: 'thickness_mm * 2' }],
        history: [
          { name: 'a', of: 'target', by: ['machine'] },
          { name: 'b', of: 'target', by: ['machine'], lag: 1, stat: 'sum', window: '7d' },
          { name: 'c', of: 'target', by: ['machine'], stat: 'sum' },
          { name: 'd', of: 'target', by: ['machine'], stat: 'sum', window: '28 days' },
          { name: 'e', of: 'target', by: ['machine'], stat: 'sum', window: '4000d' },
          { name: 'f', of: 'target', by: ['machine'], lag: 400 },
          { name: 'g', by: ['machine'], stat: 'median', window: '7d' },
          { name: 'h', of: 'quantity', by: ['machine', 'machine'], since: 'days' },
          { name: 'i', by: [], lag: 1.5, of: 'target' },
          { name: 'a', of: 'target', by: ['machine'], lag: 2 },
          { name: 'thick', of: 'target', by: ['machine'], lag: 2 },
          { name: 'minutes', of: 'released_at', by: ['machine'], lag: 2 },
          { name: 'j', of: 'target', by: ['machine'], window: '7d', events: 3 },
          { name: 'k', of: 'target', by: ['machine'], lag: 1, extra: 1 },
        ],
        features: [
          { name: 'thickness_mm', kind: 'numeric' },
          { name: 'a', kind: 'numeric' },
          { name: 'b', kind: 'categorical' },
        ],
      }),
    );
    expect(problems).toEqual([
      'history[0]: must say what to compute: lag (the k-th previous event), stat with window or events ' +
        '(a rolling statistic), or since (the time since the previous event)',
      expect.stringMatching(/^history\[1\]\.stat: "lag" and "stat" cannot go together/),
      'history[2].window: required with stat: a duration such as 28d, 4w or 12h (units s, m, h, d, w), or events: N for the last N events',
      'history[3].window: must be a duration such as 28d, 4w or 12h (units s, m, h, d, w)',
      'history[4].window: "4000d" is longer than 3660d; use a shorter window',
      'history[5].lag: must be at most 366',
      'history[6].stat: must be one of: mean, sum, count, min, max',
      "history[7].of: since measures the time since the entity's previous row, whatever its values: remove of",
      'history[7].by[1]: "machine" is listed twice, at by[0]',
      'history[8].by: must name at least one key column, e.g. ["customer_id"]',
      'history[8].lag: must be a whole number of events, e.g. 1',
      expect.stringMatching(/^history\[12\]: must say what to compute/),
      'history[12].events: window and events cannot go together: a window reaches back a time, or over a number of events',
      'history[13].extra: unknown key; allowed keys: name, of, by, lag, stat, window, events, since, gap',
      'history[9].name: "a" is already a history feature at history[0]',
      'history[10].name: "thick" is already derived at derived[0]',
      'history[11].name: "minutes" is the target; give the history feature another name',
      'history[11].of: "released_at" is the time column: use since for the time since the previous event',
      'features[2].kind: "b" is a history feature, which is a number: list it as numeric',
    ]);
  });

  it('are refused past the limit, quickly even for a hostile list', () => {
    const many = Array.from({ length: MAX_HISTORY_FEATURES + 1 }, (_, i) => ({
      name: `h${i}`,
      of: 'target',
      by: ['machine'],
      lag: 1,
    }));
    expect(specProblems(withHistory(...many))).toEqual([
      `history: must hold at most ${MAX_HISTORY_FEATURES} history features`,
    ]);
    // A hostile list is refused by its length, its entries' checks cheap and its cross checks skipped.
    const hostile = Array.from({ length: 100_000 }, (_, i) => ({
      name: `h${i}`,
      of: 'target',
      by: ['machine'],
      stat: 'sum',
      window: '-1d',
    }));
    const input = withHistory(...hostile);
    const started = performance.now();
    const problems = specProblems(input);
    expect(performance.now() - started).toBeLessThan(3000);
    expect(problems).toEqual([`history: must hold at most ${MAX_HISTORY_FEATURES} history features`]);
  });

  it('are refused against the source with field paths: unknown columns, wrong kinds, name clashes', () => {
    const spec = buildSpec({
      timeColumn: 'released_at',
      history: [
        { name: 'a', of: 'quantiy', by: ['machine'], lag: 1 },
        { name: 'b', of: 'material', by: ['machine'], lag: 1 },
        { name: 'c', of: 'target', by: ['thickness_mm'], lag: 1 },
        { name: 'd', of: 'target', by: ['notes', 'customer'], lag: 1 },
        { name: 'quantity', of: 'target', by: ['machine'], lag: 1 },
      ],
    });
    expect(sourceProblems(spec)).toEqual([
      expect.stringMatching(
        /^history\[0\]\.of: no column "quantiy" in table routes; did you mean "quantity"\?/,
      ),
      'history[1].of: "material" is of type text in table routes; a history needs a number column: ' +
        'cast it to a number in a sql source',
      'history[2].by[0]: "thickness_mm" is of type double precision in table routes; an entity key needs text, ' +
        'boolean or whole numbers: cast or round it in a sql source',
      expect.stringMatching(
        /^history\[3\]\.by\[0\]: "notes" is of type jsonb in table routes; an entity key needs/,
      ),
      expect.stringMatching(/^history\[3\]\.by\[1\]: no column "customer" in table routes/),
      'history[4].name: "quantity" is already a column of table routes; give the history feature another name',
    ]);
    const classes = buildSpec({
      task: 'binary',
      target: 'material',
      features: [{ name: 'thickness_mm', kind: 'numeric' }],
      timeColumn: 'released_at',
      history: [{ name: 'prev', of: 'target', by: ['machine'], lag: 1 }],
    });
    expect(sourceProblems(classes)).toEqual([
      expect.stringMatching(
        /^history\[0\]\.of: the target "material" is of type text in table routes; a history of the target needs numbers/,
      ),
    ]);
  });
});
