import { describe, expect, it } from 'vitest';
import {
  assertNoHardAnomalies,
  DataValidationError,
  formatValidationReport,
  validateSnapshot,
  type Anomaly,
  type AnomalyKind,
  type DataValidationReport,
  type ValidationSpec,
} from '../../../lifecycle/validate';
import type { FieldDescription, SnapshotKind, SnapshotRecord } from '../../../lifecycle/ingest';
import { summarizeColumns } from '../../../lifecycle/ingest/summary';
import { Random } from '../../../ml/random';
import { tableFromRows } from '../../../ml/rows';
import type { ColumnKind } from '../../../ml/table';
import { buildSpec, features } from '../../specBuilder';

/** One cut job as a shop's source would hold it. */
interface Job {
  started_at: number;
  cut_time_s: number | null;
  thickness_mm: number | null;
  material: string | null;
  machine_id: string | null;
  scrap: string | null;
}

const MATERIALS = ['steel', 'aluminium', 'stainless'];
const MACHINES = ['3', '7', '9'];
const DAY = 86_400_000;

/** Jobs drawn the same way for every seed: thickness ~U(1, 5), cut time ~ 20 + 10 x thickness. */
function jobs(count: number, seed: number, firstDay = 0): Job[] {
  const random = new Random(seed);
  return Array.from({ length: count }, (_, index) => {
    const thickness = 1 + 4 * random.next();
    return {
      started_at: Date.UTC(2024, 0, 1) + (firstDay + index / 24) * DAY,
      cut_time_s: 20 + 10 * thickness + 4 * (random.next() - 0.5),
      thickness_mm: thickness,
      material: MATERIALS[random.below(MATERIALS.length)] ?? null,
      machine_id: MACHINES[random.below(MACHINES.length)] ?? null,
      scrap: random.next() < 0.2 ? 'yes' : 'no',
    };
  });
}

const regression: ValidationSpec = buildSpec({
  target: 'cut_time_s',
  features: features({ thickness_mm: 'numeric', material: 'categorical', machine_id: 'categorical' }),
});

const scrapSpec: ValidationSpec = buildSpec({
  task: 'binary',
  target: 'scrap',
  features: features({ thickness_mm: 'numeric', material: 'categorical' }),
});

const PG_TYPES: Record<string, string> = {
  started_at: 'timestamp with time zone',
  cut_time_s: 'double precision',
  thickness_mm: 'numeric',
  material: 'text',
  machine_id: 'integer',
  scrap: 'text',
};

/**
 * The record `takeSnapshot` would return for these jobs under the spec: target, features, then the
 * time column. `changes` replaces a column's kind or PostgreSQL type.
 */
function snapshotOf(
  rows: Job[],
  spec: ValidationSpec = regression,
  changes: Record<string, { kind?: SnapshotKind; pgType?: string }> = {},
): SnapshotRecord {
  const planned: FieldDescription[] = [
    {
      name: spec.target,
      role: 'target',
      kind: spec.task === 'regression' ? 'numeric' : 'categorical',
      pgType: PG_TYPES[spec.target] ?? 'text',
    },
    ...spec.features.map((feature): FieldDescription => ({
      name: feature.name,
      role: 'feature',
      kind: feature.kind,
      pgType: PG_TYPES[feature.name] ?? 'text',
    })),
    { name: 'started_at', role: 'time', kind: 'timestamp', pgType: PG_TYPES.started_at ?? '' },
  ];
  const fields = planned.map((field): FieldDescription => ({ ...field, ...changes[field.name] }));
  const kinds: Record<string, ColumnKind> = Object.fromEntries(
    fields.map((field) => [field.name, field.kind === 'categorical' ? 'categorical' : 'numeric']),
  );
  const table = tableFromRows(
    rows.map((row) => Object.fromEntries(fields.map((field) => [field.name, row[field.name as keyof Job]]))),
    kinds,
  ).select(fields.map((field) => field.name));
  const sha256 = rows.length.toString(16).padStart(64, '0');
  return {
    pipeline: 'cut-time',
    key: `snapshots/cut-time/${sha256}.arrow`,
    sha256,
    rows: table.rowCount,
    bytes: 1000 + rows.length * 40,
    timeColumn: 'started_at',
    ...summarizeColumns(table, fields),
  };
}

