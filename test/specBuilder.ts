/**
 * The one way tests make pipeline specs: a small valid spec (or a shipped one) with the parts a test
 * cares about changed, parsed by the real spec loader. A test states only its change, so when the
 * spec grows a required part, this file is the one place that learns it.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  parsePipelineSpec,
  PipelineSpecError,
  type PipelineSpec,
  type SourceColumn,
} from '../lifecycle/spec';
import { repoRoot } from '../platform/paths';

/** A spec as its JSON file holds it: plain data, unvalidated, defaults not filled in. */
export type SpecInput = Record<string, unknown>;

/** A feature as a spec file writes it; `kind` stays a string so a test may write a wrong one. */
export interface FeatureInput {
  name: string;
  kind: string;
}

/** `{ thickness_mm: 'numeric', material: 'categorical' }` as the spec's feature list, in that order. */
export function features(kinds: Record<string, 'numeric' | 'categorical'>): FeatureInput[] {
  return Object.entries(kinds).map(([name, kind]) => ({ name, kind }));
}

/** The features of the base spec, for a test that adds one to them. */
export const BASE_FEATURES: readonly FeatureInput[] = features({
  thickness_mm: 'numeric',
  material: 'categorical',
  machine: 'categorical',
});

/**
 * The base spec: route minutes from a laser shop's `routes` table, gbdt with every default; no
 * segments, gates or monitoring written (so their defaults apply) and no time column (source order).
 */
function baseInput(): SpecInput {
  return {
    name: 'route-time',
    description: 'Minutes per laser route',
    task: 'regression',
    source: { kind: 'table', table: 'routes' },
    target: 'minutes',
    features: [...BASE_FEATURES],
    split: { kind: 'ordered', testFraction: 0.2 },
    trainer: { kind: 'gbdt' },
    approval: { approvers: ['shop-manager'], deadline: '72h' },
    deploy: { strategy: 'replace' },
  };
}

/** The raw JSON of a spec in `pipelines/` (`'cut-time'` or `'cut-time.json'`), as a person would copy it. */
export function shippedSpecInput(name: string): SpecInput {
  const file = path.join(repoRoot, 'pipelines', name.endsWith('.json') ? name : `${name}.json`);
  return JSON.parse(readFileSync(file, 'utf8')) as SpecInput;
}

/**
 * `name` made unique (`cut-time-t1a2b3c4`), still a valid spec name: models, versions and workflows
 * are per name, so tests sharing a stack must not share one.
 */
export const uniqueSpecName = (name: string): string => `${name}-t${randomUUID().slice(0, 8)}`;

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A fresh copy, as JSON sees it (undefined properties left out, undefined itself kept). */
const copy = (value: unknown): unknown =>
  value === undefined ? undefined : (JSON.parse(JSON.stringify(value)) as unknown);

/**
 * `overrides` laid over `base`. Objects merge key by key, so `{ trainer: { params: { iterations: 4 } } }`
 * keeps the trainer's kind and other parameters; an `undefined` value removes the key; anything else
 * (arrays, values) replaces. An object whose `kind` differs from the base's replaces it whole: the
 * base's other fields belong to the old kind (a table source has no query).
 */
function merged(base: unknown, overrides: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(overrides)) return copy(overrides);
  if ('kind' in overrides && overrides.kind !== base.kind) return copy(overrides);
  const valueOf = (key: string): unknown => {
    if (!(key in overrides)) return copy(base[key]);
    const override = overrides[key];
    return override === undefined ? undefined : merged(base[key], override);
  };
  const keys = new Set([...Object.keys(base), ...Object.keys(overrides)]);
  return Object.fromEntries(
    [...keys].map((key) => [key, valueOf(key)]).filter(([, value]) => value !== undefined),
  );
}

/**
 * The raw input of a spec: `base` (the small route-time spec unless given: a shipped spec's input,
 * or a parsed spec to vary) with `overrides` merged in as `merged` says. Not validated, so a test
 * may break it on purpose.
 */
export function specInput(overrides: SpecInput = {}, base: object = baseInput()): SpecInput {
  return merged(base, overrides) as SpecInput;
}

/** The spec `specInput` describes, validated and with its defaults filled in by the real loader. */
export function buildSpec(overrides: SpecInput = {}, base?: object): PipelineSpec {
  return parsePipelineSpec(specInput(overrides, base));
}

/** The problems the spec loader names for `input`, one `path: reason` each; fails when it accepts it. */
export function specProblems(input: unknown): string[] {
  try {
    parsePipelineSpec(input, 'test.json');
  } catch (error) {
    if (error instanceof PipelineSpecError) return error.problems;
    throw error;
  }
  throw new Error('expected a PipelineSpecError');
}

/** The kind the source check gives each PostgreSQL type these tests use. */
const KIND_OF_TYPE: Record<string, Pick<SourceColumn, 'kind' | 'integer'>> = {
  'double precision': { kind: 'number', integer: false },
  integer: { kind: 'number', integer: true },
  text: { kind: 'text', integer: false },
  boolean: { kind: 'boolean', integer: false },
  'timestamp with time zone': { kind: 'time', integer: false },
  date: { kind: 'time', integer: false },
  jsonb: { kind: 'other', integer: false },
};

/** A source's columns as the source check describes them, from `{ name: PostgreSQL type }`. */
export function sourceColumns(types: Record<string, keyof typeof KIND_OF_TYPE>): SourceColumn[] {
  return Object.entries(types).map(([name, postgresType]) => {
    const kind = KIND_OF_TYPE[postgresType];
    if (!kind) throw new Error(`sourceColumns: no kind known for ${postgresType}`);
    return { name, postgresType, ...kind };
  });
}
