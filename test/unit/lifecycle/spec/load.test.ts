import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  approvalDeadlineMs,
  canonicalJson,
  cronProblem,
  jsonErrorOffset,
  loadPipelineSpec,
  parseDuration,
  parsePipelineSpec,
  PipelineSpecError,
  pipelineSpecSchema,
  selectQueryProblem,
  specHash,
} from '../../../../lifecycle/spec';
import { sharedData } from '../../../sharedData';
import { BASE_FEATURES, buildSpec, specInput, specProblems } from '../../../specBuilder';

const root = path.resolve(import.meta.dirname, '../../../..');
const specFile = (name: string) => path.join(root, 'pipelines', name);
const csvHeader = async (file: string) =>
  (await readFile(path.join(sharedData, file), 'utf8')).split('\n', 1)[0]?.trim().split(',') ?? [];

describe('the pipeline spec files', () => {
  it('every spec in pipelines/ validates, the five shop models among them', async () => {
    const files = (await readdir(path.join(root, 'pipelines'))).filter((file) => file.endsWith('.json'));
    const names: string[] = [];
    for (const file of files) {
      const spec = await loadPipelineSpec(specFile(file));
      expect(`${spec.name}.json`).toBe(file);
      names.push(spec.name);
    }
    expect(names).toEqual(
      expect.arrayContaining([
        'cut-time',
        'bend-time',
        'job-energy',
        'scrap-rate',
        'quote-price',
        'steel-energy',
        'ai4i-failure',
      ]),
    );
  });

  it('the shop specs read the shop schema and slice by shop segments', async () => {
    for (const name of ['cut-time', 'bend-time', 'job-energy', 'scrap-rate', 'quote-price']) {
      const spec = await loadPipelineSpec(specFile(`${name}.json`));
      expect(spec.source.kind).toBe('sql');
      expect(spec.source.kind === 'sql' && spec.source.query).toMatch(/\bFROM shop\./);
      expect(spec.timeColumn).toMatch(/_at$/);
      expect(spec.segments.length).toBeGreaterThan(0);
      expect(spec.trainer.kind).toBe('gbdt');
      expect(spec.gates.quality.thresholds.length).toBeGreaterThan(0);
    }
  });

  it('steel-energy.json validates and names real CSV columns', async () => {
    const spec = await loadPipelineSpec(specFile('steel-energy.json'));
    expect(spec.task).toBe('regression');
    expect(spec.source).toEqual(expect.objectContaining({ kind: 'sql' }));
    // The CSV's day-first text date becomes a timestamp in the query, so the time order is right.
    expect(spec.source.kind === 'sql' && spec.source.query).toMatch(
      /to_timestamp\(s\."date", 'DD\/MM\/YYYY HH24:MI'\)/,
    );
    expect(spec.timeColumn).toBe('reading_at');
    expect(spec.target).toBe('Usage_kWh');
    expect(spec.segments).toEqual(['Load_Type', 'WeekStatus']);
    expect(spec.split).toEqual({ kind: 'ordered', testFraction: 0.25 });
    expect(spec.trainer).toMatchObject({
      kind: 'gbdt',
      params: { iterations: 200, learningRate: 0.1, maxLeaves: 31, loss: 'squared_error' },
    });
    expect(spec.gates.quality.thresholds).toEqual([{ metric: 'rmse', max: 2 }]);
    expect(spec.gates.quality.primaryMetric).toBe('rmse');
    const header = await csvHeader('steel-energy/Steel_industry_data.csv');
    const expected = header.filter((column) => !['date', 'Usage_kWh', 'CO2(tCO2)'].includes(column));
    expect(spec.features.map((feature) => feature.name).sort()).toEqual([...expected].sort());
    expect(header).toContain(spec.target);
    expect(spec.features.filter((f) => f.kind === 'categorical').map((f) => f.name)).toEqual([
      'WeekStatus',
      'Day_of_week',
      'Load_Type',
    ]);
  });

  it('ai4i-failure.json validates and names real CSV columns', async () => {
    const spec = await loadPipelineSpec(specFile('ai4i-failure.json'));
    expect(spec.task).toBe('binary');
    expect(spec.source).toEqual(expect.objectContaining({ kind: 'table', table: 'ai4i2020' }));
    expect(spec.target).toBe('Machine failure');
    expect(spec.segments).toEqual(['Type']);
    expect(spec.trainer).toMatchObject({
      kind: 'gbdt',
      params: { iterations: 100, learningRate: 0.1, loss: 'binary_logistic' },
    });
    expect(spec.gates.quality.thresholds).toEqual([{ metric: 'auc', min: 0.9 }]);
    const header = await csvHeader('ai4i2020/ai4i2020.csv');
    const excluded = ['UDI', 'Product ID', 'TWF', 'HDF', 'PWF', 'OSF', 'RNF', 'Machine failure'];
    expect(spec.features.map((feature) => feature.name)).toEqual(
      header.filter((column) => !excluded.includes(column)),
    );
    expect(spec.features.filter((f) => f.kind === 'categorical').map((f) => f.name)).toEqual(['Type']);
    expect(header).toContain(spec.target);
  });
});

