/**
 * A model's input contract, as its ONNX file describes it: the raw columns it takes, numeric or
 * categorical, and for categorical ones the categories it saw in training. Rows that break it (a
 * missing column, text where a number belongs) are refused with the field and the reason. A category
 * the model never saw (a new material) is not an error: the graph scores it like a missing value,
 * and the caller gets a warning saying so. An operator can teach a mapping from such a category to
 * a known one ({@link CategoryMappings}), which is applied before scoring and named in the warning.
 */
import type { Feature } from '../ml/model';
import { columnFromValues } from '../ml/rows';
import { Table } from '../ml/table';
import type { FieldIssue } from './errors';
import { describe, type RawRow } from './payload';

/** Per column, an unseen category and the known category it is scored as. */
export type CategoryMappings = ReadonlyMap<string, ReadonlyMap<string, string>>;

/** What the caller is told about one row: an unseen category, and how it was scored. */
export interface PredictionWarning {
  column: string;
  /** The value as it arrived. */
  value: unknown;
  message: string;
}

/** An unseen category met while preparing rows, for the metrics. */
export interface UnseenCategory {
  column: string;
  /** True when a taught mapping scored it as a known category. */
  mapped: boolean;
}

/** Rows ready for a model: the table to score, and each row's warnings. */
export interface PreparedRows {
  table: Table;
  /** One list per row, in the order of the rows given. */
  warnings: PredictionWarning[][];
  unseen: UnseenCategory[];
}

/** How many known categories a warning lists before it says "...". */
const LISTED_CATEGORIES = 8;

/**
 * Checks rows against the features of every version that may answer them (production and the
 * canary), so whether a row is valid never depends on where it is routed.
 *
 * @param field `rows` or `row`, for field names (`rows[2].thickness_mm`, `row.shift`)
 * @returns every problem, in row order; empty when all rows fit
 */
export function checkRows(
  rows: readonly RawRow[],
  contracts: readonly (readonly Feature[])[],
  field: 'rows' | 'row',
): FieldIssue[] {
  return checkRowsAgainst(rows, distinctFeatures(contracts), field);
}

/**
 * {@link checkRows} against features already made distinct ({@link distinctFeatures}), which serving
 * keeps per set of served versions instead of working out per request.
 */
export function checkRowsAgainst(
  rows: readonly RawRow[],
  features: readonly Feature[],
  field: 'rows' | 'row',
): FieldIssue[] {
  const issues: FieldIssue[] = [];
  for (let index = 0; index < rows.length; index++) {
    const row = rows[index] as RawRow;
    for (const feature of features) {
      const reason = cellProblem(row, feature);
      if (reason !== undefined) {
        const at = field === 'row' ? 'row' : `rows[${index}]`;
        issues.push({ field: `${at}.${feature.name}`, reason });
      }
    }
  }
  return issues;
}

/** Why a row's cell does not fit a feature, or undefined when it does. */
function cellProblem(row: RawRow, feature: Feature): string | undefined {
  if (!Object.hasOwn(row, feature.name)) {
    return `is missing: the model takes this column (${kindText(feature)}); send null for an unknown value`;
  }
  const value = row[feature.name];
  if (value === null) return undefined;
  if (feature.kind === 'numeric') {
    // JSON cannot carry Infinity or NaN, but a body parsed elsewhere (or 1e999 through JSON.parse) can.
    if (typeof value === 'number')
      return Number.isFinite(value) ? undefined : `must be a finite number, got ${value}`;
    if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) {
      return `must be a JSON number, got text (${JSON.stringify(value)}): send ${Number(value)} without quotes`;
    }
    return `must be a number, got ${describe(value)}`;
  }
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return undefined;
  return `must be a category (text), got ${describe(value)}`;
}

/**
 * Columns a row carries that no version which may see it takes: refused, so nothing the model does
 * not read reaches the prediction log (where it would be stored as it came, at any size).
 *
 * @param columns the columns of every version that may score the row (production, canary, shadow)
 * @returns one issue per row and unknown column, in row order
 */
