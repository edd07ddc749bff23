import { describe, expect, it } from 'vitest';
import { featureBuildDefinition, featureBuildHash } from '../../../lifecycle/features/build';
import { buildFeatureTable, columnTypeOf } from '../../../lifecycle/features/table';
import { loadSnapshot } from '../../../lifecycle/ingest';
import { encodeSnapshot, type FieldDescription } from '../../../lifecycle/ingest/arrow';
import { sha256Hex } from '../../../lifecycle/manifest';
import { splitLabelledRows } from '../../../lifecycle/split';
import type { Feature } from '../../../ml/model';
import {
  categoricalFromLabels,
  type Column,
  MISSING_CODE,
  numericFromValues,
  Table,
} from '../../../ml/table';
import { scoringTable, servingFeatureBuild } from '../../../serving/featureBuild';
import type { RawRow } from '../../../serving/payload';

/** A small job table as a snapshot holds it: numbers, categories, a boolean as its text, a time. */
function jobs(rows: number): { columns: Column[]; fields: FieldDescription[] } {
  const pick = <T>(values: T[], i: number) => values[i % values.length] as T;
  const day = Date.UTC(2024, 0, 1);
  const columns: Column[] = [
    numericFromValues(
      'cut_seconds',
      Array.from({ length: rows }, (_, i) => 10 + ((i * 7919) % 97) / 3),
    ),
    numericFromValues(
      'cut_length_mm',
      Array.from({ length: rows }, (_, i) => (i % 13 === 5 ? null : 100 + ((i * 104729) % 9973) / 7)),
    ),
    numericFromValues(
      'laser_power_kw',
      Array.from({ length: rows }, (_, i) => pick([3, 4, 6, 0.1 + 1 / 3, 12], i)),
    ),
    numericFromValues(
      'quantity',
      Array.from({ length: rows }, (_, i) => pick([1, 5, 20, 0, 250], i)),
    ),
    categoricalFromLabels(
      'material_family',
      Array.from({ length: rows }, (_, i) => pick(['steel', 'stainless', 'aluminium', null], i)),
    ),
    categoricalFromLabels(
      'rush',
      Array.from({ length: rows }, (_, i) => pick(['true', 'false', 'false', null], i)),
    ),
    numericFromValues(
      'released_at',
      Array.from({ length: rows }, (_, i) => day + i * 3_600_000 * 7.5),
    ),
  ];
  const fields: FieldDescription[] = [
    { name: 'cut_seconds', role: 'target', kind: 'numeric', pgType: 'double precision' },
    { name: 'cut_length_mm', role: 'feature', kind: 'numeric', pgType: 'double precision' },
    { name: 'laser_power_kw', role: 'feature', kind: 'numeric', pgType: 'double precision' },
    { name: 'quantity', role: 'feature', kind: 'numeric', pgType: 'integer' },
    { name: 'material_family', role: 'feature', kind: 'categorical', pgType: 'text' },
    { name: 'rush', role: 'feature', kind: 'categorical', pgType: 'boolean' },
    { name: 'released_at', role: 'time', kind: 'timestamp', pgType: 'timestamp with time zone' },
  ];
  return { columns, fields };
}

const DERIVED = [
  { name: 'cut_length_per_kw', expression: 'cut_length_mm / max(laser_power_kw, 1)' },
  { name: 'log_cut', expression: 'log1p(cut_length_per_kw)' },
  { name: 'per_part', expression: 'safe_div(cut_length_mm, quantity)' },
  { name: 'is_steel', expression: 'if(material_family in ("steel", "stainless"), 1, 0)' },
  { name: 'rushed', expression: 'if(rush, 1, 0)' },
  { name: 'release_hour', expression: 'hour(released_at)' },
];

/** A snapshot file in memory, read back as the stages read theirs (hash checked against the key). */
async function stored(table: Table, fields: FieldDescription[], timeColumn: string) {
  const bytes = encodeSnapshot(table, fields, timeColumn);
  const key = `features/parity/${sha256Hex(bytes)}.arrow`;
  return loadSnapshot({ get: () => Promise.resolve(bytes) }, key);
}

/** A row as a client sends it: numbers as JSON numbers, categories as text, booleans as booleans. */
function requestRow(columns: ReadonlyMap<string, Column>, names: readonly string[], row: number): RawRow {
  const out: RawRow = {};
  for (const name of names) {
    const column = columns.get(name);
    if (!column) throw new Error(`no column ${name}`);
    if (column.kind === 'numeric') {
      const value = column.values[row] as number;
      out[name] = Number.isNaN(value) ? null : value;
    } else {
      const code = column.codes[row] as number;
      const label = code === MISSING_CODE ? null : (column.dictionary[code] as string);
      out[name] = name === 'rush' && label !== null ? label === 'true' : label;
    }
  }
  return out;
}