describe('parsePipelineSpec', () => {
  it('fills the defaults', () => {
    const spec = buildSpec({ trainer: { params: { iterations: 50 } } });
    expect(spec.gates.fairness).toEqual({
      maxErrorRatio: 1.5,
      minDisparateImpact: 0.8,
      maxEqualOpportunityDifference: 0.1,
      minSliceSupport: 30,
    });
    expect(spec.gates.security).toEqual({ maxModelBytes: 50 * 1024 * 1024 });
    expect(spec.gates.quality.minImprovementOverChampion).toBe(0);
    expect(spec.approval.reminderAtFraction).toBe(0.5);
    expect(spec.monitoring).toEqual({
      schedule: '0 2 * * *',
      psiAlarm: 0.2,
      jsAlarm: 0.1,
      decayTolerance: 0.2,
      unseenCategoryRateAlarm: 0.05,
      minSamples: 200,
    });
    expect(spec.trainer).toEqual({
      kind: 'gbdt',
      params: {
        iterations: 50,
        learningRate: 0.1,
        maxLeaves: 31,
        maxDepth: -1,
        // DEFAULT_L2 of squared_error.
        l2: 0,
        minSamplesLeaf: 20,
        rowSubsample: 1,
        columnSubsample: 1,
        seed: 42,
        loss: 'squared_error',
      },
    });
    expect(approvalDeadlineMs(spec)).toBe(72 * 3_600_000);
  });

  it('parses a parsed spec to itself', () => {
    const once = buildSpec();
    expect(pipelineSpecSchema.parse(JSON.parse(JSON.stringify(once)))).toEqual(once);
  });

  it('names a missing target', () => {
    expect(specProblems(specInput({ target: undefined }))).toEqual(['target: required (string)']);
  });

  it('refuses a misspelt key by name and suggests the right one', () => {
    expect(
      specProblems(specInput({ trainer: { params: { learningrate: 0.05 } }, tagret: 'minutes' })),
    ).toEqual([
      'trainer.params.learningrate: unknown key; did you mean "learningRate"?',
      'tagret: unknown key; did you mean "target"?',
    ]);
  });

  it('refuses a segment that is not a categorical feature', () => {
    expect(specProblems(specInput({ segments: ['thickness_mm', 'operator'] }))).toEqual([
      'segments[0]: "thickness_mm" is a numeric feature; a segment must be a categorical feature',
      'segments[1]: "operator" is not a feature; a segment must be a categorical feature',
    ]);
  });

  it('refuses the target among the features and duplicate features', () => {
    expect(
      specProblems(
        specInput({
          features: [
            ...BASE_FEATURES,
            { name: 'minutes', kind: 'numeric' },
            { name: 'material', kind: 'numeric' },
          ],
        }),
      ),
    ).toEqual([
      'features[3].name: "minutes" is the target and cannot also be a feature',
      'features[4].name: "material" is listed twice',
    ]);
  });

  it('refuses thresholds out of range', () => {
    const problems = (overrides: Record<string, unknown>) => specProblems(specInput(overrides));
    expect(problems({ trainer: { params: { learningRate: 2 } } })).toEqual([
      'trainer.params.learningRate: must be in (0, 1]',
    ]);
    expect(problems({ split: { testFraction: 0.9 } })).toEqual(['split.testFraction: must be in (0, 0.5]']);
    expect(problems({ gates: { fairness: { minDisparateImpact: 1.5 } } })).toEqual([
      'gates.fairness.minDisparateImpact: must be in (0, 1]',
    ]);
    expect(problems({ trainer: { params: { iterations: 0 } } })).toEqual([
      'trainer.params.iterations: must be an integer in [1, 10000]',
    ]);
    expect(problems({ gates: { fairness: { maxErrorRatio: 1 } } })).toEqual([
      'gates.fairness.maxErrorRatio: must be > 1',
    ]);
  });

  it('refuses a loss that does not fit the task', () => {
    expect(specProblems(specInput({ trainer: { params: { loss: 'binary_logistic' } } }))).toEqual([
      'trainer.params.loss: "binary_logistic" does not fit a regression task; use squared_error or absolute_error',
    ]);
    const binary = buildSpec({
      task: 'binary',
      gates: { quality: { thresholds: [{ metric: 'auc', min: 0.8 }] } },
    });
    expect(binary.trainer).toMatchObject({ params: { loss: 'binary_logistic' } });
  });

  it('refuses a metric the task does not report, and a min on a lower-is-better metric', () => {
    expect(
      specProblems(
        specInput({
          gates: {
            quality: {
              thresholds: [
                { metric: 'auc', min: 0.9 },
                { metric: 'mae', min: 1 },
              ],
            },
          },
        }),
      ),
    ).toEqual([
      'gates.quality.thresholds[1].min: mae is lower-is-better: give a max, not a min',
      'gates.quality.thresholds[0].metric: auc is not a regression metric; use one of: rmse, mae, mape, r2',
    ]);
  });

  it('requires a share for canary deploys', () => {
    expect(specProblems(specInput({ deploy: { strategy: 'canary' } }))).toEqual([
      'deploy.canaryShare: required for the canary strategy: the share of requests, in (0, 1)',
    ]);
    expect(buildSpec({ deploy: { strategy: 'canary', canaryShare: 0.1 } }).deploy).toEqual({
      strategy: 'canary',
      canaryShare: 0.1,
    });
  });

  it('refuses a bad deadline', () => {
    expect(specProblems(specInput({ approval: { deadline: 'three days' } }))).toEqual([
      'approval.deadline: must be a duration such as 72h, 3d, 30m or 1d12h (units s, m, h, d, w)',
    ]);
  });

  it('refuses a query that is not a single SELECT', () => {
    const withQuery = (query: string) => specInput({ source: { kind: 'sql', query } });
    expect(specProblems(withQuery('DELETE FROM routes'))).toEqual([
      'source.query: must be a SELECT (or WITH ... SELECT) query, not DELETE',
    ]);
    expect(specProblems(withQuery('SELECT * FROM routes; DROP TABLE routes'))).toEqual([
      'source.query: must be a single statement (no ";" between statements)',
    ]);
    expect(
      specProblems(withQuery('WITH gone AS (DELETE FROM routes RETURNING *) SELECT * FROM gone')),
    ).toEqual(['source.query: must only read: it contains DELETE']);
    const ok = parsePipelineSpec(withQuery("SELECT * FROM routes WHERE note <> 'a; drop' -- ok;\n;"));
    expect(ok.source.kind).toBe('sql');
  });

  it('reports several problems at once, one line each', () => {
    const spec = specInput({
      target: undefined,
      trainer: { params: { learningRate: 2 } },
      segments: ['thickness_mm'],
      approval: { deadline: 'soon' },
      deploy: { strategy: 'canary' },
    });
    let message = '';
    try {
      parsePipelineSpec(spec, 'pipelines/route-time.json');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message.split('\n')).toEqual([
      'Invalid pipeline spec pipelines/route-time.json:',
      'target: required (string)',
      'trainer.params.learningRate: must be in (0, 1]',
      'approval.deadline: must be a duration such as 72h, 3d, 30m or 1d12h (units s, m, h, d, w)',
      'segments[0]: "thickness_mm" is a numeric feature; a segment must be a categorical feature',
      'deploy.canaryShare: required for the canary strategy: the share of requests, in (0, 1)',
    ]);
  });

  it('refuses early stopping without a validation set and a bad schedule', () => {
    expect(
      specProblems(
        specInput({
          trainer: { params: { earlyStoppingRounds: 10 } },
          monitoring: { schedule: '0 25 * * *' },
        }),
      ),
    ).toEqual([
      'monitoring.schedule: hour field "25" is not valid: use *, a value in 0-23, a range a-b, a step */n or a comma list',
      'trainer.params.earlyStoppingRounds: early stopping needs a validation set: set split.validationFraction',
    ]);
  });

  it('names the root when the document is not an object', () => {
    expect(specProblems([])).toEqual(['(spec): must be an object, not array']);
  });

  it('says what a wrong kind may be, and what a missing or wrong-typed part must be', () => {
    const problems = (overrides: Record<string, unknown>) => specProblems(specInput(overrides));
    expect(problems({ source: { kind: 'view' } })).toEqual(['source.kind: must be "table" or "sql"']);
    expect(problems({ source: { kind: 'sql' } })).toEqual(['source.query: required (string)']);
    expect(problems({ split: undefined })).toEqual(['split: required (object)']);
    expect(problems({ task: 'ranking' })).toEqual([
      'task: must be one of: regression, binary, multiclass, forecast',
    ]);
    expect(problems({ trainer: { params: { l2: -1 } } })).toEqual(['trainer.params.l2: must be >= 0']);
  });
});

