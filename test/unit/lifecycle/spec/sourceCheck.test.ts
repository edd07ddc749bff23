import type { Pool } from 'pg';
import { describe, expect, it } from 'vitest';
import { asStopping } from '../../../../activities/lifecycle/errors';
import {
  checkSpecAgainstSource,
  describeSource,
  PipelineSpecError,
  type PipelineSpec,
  type SourceColumn,
  SourceConnectionError,
  SpecSourceError,
} from '../../../../lifecycle/spec';
import { BASE_FEATURES, buildSpec, features, type SpecInput, specInput } from '../../../specBuilder';

/** Columns as `describeSource` reports them, by PostgreSQL type name. */
const KINDS: Record<string, Pick<SourceColumn, 'kind' | 'integer'>> = {
  bigint: { kind: 'number', integer: true },
  integer: { kind: 'number', integer: true },
  'double precision': { kind: 'number', integer: false },
  numeric: { kind: 'number', integer: false },
  boolean: { kind: 'boolean', integer: false },
  text: { kind: 'text', integer: false },
  'timestamp with time zone': { kind: 'time', integer: false },
  date: { kind: 'time', integer: false },
  jsonb: { kind: 'other', integer: false },
};

function columns(types: Record<string, string>): SourceColumn[] {
  return Object.entries(types).map(([name, postgresType]) => {
    const kind = KINDS[postgresType];
    if (!kind) throw new Error(`no kind for ${postgresType} in the test table`);
    return { name, postgresType, ...kind };
  });
}

/** The routes table the base spec reads. */
const routes = () =>
  columns({
    route_id: 'bigint',
    minutes: 'double precision',
    thickness_mm: 'double precision',
    material: 'text',
    machine: 'text',
    shift: 'integer',
    rush: 'boolean',
    started_at: 'timestamp with time zone',
  });

/** The base spec over all of `routes`: two more labels, sliced by machine, with its time column. */
const routesSpec = specInput({
  features: [...BASE_FEATURES, ...features({ shift: 'categorical', rush: 'categorical' })],
  segments: ['machine'],
  timeColumn: 'started_at',
});

/** A valid spec over `routes`, with the parts a test changes. */
const spec = (overrides: SpecInput = {}): PipelineSpec => buildSpec(overrides, routesSpec);

const paths = (issues: { path: string }[]) => issues.map((issue) => issue.path);