describe('train/serve parity of derived features', () => {
  it('serving computes, from a request’s source columns, the very values the training table holds on the test rows', async () => {
    const { columns, fields } = jobs(400);
    const snapshot = await stored(new Table(columns), fields, 'released_at');
    const built = buildFeatureTable(snapshot, { derived: DERIVED });
    // Train and evaluate read the built table back from its file.
    const trained = await stored(built.table, built.fields, 'released_at');
    const test = splitLabelledRows(trained.table, 'cut_seconds', {
      kind: 'ordered',
      testFraction: 0.2,
      validationFraction: 0.1,
    }).test;
    expect(test.length).toBe(80);

    // The manifest pins what the stage built with; serving reads only the manifest and the graph's inputs.
    const definition = featureBuildDefinition(DERIVED, (name) => {
      const field = built.fields.find((candidate) => candidate.name === name);
      return field && columnTypeOf(field);
    });
    expect(featureBuildHash(definition)).toBe(built.build.sha256);
    const modelFeatures: Feature[] = [
      { kind: 'numeric', name: 'quantity' },
      { kind: 'categorical', name: 'material_family', categories: ['steel', 'stainless', 'aluminium'] },
      ...DERIVED.map((feature): Feature => ({ kind: 'numeric', name: feature.name })),
    ];
    const serving = servingFeatureBuild(
      {
        featureBuild: {
          ...definition,
          sha256: built.build.sha256,
          table: { key: 'k', hash: 'h'.repeat(64), rows: 400 },
        },
      },
      modelFeatures,
    );
    if (!serving) throw new Error('a manifest with derived features gives a serving build');
    // A request carries the source features and what the expressions read, never a derived feature.
    expect(serving.requestFeatures.map((feature) => feature.name)).toEqual([
      'quantity',
      'material_family',
      'cut_length_mm',
      'laser_power_kw',
      'rush',
      'released_at',
    ]);

    const snapshotColumns = new Map<string, Column>(
      [...snapshot.table.columns, numericFromValues('released_at', [...(snapshot.time?.values ?? [])])].map(
        (column) => [column.name, column],
      ),
    );
    const requestNames = serving.requestFeatures.map((feature) => feature.name);
    const rows = Array.from(test, (row) => requestRow(snapshotColumns, requestNames, row));
    const served = scoringTable(
      { features: serving.sourceFeatures, featureBuild: serving },
      rows,
      undefined,
    ).table;
    const trainedTest = trained.table.take(test);
    for (const feature of DERIVED) {
      const offline = trainedTest.numeric(feature.name).values;
      const online = served.numeric(feature.name).values;
      expect(online.length).toBe(offline.length);
      for (let i = 0; i < offline.length; i++) {
        // Bit-equal: Object.is tells 0 from -0 and counts NaN (missing) as equal to itself.
        if (!Object.is(online[i], offline[i])) {
          throw new Error(`${feature.name} row ${i}: served ${online[i]}, trained ${offline[i]}`);
        }
      }
    }
    // Some of each kind of value made it through: missing, zero divisors, conditions both ways.
    expect(Array.from(trainedTest.numeric('per_part').values).some(Number.isNaN)).toBe(true);
    expect(new Set(trainedTest.numeric('is_steel').values).size).toBe(3); // 1, 0 and missing
  });

  it('refuses a pinned definition that was altered, and one this code would check otherwise', () => {
    const definition = featureBuildDefinition(DERIVED.slice(0, 1), () => 'number');
    const pinned = {
      ...definition,
      sha256: featureBuildHash(definition),
      table: { key: 'k', hash: 'h'.repeat(64), rows: 1 },
    };
    const features: Feature[] = [{ kind: 'numeric', name: 'cut_length_per_kw' }];
    expect(servingFeatureBuild({ featureBuild: pinned }, features)).toBeDefined();
    const altered = { ...pinned, derived: [{ name: 'cut_length_per_kw', expression: 'cut_length_mm * 2' }] };
    expect(() => servingFeatureBuild({ featureBuild: altered }, features)).toThrow(/hash to .*not to the/);
    const future = { ...definition, version: 'feature-build/99' };
    expect(() =>
      servingFeatureBuild(
        { featureBuild: { ...pinned, ...future, sha256: featureBuildHash(future) } },
        features,
      ),
    ).toThrow(/feature-build\/99/);
  });
});
