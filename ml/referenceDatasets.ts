/**
 * The reference data sets the ML core is measured on (tests and `npm run bench -- ml`): the two
 * real data sets shipped in `data/reference/` with their agreed splits, and the synthetic Friedman #1
 * table.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { readCsvFile } from './csv';
import type { GbdtOptions } from './gbdt';
import type { TaskKind } from './model';
import { Random } from './random';
import { Table, type NumericColumn } from './table';

export interface ReferenceDataset {
  name: string;
  task: TaskKind;
  target: string;
  features: string[];
  train: Table;
  test: Table;
}

/** The boosting budgets the reference figures are measured with. */
export const REFERENCE_GBDT_OPTIONS = {
  /** The budget: 200 trees, learning rate 0.1, up to 31 leaves. */
  steelEnergy: { iterations: 200, learningRate: 0.1, maxLeaves: 31 },
  ai4i: { iterations: 100, learningRate: 0.1, maxLeaves: 31 },
  friedman1: { iterations: 200, learningRate: 0.1, maxLeaves: 31 },
} as const satisfies Record<string, GbdtOptions>;

/** The two real data sets, relative to the reference data folder. */
export const STEEL_ENERGY_CSV = path.join('steel-energy', 'Steel_industry_data.csv');
export const AI4I_CSV = path.join('ai4i2020', 'ai4i2020.csv');

/**
 * The reference data folder: `data/reference` in the repository, so a clone with nothing beside it
 * runs the tests, or `override` (the entry point passes KERF_SHARED_DATA) to measure on another
 * copy holding `steel-energy/` and `ai4i2020/`.
 *
 * @throws when the data sets are not there, naming the folder looked in and how to fix it
 */
export function referenceDataDir(repoRoot: string, override?: string): string {
  const dir = path.resolve(override ?? path.join(repoRoot, 'data', 'reference'));
  if (!existsSync(path.join(dir, STEEL_ENERGY_CSV)) || !existsSync(path.join(dir, AI4I_CSV))) {
    const fix =
      override === undefined
        ? 'restore data/reference from git (git checkout -- data/reference)'
        : 'point KERF_SHARED_DATA at a folder that holds steel-energy/ and ai4i2020/, or unset it';
    throw new Error(`The reference data sets ${STEEL_ENERGY_CSV} and ${AI4I_CSV} are not in ${dir}: ${fix}`);
  }
  return dir;
}

/**
 * UCI steel-industry energy: predict `Usage_kWh` from all columns but `date` and `CO2(tCO2)`;
 * file order, the first 26,280 rows train and the last 8,760 test.
 */
export async function loadSteelEnergy(dataDir: string): Promise<ReferenceDataset> {
  const table = await readCsvFile(path.join(dataDir, STEEL_ENERGY_CSV));
  const target = 'Usage_kWh';
  const features = table.columnNames.filter((name) => ![target, 'date', 'CO2(tCO2)'].includes(name));
  return { name: 'steel-energy', task: 'regression', target, features, ...splitAt(table, 26_280, 8_760) };
}

/**
 * AI4I 2020 predictive maintenance: predict `Machine failure` without the identifiers and the
 * failure-mode columns that give it away; the first 7,500 rows train and the last 2,500 test.
 */
export async function loadAi4i(dataDir: string): Promise<ReferenceDataset> {
  const table = await readCsvFile(path.join(dataDir, AI4I_CSV));
  const target = 'Machine failure';
  const dropped = ['UDI', 'Product ID', 'TWF', 'HDF', 'PWF', 'OSF', 'RNF', target];
  const features = table.columnNames.filter((name) => !dropped.includes(name));
  return { name: 'ai4i2020', task: 'binary', target, features, ...splitAt(table, 7_500, 2_500) };
}

function splitAt(table: Table, trainRows: number, testRows: number): { train: Table; test: Table } {
  if (table.rowCount < trainRows + testRows) {
    throw new Error(`Expected at least ${trainRows + testRows} rows, found ${table.rowCount}`);
  }
  return { train: table.slice(0, trainRows), test: table.slice(table.rowCount - testRows, table.rowCount) };
}

/**
 * Friedman #1: x ~ U(0,1)^20, y = 10 sin(pi x0 x1) + 20 (x2 - 0.5)^2 + 10 x3 + 5 x4 + N(0, 1);
 * the first 80% train, the rest test. Seeded, so every run sees the same table.
 */
export function friedman1(rows: number, seed = 1): ReferenceDataset {
  const generator = new Random(seed);
  const random = () => generator.next();
  const gaussian = () => {
    // Box-Muller; 1 - u keeps the logarithm finite.
    const u = 1 - random();
    const v = random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  const width = 20;
  const trainRows = Math.floor(rows * 0.8);
  // Train and test are generated straight into their own columns: no full table to slice and copy.
  const part = (count: number) => ({
    x: Array.from({ length: width }, () => new Float64Array(count)),
    y: new Float64Array(count),
  });
  const trainPart = part(trainRows);
  const testPart = part(rows - trainRows);
  for (let row = 0; row < rows; row++) {
    const { x, y } = row < trainRows ? trainPart : testPart;
    const at = row < trainRows ? row : row - trainRows;
    for (let j = 0; j < width; j++) (x[j] as Float64Array)[at] = random();
    const v = (j: number) => (x[j] as Float64Array)[at] as number;
    y[at] = 10 * Math.sin(Math.PI * v(0) * v(1)) + 20 * (v(2) - 0.5) ** 2 + 10 * v(3) + 5 * v(4) + gaussian();
  }
  const features = Array.from({ length: width }, (_, j) => `x${j}`);
  const toTable = ({ x, y }: ReturnType<typeof part>) =>
    new Table([
      ...x.map((values, j): NumericColumn => ({ kind: 'numeric', name: features[j] as string, values })),
      { kind: 'numeric', name: 'y', values: y },
    ]);
  return {
    name: `friedman1-${rows}`,
    task: 'regression',
    target: 'y',
    features,
    train: toTable(trainPart),
    test: toTable(testPart),
  };
}