export function unknownColumns(
  rows: readonly RawRow[],
  columns: ReadonlySet<string>,
  field: 'rows' | 'row',
): FieldIssue[] {
  const issues: FieldIssue[] = [];
  let taken: string | undefined;
  for (let index = 0; index < rows.length; index++) {
    const row = rows[index] as RawRow;
    for (const column in row) {
      if (!Object.hasOwn(row, column) || columns.has(column)) continue;
      taken ??= [...columns].join(', ');
      issues.push({
        field: `${field === 'row' ? 'row' : `rows[${index}]`}.${column}`,
        reason: `is not a column this model takes: leave it out (the model takes ${taken})`,
      });
    }
  }
  return issues;
}

/** A row with only the given columns, in their order: what the prediction log stores. */
export function modelInputs(row: RawRow, columns: ReadonlySet<string>): RawRow {
  const inputs: RawRow = {};
  for (const column of columns) {
    if (Object.hasOwn(row, column)) inputs[column] = row[column];
  }
  return inputs;
}

function kindText(feature: Feature): string {
  return feature.kind === 'numeric' ? 'a number' : 'a category, as text';
}

/** Each feature once per name and kind, in order of first appearance. */
export function distinctFeatures(contracts: readonly (readonly Feature[])[]): Feature[] {
  const seen = new Set<string>();
  const features: Feature[] = [];
  for (const contract of contracts) {
    for (const feature of contract) {
      const id = `${feature.kind}:${feature.name}`;
      if (seen.has(id)) continue;
      seen.add(id);
      features.push(feature);
    }
  }
  return features;
}

/**
 * Turns checked rows into the table a version scores, applying taught mappings to categories it
 * never saw and warning about each such category.
 *
 * @param rows rows that passed {@link checkRows} for these features
 * @param mappings taught mappings for this model, if any
 */
export function prepareRows(
  rows: readonly RawRow[],
  features: readonly Feature[],
  mappings?: CategoryMappings,
): PreparedRows {
  const warnings: PredictionWarning[][] = rows.map(() => []);
  const unseen: UnseenCategory[] = [];
  const columns = features.map((feature) => {
    if (feature.kind === 'numeric') {
      return columnFromValues(
        feature.name,
        rows.map((row) => row[feature.name] ?? null),
        'numeric',
      );
    }
    const known = knownCategories(feature);
    const taught = mappings?.get(feature.name);
    const values = rows.map((row, index) => {
      const value = row[feature.name];
      const text = categoryText(value);
      if (text === undefined || known.has(text)) return text ?? null;
      const target = taught?.get(text);
      const mapped = target !== undefined && known.has(target);
      unseen.push({ column: feature.name, mapped });
      (warnings[index] as PredictionWarning[]).push({
        column: feature.name,
        value,
        message: unseenMessage(feature.name, text, feature.categories, mapped ? target : undefined, target),
      });
      return mapped ? target : text;
    });
    return columnFromValues(feature.name, values, 'categorical');
  });
  return { table: new Table(columns), warnings, unseen };
}

const knownSets = new WeakMap<Feature, ReadonlySet<string>>();

/** A categorical feature's categories as a set, made once per feature (not once per request). */
function knownCategories(feature: Extract<Feature, { kind: 'categorical' }>): ReadonlySet<string> {
  let known = knownSets.get(feature);
  if (!known) knownSets.set(feature, (known = new Set(feature.categories)));
  return known;
}

/**
 * A cell as the category text the graph compares, or undefined for a missing value (null, blank):
 * numbers and booleans by their text, as the tables the model was trained on hold them.
 */
export function categoryText(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return value.trim() === '' ? undefined : value;
  if (typeof value === 'number') return Number.isNaN(value) ? undefined : String(value);
  if (typeof value === 'boolean') return String(value);
  return undefined;
}

function unseenMessage(
  column: string,
  text: string,
  categories: readonly string[],
  mappedTo: string | undefined,
  untrustedTarget: string | undefined,
): string {
  const head = `${JSON.stringify(text)} was never seen by this model in ${column}`;
  if (mappedTo !== undefined) {
    return `${head}; scored as ${JSON.stringify(mappedTo)}, as a taught category mapping says`;
  }
  const listed = categories.slice(0, LISTED_CATEGORIES).map((category) => JSON.stringify(category));
  const known = `${listed.join(', ')}${categories.length > LISTED_CATEGORIES ? ', ...' : ''}`;
  const ignored =
    untrustedTarget === undefined
      ? ''
      : ` (its taught mapping to ${JSON.stringify(untrustedTarget)} was ignored: this model never saw that either)`;
  return `${head}${ignored}; scored as a missing value, so treat the prediction with care (known: ${known})`;
}
