/**
 * Personal data refused before it leaves PostgreSQL: the personal-data rule (personalData.ts) applied
 * to a spec's feature columns by name, and to a sample of its categorical features' values, at
 * `kerf spec check` and in the ingest stage before any snapshot is written to S3.
 */
import type pg from 'pg';
import type { Table } from '../../ml/table';
import { MISSING_CODE } from '../../ml/table';
import type { SourceColumn } from '../spec/sourceCheck';
import { planColumns, fromClause, type SnapshotSpec } from '../ingest/plan';
import { readColumns } from '../ingest/read';
import { SnapshotError } from '../ingest/errors';
import { derivedInputNames } from '../features/build';
import { type FeatureSample, personalDataProblems, type PersonalDataProblem } from './personalData';

/** Rows of the source whose categorical values are looked at: enough to see a column of addresses. */
export const PERSONAL_DATA_SAMPLE_ROWS = 1000;

/** The spec's features that look like personal data by their names alone (no data read). */
export function personalDataByName(spec: Pick<SnapshotSpec, 'features' | 'derived'>): PersonalDataProblem[] {
  // The columns derived expressions read reach the snapshot too, so they are judged by name as well.
  const read = derivedInputNames(spec.derived ?? [])
    .filter((name) => !spec.features.some((feature) => feature.name === name))
    .map((name) => ({ name, kind: 'numeric' as const }));
  return personalDataProblems([
    ...spec.features.map((feature) => ({ name: feature.name, kind: feature.kind })),
    ...read,
  ]);
}

/**
 * The spec's features that look like personal data by name or by their values in `table` (the
 * first `sampleRows` rows of each categorical feature).
 */
export function personalDataInTable(
  spec: Pick<SnapshotSpec, 'features'>,
  table: Table,
  sampleRows = PERSONAL_DATA_SAMPLE_ROWS,
): PersonalDataProblem[] {
  const features: FeatureSample[] = spec.features.map((feature) => {
    if (feature.kind !== 'categorical') return { name: feature.name, kind: feature.kind };
    const column = table.categorical(feature.name);
    const count = Math.min(sampleRows, column.codes.length);
    const sampleValues: (string | undefined)[] = [];
    for (let row = 0; row < count; row++) {
      const code = column.codes[row] ?? MISSING_CODE;
      sampleValues.push(code === MISSING_CODE ? undefined : column.dictionary[code]);
    }
    return { name: feature.name, kind: feature.kind, sampleValues };
  });
  return personalDataProblems(features);
}

/**
 * The spec's features that look like personal data, by name and by a sample of the source's rows read
 * through the snapshot reader (the same read-only path as ingest), limited to the categorical features.
 *
 * @param columns the source's columns, as `checkSpecSource` returned them
 * @throws SnapshotError (`source`) when PostgreSQL refuses the sample query
 */
export async function personalDataInSource(
  pool: pg.Pool,
  spec: SnapshotSpec,
  columns: readonly SourceColumn[],
  sampleRows = PERSONAL_DATA_SAMPLE_ROWS,
): Promise<PersonalDataProblem[]> {
  const byName = personalDataByName(spec);
  const categorical = spec.features.filter((feature) => feature.kind === 'categorical');
  if (categorical.length === 0) return byName;
  // Only the categorical features, only the first rows, no ordering: a cheap look, not a snapshot.
  const sampleSpec: SnapshotSpec = {
    ...spec,
    source: { kind: 'sql', query: `SELECT * FROM ${fromClause(spec.source)} LIMIT ${sampleRows}` },
    timeColumn: undefined,
  };
  const names = new Set(categorical.map((feature) => feature.name));
  const plans = planColumns(spec, columns).filter((plan) => plan.role === 'feature' && names.has(plan.name));
  const table = await readColumns(pool, sampleSpec, plans, { fetchSize: sampleRows });
  return personalDataInTable({ features: categorical }, table, sampleRows).concat(
    byName.filter((problem) => !categorical.some((feature) => feature.name === problem.column)),
  );
}

/**
 * Refuses personal data found in a spec's features, naming each column and what to do.
 *
 * @throws SnapshotError (`personal_data`) when `problems` is not empty
 */
export function refusePersonalData(problems: readonly PersonalDataProblem[], pipeline: string): void {
  if (problems.length === 0) return;
  throw new SnapshotError(
    'personal_data',
    `Pipeline ${pipeline} holds personal data, so nothing of it is stored (no snapshot, no model): ${problems.map((problem) => problem.message).join(' ')}`,
  );
}