describe('checkSpecAgainstSource', () => {
  it('passes a spec whose columns all exist with fitting types', () => {
    expect(checkSpecAgainstSource(spec(), routes())).toEqual([]);
    // Whole numbers and booleans are labels too: a binary target may be either.
    expect(checkSpecAgainstSource(spec({ task: 'binary', target: 'route_id' }), routes())).toEqual([]);
    // A number orders rows as well as a timestamp does.
    expect(checkSpecAgainstSource(spec({ timeColumn: 'route_id' }), routes())).toEqual([]);
  });

  it('names an unknown feature column by its path, with a suggestion and the columns', () => {
    const misspelt = spec({
      features: features({ thickness_mm: 'numeric', material: 'categorical', machin: 'categorical' }),
      segments: [],
    });
    expect(checkSpecAgainstSource(misspelt, routes())).toEqual([
      {
        path: 'features[2].name',
        message:
          'no column "machin" in table routes; did you mean "machine"? Its columns: "route_id", "minutes", ' +
          '"thickness_mm", "material", "machine", "shift", "rush", "started_at"',
      },
    ]);
  });

  it('says when only the case differs, and lists nothing when nothing is close', () => {
    const issues = checkSpecAgainstSource(spec({ target: 'Minutes', timeColumn: 'shipped_on' }), routes());
    expect(paths(issues)).toEqual(['target', 'timeColumn']);
    expect(issues[0]?.message).toMatch(/did you mean "minutes"\? \(column names are case-sensitive\)/);
    expect(issues[1]?.message).toMatch(/^no column "shipped_on" in table routes; its columns: "route_id", /);
    expect(issues[1]?.message).not.toMatch(/did you mean/);
  });

  it('does not list the columns of a wide source', () => {
    const wide = columns(Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`sensor_${i}`, 'bigint'])));
    const [issue, ...rest] = checkSpecAgainstSource(
      spec({
        target: 'sensor_1',
        features: features({ pressure: 'numeric' }),
        segments: [],
        timeColumn: undefined,
      }),
      wide,
    );
    expect(rest).toEqual([]);
    expect(issue).toEqual({
      path: 'features[0].name',
      message:
        'no column "pressure" in table routes (of its 30 columns none is close); check the spelling, names are case-sensitive',
    });
  });

  it('names a segment that is missing from the source at its own path too', () => {
    const issues = checkSpecAgainstSource(
      spec(),
      routes().filter((column) => column.name !== 'machine'),
    );
    expect(paths(issues)).toEqual(['features[2].name', 'segments[0]']);
    expect(issues[1]).toEqual(issues[0] && { ...issues[0], path: 'segments[0]' });
    expect(issues[1]?.message).toMatch(
      /^no column "machine" in table routes; its columns: .*"material", "shift"/,
    );
  });

  it('refuses a text column as a numeric feature', () => {
    const source = routes().map((column) =>
      column.name === 'thickness_mm' ? { ...column, postgresType: 'text', kind: 'text' as const } : column,
    );
    expect(checkSpecAgainstSource(spec(), source)).toEqual([
      {
        path: 'features[0].name',
        message:
          '"thickness_mm" is of type text in table routes; a numeric feature needs a number column: ' +
          'make the feature categorical, or cast the column to a number in a sql source',
      },
    ]);
  });

  it('refuses a fractional number as a categorical feature and a timestamp as a numeric one', () => {
    const issues = checkSpecAgainstSource(
      spec({
        features: features({ thickness_mm: 'categorical', started_at: 'numeric', machine: 'categorical' }),
        timeColumn: undefined,
      }),
      routes(),
    );
    expect(paths(issues)).toEqual(['features[0].name', 'features[1].name']);
    expect(issues[0]?.message).toMatch(
      /is of type double precision .*a categorical feature needs text, boolean or whole numbers/,
    );
    expect(issues[1]?.message).toMatch(/is of type timestamp with time zone .*needs a number column/);
  });

  it('refuses a regression target that is not a number, and a binary target with fractions', () => {
    const regression = checkSpecAgainstSource(
      spec({ target: 'route_id' }),
      routes().map((column) =>
        column.name === 'route_id'
          ? { ...column, postgresType: 'text', kind: 'text' as const, integer: false }
          : column,
      ),
    );
    expect(regression).toEqual([
      {
        path: 'target',
        message:
          '"route_id" is of type text in table routes; a regression target must be a number column: ' +
          'cast it in a sql source, or use task binary or multiclass if it holds classes',
      },
    ]);
    const binary = checkSpecAgainstSource(spec({ task: 'binary' }), routes());
    expect(paths(binary)).toEqual(['target']);
    expect(binary[0]?.message).toMatch(
      /a binary target holds classes and must be text, boolean or whole numbers/,
    );
  });

  it('refuses a time column that is neither a time nor a number', () => {
    for (const type of ['text', 'boolean', 'jsonb']) {
      const source = routes().map((column) =>
        column.name === 'started_at' ? { ...column, postgresType: type, ...KINDS[type] } : column,
      );
      const issues = checkSpecAgainstSource(spec(), source);
      expect(paths(issues)).toEqual(['timeColumn']);
      expect(issues[0]?.message).toMatch(
        new RegExp(
          `^"started_at" is of type ${type} in table routes; the time column must be a date, timestamp or number`,
        ),
      );
    }
    const dated = routes().map((column) =>
      column.name === 'started_at' ? { ...column, postgresType: 'date', kind: 'time' as const } : column,
    );
    expect(checkSpecAgainstSource(spec(), dated)).toEqual([]);
  });

  it("speaks of the query's result for a sql source and refuses an ambiguous name", () => {
    const sqlSpec = spec({
      source: { kind: 'sql', query: 'SELECT * FROM routes r JOIN machines m USING (machine)' },
    });
    const issues = checkSpecAgainstSource(sqlSpec, [...routes(), ...columns({ material: 'text' })]);
    expect(issues).toEqual([
      {
        path: 'features[1].name',
        message: `"material" names 2 columns of the query's result; give each its own name (AS ...) in the query`,
      },
    ]);
  });
});

describe('SpecSourceError', () => {
  it('is a PipelineSpecError with one `path: message` line per issue', () => {
    const error = new SpecSourceError(
      [
        { path: 'target', message: 'no column "x"' },
        { path: 'features[2].name', message: 'no column "y"' },
      ],
      'pipelines/route-time.json',
    );
    expect(error).toBeInstanceOf(PipelineSpecError);
    expect(error.problems).toEqual(['target: no column "x"', 'features[2].name: no column "y"']);
    expect(error.message).toBe(
      'Pipeline spec pipelines/route-time.json does not fit its source:\ntarget: no column "x"\nfeatures[2].name: no column "y"',
    );
  });
});

describe('describeSource without a connection', () => {
  it('throws a retryable SourceConnectionError, not a spec that does not fit its source', async () => {
    // A busy pool: no connection free within its timeout, as 50 runs validating at once met.
    const pool = {
      connect: () => Promise.reject(new Error('timeout exceeded when trying to connect')),
    } as unknown as Pool;
    const error: unknown = await describeSource(pool, { kind: 'table', table: 'routes' }).catch(
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(SourceConnectionError);
    expect(error).not.toBeInstanceOf(PipelineSpecError);
    expect((error as Error).message).toBe(
      'cannot connect to PostgreSQL (timeout exceeded when trying to connect); start the stack with `kerf stack up` or check DATABASE_URL',
    );
    // The lifecycle's activities stop a run only on their own errors: this one Temporal retries.
    expect(asStopping(error)).toBe(error);
  });
});