describe('helpers', () => {
  it('parses durations', () => {
    expect(parseDuration('72h')).toBe(259_200_000);
    expect(parseDuration('3d')).toBe(259_200_000);
    expect(parseDuration('30m')).toBe(1_800_000);
    expect(parseDuration('1d12h')).toBe(129_600_000);
    expect(parseDuration('0h')).toBeUndefined();
    expect(parseDuration('72')).toBeUndefined();
    expect(parseDuration('-1h')).toBeUndefined();
  });

  it('checks cron expressions', () => {
    expect(cronProblem('0 2 * * *')).toBeUndefined();
    expect(cronProblem('*/15 8-17 * JAN-DEC mon-fri')).toBeUndefined();
    expect(cronProblem('0 2 * *')).toMatch(/5 fields/);
    expect(cronProblem('61 2 * * *')).toMatch(/^minute field/);
  });

  it('checks SELECT queries', () => {
    expect(selectQueryProblem('with x as (select 1) select * from x')).toBeUndefined();
    expect(selectQueryProblem('SELECT * INTO backup FROM routes')).toBe('must only read: it contains INTO');
    expect(selectQueryProblem('')).toBe('must be a SELECT query');
    expect(selectQueryProblem("SELECT comment FROM jobs WHERE note = 'a -- b; delete'")).toBeUndefined();
    expect(selectQueryProblem('SELECT "update" FROM jobs /* \'; */')).toBeUndefined();
    expect(selectQueryProblem('SELECT * FROM jobs FOR UPDATE')).toBe('must only read: it contains UPDATE');
  });
});