/** Jobs with one column's value replaced row by row. */
function edit(rows: Job[], change: (job: Job, index: number) => Partial<Job>): Job[] {
  return rows.map((job, index) => ({ ...job, ...change(job, index) }));
}

function kinds(anomalies: readonly Anomaly[]): AnomalyKind[] {
  return anomalies.map((anomaly) => anomaly.kind);
}

function only(report: DataValidationReport, severity: 'hard' | 'soft', kind: AnomalyKind): Anomaly {
  expect(kinds(report[severity])).toEqual([kind]);
  expect(report[severity === 'hard' ? 'soft' : 'hard']).toEqual([]);
  return report[severity][0] as Anomaly;
}

const previous = snapshotOf(jobs(400, 1));

describe('validateSnapshot', () => {
  it('finds nothing in a clean pair of snapshots a week apart', () => {
    const current = snapshotOf(jobs(420, 2, 7));
    const report = validateSnapshot({ current, previous, spec: regression });
    expect(report).toEqual({ hard: [], soft: [] });
    expect(formatValidationReport(report)).toBe('Data validation: no anomalies.');
    // And on its own, the first snapshot of a pipeline.
    expect(validateSnapshot({ current: previous, spec: regression })).toEqual({ hard: [], soft: [] });
  });

  describe('hard anomalies', () => {
    it('a snapshot without rows, and nothing else about it', () => {
      const anomaly = only(
        validateSnapshot({ current: snapshotOf([]), previous, spec: regression }),
        'hard',
        'no_rows',
      );
      expect(anomaly).toMatchObject({ column: null, current: 0 });
      expect(anomaly.message).toMatch(/no rows/);
    });

    it('fewer rows than the minimum, which the thresholds can lower', () => {
      const current = snapshotOf(jobs(20, 3));
      const anomaly = only(validateSnapshot({ current, spec: regression }), 'hard', 'too_few_rows');
      expect(anomaly).toMatchObject({ column: null, current: 20, previous: 50 });
      expect(anomaly.message).toMatch(/20 rows, fewer than the 50 needed/);
      expect(validateSnapshot({ current, spec: regression, thresholds: { minRows: 20 } })).toEqual({
        hard: [],
        soft: [],
      });
    });

    it('a target missing in every row', () => {
      const current = snapshotOf(edit(jobs(400, 2), () => ({ cut_time_s: null })));
      const anomaly = only(validateSnapshot({ current, spec: regression }), 'hard', 'target_all_missing');
      expect(anomaly.column).toBe('cut_time_s');
      expect(anomaly.message).toMatch(/Target "cut_time_s" is missing in all 400 rows/);
    });

    it('a feature missing in every row', () => {
      const current = snapshotOf(edit(jobs(400, 2), () => ({ material: null })));
      const report = validateSnapshot({ current, spec: regression });
      const anomaly = only(report, 'hard', 'feature_all_missing');
      expect(anomaly.column).toBe('material');
      expect(anomaly.message).toMatch(/Feature "material" is missing in all 400 rows/);
    });

    it('a regression target without variance', () => {
      const current = snapshotOf(edit(jobs(400, 2), () => ({ cut_time_s: 42 })));
      const anomaly = only(validateSnapshot({ current, spec: regression }), 'hard', 'target_constant');
      expect(anomaly).toMatchObject({ column: 'cut_time_s', current: 42 });
      expect(anomaly.message).toMatch(/is 42 in every row/);
    });

    it('a classification target with a single class, or a binary one with three', () => {
      const oneClass = snapshotOf(
        edit(jobs(400, 2), () => ({ scrap: 'no' })),
        scrapSpec,
      );
      const anomaly = only(validateSnapshot({ current: oneClass, spec: scrapSpec }), 'hard', 'single_class');
      expect(anomaly.message).toMatch(/Target "scrap" has a single class \("no"\)/);

      const threeClasses = snapshotOf(
        edit(jobs(400, 2), (job, index) => ({ scrap: index % 10 === 0 ? 'rework' : job.scrap })),
        scrapSpec,
      );
      const tooMany = only(
        validateSnapshot({ current: threeClasses, spec: scrapSpec }),
        'hard',
        'too_many_classes',
      );
      expect(tooMany).toMatchObject({ column: 'scrap', current: 3 });
      // The same three classes are fine for a multiclass model.
      expect(validateSnapshot({ current: threeClasses, spec: { ...scrapSpec, task: 'multiclass' } })).toEqual(
        { hard: [], soft: [] },
      );
    });

    it('a column whose kind changed since the previous snapshot', () => {
      const numericMachine: ValidationSpec = {
        ...regression,
        features: regression.features.map((feature) =>
          feature.name === 'machine_id' ? { ...feature, kind: 'numeric' } : feature,
        ),
      };
      // The spec now reads the machine number as a quantity: the model would see it differently.
      const current = snapshotOf(jobs(400, 2, 7), numericMachine);
      const anomaly = only(
        validateSnapshot({ current, previous, spec: numericMachine }),
        'hard',
        'kind_changed',
      );
      expect(anomaly.column).toBe('machine_id');
      expect(anomaly.message).toMatch(/was categorical in the previous snapshot and is numeric now/);
    });

    it('categorical labels that changed type family (integer to text)', () => {
      const current = snapshotOf(jobs(400, 2, 7), regression, { machine_id: { pgType: 'text' } });
      const anomaly = only(
        validateSnapshot({ current, previous, spec: regression }),
        'hard',
        'label_type_changed',
      );
      expect(anomaly.column).toBe('machine_id');
      expect(anomaly.message).toMatch(/holds text labels now but held integer labels/);
    });

    it('a column the spec names but the snapshot lacks', () => {
      const spec: ValidationSpec = {
        ...regression,
        features: [...regression.features, { name: 'laser_kw', kind: 'numeric' }],
      };
      const anomaly = only(validateSnapshot({ current: previous, spec }), 'hard', 'missing_column');
      expect(anomaly.column).toBe('laser_kw');
    });
  });

  describe('soft anomalies', () => {
    it('a missing rate up by more than 10 points, not by 5', () => {
      const worse = snapshotOf(
        edit(jobs(400, 2, 7), (job, index) => ({ thickness_mm: index % 4 === 0 ? null : job.thickness_mm })),
      );
      const anomaly = only(
        validateSnapshot({ current: worse, previous, spec: regression }),
        'soft',
        'missing_rate_rose',
      );
      expect(anomaly).toMatchObject({ column: 'thickness_mm', current: 0.25, previous: 0 });
      expect(anomaly.message).toMatch(/missing in 25\.0% of rows \(100 of 400\) against 0\.0%/);

      const slightly = snapshotOf(
        edit(jobs(400, 2, 7), (job, index) => ({ thickness_mm: index % 20 === 0 ? null : job.thickness_mm })),
      );
      expect(validateSnapshot({ current: slightly, previous, spec: regression })).toEqual({
        hard: [],
        soft: [],
      });
    });

    it('a mean moved by more than 3 previous standard deviations, not by a half', () => {
      // Sheet thickness entered in tenths of a millimetre instead of millimetres.
      const moved = snapshotOf(
        edit(jobs(400, 2, 7), (job) => ({ thickness_mm: (job.thickness_mm ?? 0) * 10 })),
      );
      const anomaly = only(
        validateSnapshot({ current: moved, previous, spec: regression }),
        'soft',
        'mean_shift',
      );
      expect(anomaly).toMatchObject({ column: 'thickness_mm' });
      expect(anomaly.previous).toBeCloseTo(3.043, 3);
      expect(anomaly.current).toBeCloseTo(29.46, 2);
      expect(anomaly.message).toContain(
        'The mean of "thickness_mm" moved from 3.043 to 29.46, 23.41 standard deviations of the previous snapshot (1.129), more than 3',
      );

      const nudged = snapshotOf(
        edit(jobs(400, 2, 7), (job) => ({ thickness_mm: (job.thickness_mm ?? 0) + 0.5 })),
      );
      expect(validateSnapshot({ current: nudged, previous, spec: regression })).toEqual({
        hard: [],
        soft: [],
      });
    });

    it('new categories, named with their row counts', () => {
      const current = snapshotOf(
        edit(jobs(400, 2, 7), (job, index) => ({
          material: index % 10 === 0 ? 'titanium' : index % 40 === 1 ? 'copper' : job.material,
        })),
      );
      const anomaly = only(
        validateSnapshot({ current, previous, spec: regression }),
        'soft',
        'new_categories',
      );
      expect(anomaly.column).toBe('material');
      expect(anomaly.categories).toEqual([
        { label: 'titanium', count: 40 },
        { label: 'copper', count: 10 },
      ]);
      expect(anomaly.message).toMatch(
        /2 categories not in the previous snapshot: "titanium" \(40 rows\), "copper" \(10 rows\)/,
      );
    });

    it('a row count down by more than half, not by 40 %', () => {
      const anomaly = only(
        validateSnapshot({ current: snapshotOf(jobs(150, 2, 7)), previous, spec: regression }),
        'soft',
        'row_count_drop',
      );
      expect(anomaly).toMatchObject({ column: null, current: 150, previous: 400 });
      expect(anomaly.message).toMatch(/150 rows against 400 in the previous one \(62\.5% fewer/);
      expect(validateSnapshot({ current: snapshotOf(jobs(240, 2, 7)), previous, spec: regression })).toEqual({
        hard: [],
        soft: [],
      });
    });

    it('a type that changed within its kind, and rows without a target', () => {
      const widened = snapshotOf(jobs(400, 2, 7), regression, {
        thickness_mm: { pgType: 'double precision' },
        machine_id: { pgType: 'bigint' },
      });
      const report = validateSnapshot({ current: widened, previous, spec: regression });
      expect(report.hard).toEqual([]);
      expect(report.soft.map((anomaly) => [anomaly.kind, anomaly.column])).toEqual([
        ['type_changed', 'thickness_mm'],
        ['type_changed', 'machine_id'],
      ]);

      // A widened type is still compared: here the unit changed along with the type.
      const rescaled = snapshotOf(
        edit(jobs(400, 2, 7), (job) => ({ thickness_mm: (job.thickness_mm ?? 0) * 1000 })),
        regression,
        { thickness_mm: { pgType: 'double precision' } },
      );
      expect(kinds(validateSnapshot({ current: rescaled, previous, spec: regression }).soft)).toEqual([
        'type_changed',
        'mean_shift',
      ]);

      const gaps = snapshotOf(
        edit(jobs(400, 2, 7), (job, index) => ({ cut_time_s: index < 8 ? null : job.cut_time_s })),
      );
      const anomaly = only(
        validateSnapshot({ current: gaps, previous, spec: regression }),
        'soft',
        'target_missing',
      );
      expect(anomaly.message).toMatch(/missing in 8 of 400 rows \(2\.0%\)/);
    });
  });

  it('refuses a threshold that is not a number >= 0', () => {
    expect(() =>
      validateSnapshot({ current: previous, spec: regression, thresholds: { minRows: -1 } }),
    ).toThrow(/Threshold minRows must be a number >= 0, got -1/);
  });
});

describe('DataValidationError', () => {
  it('lists every hard anomaly by column, and soft ones alone do not throw', () => {
    const current = snapshotOf(edit(jobs(30, 2), () => ({ material: null, cut_time_s: null })));
    const report = validateSnapshot({ current, spec: regression });
    expect(kinds(report.hard)).toEqual(['too_few_rows', 'target_all_missing', 'feature_all_missing']);

    let thrown: unknown;
    try {
      assertNoHardAnomalies(report, current.key);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(DataValidationError);
    const error = thrown as DataValidationError;
    expect(error.nonRetryable).toBe(true);
    expect(error.hard).toHaveLength(3);
    expect(error.message).toContain(`Snapshot ${current.key} failed data validation with 3 hard anomalies:`);
    expect(error.message).toContain('[too_few_rows] (rows): The snapshot has 30 rows');
    expect(error.message).toContain(
      '[target_all_missing] cut_time_s: Target "cut_time_s" is missing in all 30 rows',
    );
    expect(error.message).toContain(
      '[feature_all_missing] material: Feature "material" is missing in all 30 rows',
    );

    const softOnly = validateSnapshot({ current: snapshotOf(jobs(150, 2, 7)), previous, spec: regression });
    expect(softOnly.soft).toHaveLength(1);
    expect(() => assertNoHardAnomalies(softOnly)).not.toThrow();
    expect(formatValidationReport(softOnly)).toMatch(
      /^Data validation: 0 hard, 1 soft anomalies\.\n {2}soft {2}\[row_count_drop\]/,
    );
  });
});
