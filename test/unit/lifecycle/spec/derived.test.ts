import { describe, expect, it } from 'vitest';
import { MAX_DERIVED_FEATURES } from '../../../../lifecycle/features/expression';
import { checkSpecAgainstSource, parsePipelineSpec, specHash } from '../../../../lifecycle/spec';
import { buildSpec, sourceColumns, specInput, specProblems } from '../../../specBuilder';

/** The base spec's `routes` table, with a cut length, a laser power and a release time. */
const routes = sourceColumns({
  minutes: 'double precision',
  thickness_mm: 'double precision',
  cut_length_mm: 'double precision',
  laser_power_kw: 'double precision',
  material: 'text',
  machine: 'text',
  rush: 'boolean',
  released_at: 'timestamp with time zone',
  notes: 'jsonb',
});

const derived = (...expressions: [string, string][]) => ({
  derived: expressions.map(([name, expression]) => ({ name, expression })),
});

const GOOD = derived(
  ['cut_length_per_kw', 'cut_length_mm / max(laser_power_kw, 1)'],
  ['log_cut_length', 'log1p(cut_length_per_kw)'],
  ['is_steel', 'if(material in ("steel", "stainless"), 1, 0)'],
  ['release_weekday', 'dayofweek(released_at)'],
  ['days_in_use', 'days_since(released_at, "2020-01-01")'],
);