describe('loadPipelineSpec', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'kerf-spec-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('names the file and the position of a JSON syntax error', async () => {
    const file = path.join(dir, 'broken.json');
    await writeFile(file, '{\n  "name": "x",\n  "task": }\n');
    const error = await loadPipelineSpec(file).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PipelineSpecError);
    expect((error as Error).message).toContain(file);
    expect((error as PipelineSpecError).problems[0]).toMatch(/^line 3, column 11: not valid JSON/);
  });

  it('locates JSON syntax errors', () => {
    expect(jsonErrorOffset('{"a": [1, 2, {"b": null}], "c": "x\\u00e9"}')).toBeUndefined();
    expect(jsonErrorOffset('{"a":1,}')).toBe(7);
    expect(jsonErrorOffset('{"a" 1}')).toBe(5);
    expect(jsonErrorOffset('{"a":1')).toBe(6);
    expect(jsonErrorOffset('[1 2]')).toBe(3);
    expect(jsonErrorOffset('')).toBe(0);
  });

  it('names the file of an invalid spec', async () => {
    const file = path.join(dir, 'invalid.json');
    await writeFile(file, JSON.stringify(specInput({ target: undefined })));
    await expect(loadPipelineSpec(file)).rejects.toThrow(`Invalid pipeline spec ${file}:\ntarget: required`);
  });
});

describe('specHash', () => {
  it('is stable under key order and changes with a parameter', () => {
    const spec = specInput({ trainer: { params: { iterations: 50 } } });
    const reordered: Record<string, unknown> = Object.fromEntries(Object.entries(spec).reverse());
    reordered.trainer = { params: { iterations: 50 }, kind: 'gbdt' };
    const hash = specHash(parsePipelineSpec(spec));
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(specHash(parsePipelineSpec(reordered))).toBe(hash);
    expect(specHash(buildSpec({ trainer: { params: { iterations: 51 } } }, spec))).not.toBe(hash);
    // Writing a default explicitly is the same spec.
    expect(specHash(buildSpec({ trainer: { params: { learningRate: 0.1 } } }, spec))).toBe(hash);
  });

  it('sorts keys at every level', () => {
    expect(canonicalJson({ b: [{ d: 1, c: 2 }], a: undefined, e: 'x' })).toBe(
      '{"b":[{"c":2,"d":1}],"e":"x"}',
    );
  });
});
