/**
 * The split stage: which snapshot rows a candidate trains on, which it early-stops on and which it
 * is tested on. Pure and deterministic: the same row count and split spec always give the same rows,
 * so the evaluate stage (and a champion scored later) can find the test rows again from the spec
 * alone, without them being stored.
 *
 * - ordered: the last `testFraction` of rows are the test set, the `validationFraction` rows just
 *   before them the validation set, the rest (the oldest rows) the training set. Snapshots with a
 *   time column are already in time order, so the model is tested on the newest data, as in use.
 * - random: a seeded shuffle of the rows is cut into the three parts; each part lists its rows in
 *   ascending order.
 */
import type { z } from 'zod';
import { streamFor } from '../ml/random';
import { MISSING_CODE, type Table } from '../ml/table';
import type { splitSchema } from './spec/parts';

/** The spec's `split`, defaults filled in. */
export type SplitSpec = z.output<typeof splitSchema>;

/** Row indices of each part, ascending. `validation` is empty when the spec asks for none. */
export interface SplitRows {
  train: Uint32Array;
  validation: Uint32Array;
  test: Uint32Array;
}

/** The rows of each part as tables of their own (see {@link splitTable}). */
export interface SplitTables {
  train: Table;
  validation: Table;
  test: Table;
  rows: SplitRows;
}

export interface SplitOptions {
  /**
   * Fewest rows every part (and the validation part, when the spec asks for one) must get.
   * @default 1
   */
  minRowsPerPart?: number;
}

/**
 * Random stream of the split, away from the streams the trainers draw from (1-3), so a split seed
 * equal to the trainer seed (both default to 42) does not correlate rows with subsamples.
 */
const SPLIT_STREAM = 101;

/** The largest row count searched for when saying how many rows a split needs. */
const MAX_ROWS_SEARCHED = 1_000_000_000;

/** The split cannot be made as asked: too few rows, or fractions that leave no room for training. */
export class SplitError extends Error {
  /** Running the same step again on the same data cannot help. */
  readonly nonRetryable = true;

  constructor(message: string) {
    super(message);
    this.name = 'SplitError';
  }
}

/** How many rows each part gets out of `rowCount`: fractions of all rows, rounded to the nearest row. */
export function partSizes(
  rowCount: number,
  split: Pick<SplitSpec, 'testFraction' | 'validationFraction'>,
): { train: number; validation: number; test: number } {
  const test = Math.round(rowCount * split.testFraction);
  const validation =
    split.validationFraction === undefined ? 0 : Math.round(rowCount * split.validationFraction);
  return { train: rowCount - test - validation, validation, test };
}

/**
 * Splits rows 0..rowCount-1 into training, validation and test rows as the spec's `split` says.
 *
 * @throws SplitError when a part would get fewer than `minRowsPerPart` rows, saying how many rows
 *   there are, what each part would get and how many rows the split needs
 */
export function splitRows(rowCount: number, split: SplitSpec, options: SplitOptions = {}): SplitRows {
  const minRows = options.minRowsPerPart ?? 1;
  if (!Number.isInteger(rowCount) || rowCount < 0) {
    throw new RangeError(`rowCount must be a whole number of rows, got ${rowCount}`);
  }
  if (!Number.isInteger(minRows) || minRows < 1) {
    throw new RangeError(`minRowsPerPart must be a positive integer, got ${minRows}`);
  }
  checkFractions(split);
  const sizes = partSizes(rowCount, split);
  checkSizes(rowCount, split, sizes, minRows);

  if (split.kind === 'ordered') {
    const trainEnd = sizes.train;
    const validationEnd = trainEnd + sizes.validation;
    return {
      train: range(0, trainEnd),
      validation: range(trainEnd, validationEnd),
      test: range(validationEnd, rowCount),
    };
  }

  // Fisher-Yates on our own seeded generator: the same seed gives the same split on every machine.
  const order = range(0, rowCount);
  const random = streamFor(split.seed, SPLIT_STREAM);
  for (let i = rowCount - 1; i > 0; i--) {
    const j = random.below(i + 1);
    const swap = order[i] as number;
    order[i] = order[j] as number;
    order[j] = swap;
  }
  const testEnd = sizes.test;
  const validationEnd = testEnd + sizes.validation;
  return {
    test: order.slice(0, testEnd).sort(),
    validation: order.slice(testEnd, validationEnd).sort(),
    train: order.slice(validationEnd).sort(),
  };
}

/**
 * {@link splitRows} on a table: each part's rows as a table of its own (copies, via `table.take`),
 * with the row indices they came from.
 *
 * @throws SplitError as {@link splitRows}
 */
export function splitTable(table: Table, split: SplitSpec, options?: SplitOptions): SplitTables {
  const rows = splitRows(table.rowCount, split, options);
  return {
    train: table.take(rows.train),
    validation: table.take(rows.validation),
    test: table.take(rows.test),
    rows,
  };
}