describe('derived features in the pipeline spec', () => {
  it('are accepted and kept as written, and change the spec hash', () => {
    const spec = buildSpec(GOOD);
    expect(spec.derived).toEqual(GOOD.derived);
    expect(parsePipelineSpec(spec)).toEqual(spec);
    expect(specHash(spec)).not.toBe(specHash(buildSpec()));
    expect(checkSpecAgainstSource(spec, routes)).toEqual([]);
  });

  it('may be model inputs, as numbers the lifecycle builds, and are not looked for in the source', () => {
    const spec = buildSpec({
      ...GOOD,
      features: [
        { name: 'thickness_mm', kind: 'numeric' },
        { name: 'cut_length_per_kw', kind: 'numeric' },
      ],
    });
    expect(checkSpecAgainstSource(spec, routes)).toEqual([]);
    expect(
      specProblems(
        specInput({
          ...GOOD,
          features: [
            { name: 'thickness_mm', kind: 'numeric' },
            { name: 'is_steel', kind: 'categorical' },
          ],
        }),
      ),
    ).toEqual(['features[1].kind: "is_steel" is a derived feature, which is a number: list it as numeric']);
  });

  it('leave a spec without them as it was (no default written, the same hash)', () => {
    const spec = buildSpec();
    expect('derived' in spec).toBe(false);
  });

  it('are refused by the loader with field paths: syntax, functions, arity, division, order', () => {
    const problems = specProblems(
      specInput(
        derived(
          ['a', 'cut_length_mm +'],
          ['b', 'lg(cut_length_mm)'],
          ['c', 'clip(cut_length_mm, 1)'],
          ['d', 'cut_length_mm / laser_power_kw'],
          ['e', 'cut_length_mm / 0'],
          ['f', 'g * 2'],
          ['g', 'g + 1'],
          ['h', 'a + 1'],
          ['i', 'x'.repeat(1001)],
          ['j', `${'('.repeat(40)}x${')'.repeat(40)}`],
        ),
      ),
    );
    expect(problems).toEqual([
      'derived[0].expression: the expression ends too early at character 16; a value was expected',
      expect.stringMatching(
        /^derived\[1\]\.expression: unknown function "lg" at character 1; did you mean log\?/,
      ),
      'derived[2].expression: clip takes 3 arguments, not 2 at character 1; write clip(x, low, high)',
      'derived[3].expression: division by "laser_power_kw", which may be zero at character 15; write safe_div(a, b), ' +
        'missing where b is 0, or keep the divisor away from zero, e.g. a / max(b, 1)',
      'derived[4].expression: division by zero at character 17; divide by a number that is not 0',
      'derived[5].expression: "g" is derived later, at derived[6] at character 1; list a derived feature before the ones that use it',
      'derived[6].expression: "g" refers to itself at character 1; derive it from other columns',
      // "a" did not check: its own problem is enough, "h" reads it without a second one.
      'derived[8].expression: longer than 1000 characters at character 1001; split it into several derived features',
      'derived[9].expression: nested more than 32 deep at character 33; split it into several derived features',
    ]);
  });

  it('are refused by the loader for bad names, duplicates and clashes, and past the limit', () => {
    const problems = specProblems(
      specInput({
        ...derived(
          ['2nd', 'thickness_mm * 2'],
          ['in', 'thickness_mm * 2'],
          ['twice', 'thickness_mm * 2'],
          ['twice', 'thickness_mm * 3'],
          ['minutes', 'thickness_mm * 4'],
          ['thick', 'thickness_mm'],
        ),
        features: [
          { name: 'thickness_mm', kind: 'numeric' },
          { name: 'thick', kind: 'numeric' },
        ],
      }),
    );
    expect(problems).toEqual([
      expect.stringMatching(/^derived\[0\]\.name: must be a name of letters, digits and _/),
      expect.stringMatching(/^derived\[1\]\.name: must be a name of letters, digits and _/),
      'derived[3].name: "twice" is already derived at derived[2]',
      'derived[4].name: "minutes" is the target; give the derived feature another name',
    ]);
    const many = derived(
      ...Array.from({ length: MAX_DERIVED_FEATURES + 1 }, (_, i): [string, string] => [
        `f${i}`,
        'thickness_mm',
      ]),
    );
    expect(specProblems(specInput(many))).toEqual([
      `derived: must hold at most ${MAX_DERIVED_FEATURES} derived features`,
    ]);
    // A hostile list is refused by its length alone, before any expression is parsed.
    const hostile = {
      derived: Array.from({ length: 100_000 }, (_, i) => ({ name: `f${i}`, expression: '((((' })),
    };
    const started = performance.now();
    expect(specProblems(specInput(hostile))).toEqual([
      `derived: must hold at most ${MAX_DERIVED_FEATURES} derived features`,
    ]);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(specProblems(specInput({ derived: [{ name: 'x', expression: 3, extra: true }] }))).toEqual([
      'derived[0].expression: must be a string, not number',
      expect.stringMatching(/^derived\[0\]\.extra: /),
    ]);
  });

  it('are refused against the source with field paths: unknown columns, wrong types, name clashes', () => {
    const spec = buildSpec(
      derived(
        ['a', 'log(cut_lenght_mm)'],
        ['b', 'log(material)'],
        ['c', 'hour(thickness_mm)'],
        ['d', 'rush + 1'],
        ['e', 'material == 3'],
        ['f', 'released_at - released_at'],
        ['g', 'notes == "x"'],
        ['laser_power_kw', 'thickness_mm * 2'],
      ),
    );
    expect(checkSpecAgainstSource(spec, routes)).toEqual([
      {
        path: 'derived[0].expression',
        message:
          'no column "cut_lenght_mm" in table routes at character 5; did you mean "cut_length_mm"? Its columns: ' +
          '"minutes", "thickness_mm", "cut_length_mm", "laser_power_kw", "material", "machine", "rush", "released_at", "notes"',
      },
      {
        path: 'derived[1].expression',
        message:
          '"material" is a category, not a number at character 5; test it instead, e.g. if(material == "steel", 1, 0)',
      },
      {
        path: 'derived[2].expression',
        message: '"thickness_mm" is not a time at character 6; hour(time) takes a date or timestamp column',
      },
      {
        path: 'derived[3].expression',
        message:
          '"rush" is a condition (true or false), not a number at character 1; turn it into one with if(condition, 1, 0)',
      },
      {
        path: 'derived[4].expression',
        message:
          '"material" (category) cannot be compared with the number 3 (number) at character 10; ' +
          'compare a number with a number, a category with a quoted text, a condition with a condition',
      },
      {
        path: 'derived[5].expression',
        message:
          '"released_at" is a time at character 1; compare or subtract times in days: days_since(t, other_time) ' +
          'or days_since(t, "2020-01-01")',
      },
      {
        path: 'derived[6].expression',
        message:
          '"notes" is of type jsonb in table routes, which expressions cannot read at character 1; ' +
          'cast it to a number, text or timestamp in a sql source',
      },
      {
        path: 'derived[7].name',
        message:
          '"laser_power_kw" is already a column of table routes; give the derived feature another name',
      },
    ]);
  });
});