/** The rows whose `target` is present, ascending: rows without one can neither train nor test. */
export function labelledRows(table: Table, target: string): Uint32Array {
  const column = table.column(target);
  const present = (row: number) =>
    column.kind === 'numeric'
      ? !Number.isNaN(column.values[row])
      : (column.codes[row] as number) !== MISSING_CODE;
  let count = 0;
  for (let row = 0; row < table.rowCount; row++) if (present(row)) count++;
  const rows = new Uint32Array(count);
  for (let row = 0, at = 0; row < table.rowCount; row++) if (present(row)) rows[at++] = row;
  return rows;
}

/**
 * {@link splitRows} over the rows of `table` that have a target (see {@link labelledRows}), as row
 * indices of the table. Training and evaluation both split this way, so they agree on the test rows.
 *
 * @throws SplitError as {@link splitRows}, also saying how many rows lack a target
 */
export function splitLabelledRows(
  table: Table,
  target: string,
  split: SplitSpec,
  options?: SplitOptions,
): SplitRows {
  const labelled = labelledRows(table, target);
  let positions: SplitRows;
  try {
    positions = splitRows(labelled.length, split, options);
  } catch (error) {
    const skipped = table.rowCount - labelled.length;
    if (!(error instanceof SplitError) || skipped === 0) throw error;
    throw new SplitError(
      `${error.message} (${skipped} of the ${table.rowCount} rows have no target "${target}" and are left out.)`,
    );
  }
  const toRows = (part: Uint32Array) => part.map((position) => labelled[position] as number);
  return {
    train: toRows(positions.train),
    validation: toRows(positions.validation),
    test: toRows(positions.test),
  };
}

function range(start: number, end: number): Uint32Array {
  const indices = new Uint32Array(Math.max(0, end - start));
  for (let i = 0; i < indices.length; i++) indices[i] = start + i;
  return indices;
}

/** The spec schema already checks these; a split built in code gets the same answers. */
function checkFractions(split: SplitSpec): void {
  const { testFraction, validationFraction } = split;
  if (!(testFraction > 0 && testFraction < 1)) {
    throw new SplitError(`split.testFraction must be in (0, 0.5], got ${testFraction}.`);
  }
  if (validationFraction !== undefined && !(validationFraction > 0 && validationFraction < 1)) {
    throw new SplitError(`split.validationFraction must be in (0, 0.5], got ${validationFraction}.`);
  }
  if (testFraction + (validationFraction ?? 0) >= 1) {
    throw new SplitError(
      `split.testFraction + split.validationFraction is ${testFraction + (validationFraction ?? 0)}, ` +
        'which leaves no rows for training: keep the sum below 0.9.',
    );
  }
  if (split.kind === 'random' && !Number.isFinite(split.seed)) {
    throw new SplitError(`split.seed must be an integer, got ${split.seed}.`);
  }
}

function checkSizes(
  rowCount: number,
  split: SplitSpec,
  sizes: { train: number; validation: number; test: number },
  minRows: number,
): void {
  const wantsValidation = split.validationFraction !== undefined;
  const short = (size: number, wanted: boolean) => wanted && size < minRows;
  if (!short(sizes.train, true) && !short(sizes.validation, wantsValidation) && !short(sizes.test, true)) {
    return;
  }
  const needed = rowsNeeded(split, minRows);
  const parts = [
    `train ${sizes.train}`,
    ...(wantsValidation
      ? [`validation ${sizes.validation} (validationFraction ${split.validationFraction})`]
      : []),
    `test ${sizes.test} (testFraction ${split.testFraction})`,
  ].join(', ');
  const rows = (count: number) => `${count} row${count === 1 ? '' : 's'}`;
  const need = needed === undefined ? '' : ` This split needs at least ${rows(needed)}:`;
  throw new SplitError(
    `Cannot split ${rows(rowCount)}: the parts would get ${parts}, but each part needs at least ` +
      `${rows(minRows)}.${need} bring more rows into the snapshot, or raise the fraction of the part ` +
      'that came out too small.',
  );
}

/** The fewest rows for which every part gets `minRows`, or undefined when none up to a billion do. */
function rowsNeeded(split: SplitSpec, minRows: number): number | undefined {
  const fits = (rows: number) => {
    const sizes = partSizes(rows, split);
    return (
      sizes.train >= minRows &&
      sizes.test >= minRows &&
      (split.validationFraction === undefined || sizes.validation >= minRows)
    );
  };
  // Below this bound some part is short for sure: test and validation need n f >= minRows - 0.5
  // (rounding), training at least n (1 - test - validation) >= minRows - 1. The walk up from it is
  // short: past the bound only rounding can still leave the training part a row or two short.
  const validation = split.validationFraction ?? 0;
  const bound = Math.max(
    (minRows - 0.5) / split.testFraction,
    validation > 0 ? (minRows - 0.5) / validation : 0,
    (minRows - 1) / (1 - split.testFraction - validation),
  );
  let rows = Math.max(1, Math.floor(bound) - 1);
  for (let steps = 0; rows <= MAX_ROWS_SEARCHED && steps < 10_000; rows++, steps++) {
    if (fits(rows)) return rows;
  }
  return undefined;
}
