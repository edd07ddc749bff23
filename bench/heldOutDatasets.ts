/**
 * Held-out data sets for accuracy changes: tables shaped like data the trainer's defaults were not
 * chosen on, so a change made to win on steel-energy and AI4I shows here when it loses elsewhere.
 * Both are seeded and synthetic (no download), with categories, skewed numbers and missing values.
 *
 * - plate-style: the laser cut time of a batch of plates, after the shop's own physics (speed falls
 *   with thickness as t^-1.25 and rises with power as P^0.75, piercing slows on thick plate),
 *   materials and machines as categories, in minutes, with multiplicative noise;
 * - garment-style: a sewing or finishing team's productivity on a day, after the UCI garment
 *   workers' table (teams, departments and days as categories, a target productivity, standard
 *   minutes, work in progress missing for finishing, incentives mostly 0), clipped like the real one.
 */
import type { ReferenceDataset } from '../ml/referenceDatasets';
import { Random } from '../ml/random';
import { Table, type Column } from '../ml/table';

interface Columns {
  numeric: Record<string, Float64Array>;
  categorical: Record<string, { codes: Int32Array; dictionary: string[] }>;
}

function tablesOf(columns: Columns, target: string, trainRows: number): { train: Table; test: Table } {
  const all: Column[] = [
    ...Object.entries(columns.categorical).map(([name, { codes, dictionary }]): Column => ({
      kind: 'categorical',
      name,
      codes,
      dictionary,
    })),
    ...Object.entries(columns.numeric).map(([name, values]): Column => ({ kind: 'numeric', name, values })),
  ];
  const table = new Table(all);
  if (!table.has(target)) throw new Error(`no target column ${target}`);
  return { train: table.slice(0, trainRows), test: table.slice(trainRows, table.rowCount) };
}

/** A categorical column whose dictionary lists the labels in order of first appearance, like a CSV's. */
function categorical(
  labels: readonly string[],
  picks: Int32Array,
): { codes: Int32Array; dictionary: string[] } {
  const dictionary: string[] = [];
  const codeOf = new Map<number, number>();
  const codes = new Int32Array(picks.length);
  picks.forEach((pick, row) => {
    let code = codeOf.get(pick);
    if (code === undefined) {
      code = dictionary.length;
      codeOf.set(pick, code);
      dictionary.push(labels[pick] as string);
    }
    codes[row] = code;
  });
  return { codes, dictionary };
}

function gaussian(random: Random): number {
  const u = 1 - random.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random.next());
}

const MATERIALS = [
  ['S235', 1.0, 1.0],
  ['S355', 0.95, 1.05],
  ['DC01', 1.08, 0.9],
  ['DX51D', 1.02, 0.95],
  ['1.4301', 0.62, 1.6],
  ['1.4404', 0.58, 1.7],
  ['AlMg3', 1.35, 0.8],
  ['AlMg4.5Mn', 1.25, 0.85],
  ['CuZn37', 0.45, 2.1],
  ['Ti Gr2', 0.4, 2.4],
  ['Hardox 450', 0.7, 1.9],
  ['S690QL', 0.8, 1.4],
] as const;
const LASERS = [
  ['laser-3kW', 3],
  ['laser-6kW', 6],
  ['laser-8kW', 8],
  ['laser-12kW', 12],
] as const;
const THICKNESSES = [0.8, 1, 1.5, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25];
const SHIFTS = ['early', 'late', 'night'] as const;

/** Laser cut time (minutes) of a batch of plates; the first 80 % of the rows train. */
export function plateStyle(rows: number, seed: number): ReferenceDataset {
  const random = new Random(seed);
  const material = new Int32Array(rows);
  const machine = new Int32Array(rows);
  const shift = new Int32Array(rows);
  const thickness = new Float64Array(rows);
  const cutLength = new Float64Array(rows);
  const pierces = new Float64Array(rows);
  const quantity = new Float64Array(rows);
  const experience = new Float64Array(rows);
  const minutes = new Float64Array(rows);
  for (let row = 0; row < rows; row++) {
    const m = Math.floor(random.next() ** 1.6 * MATERIALS.length);
    const t = THICKNESSES[Math.floor(random.next() * THICKNESSES.length)] as number;
    // Thick plate goes to the big lasers.
    const l = Math.min(LASERS.length - 1, Math.floor(random.next() * LASERS.length + (t > 10 ? 1.5 : 0)));
    const s = Math.floor(random.next() * SHIFTS.length);
    const [, speedFactor, pierceFactor] = MATERIALS[m] as (typeof MATERIALS)[number];
    const power = (LASERS[l] as (typeof LASERS)[number])[1];
    // Skewed, but not so far that a handful of test rows decide the RMSE.
    const length = Math.exp(6.5 + 0.6 * gaussian(random));
    const holes = 1 + Math.floor(random.next() ** 2 * 40);
    const batch = 1 + Math.floor(Math.exp(2 * random.next()) * 3);
    const years = random.next() < 0.15 ? Number.NaN : Math.floor(random.next() * 25);
    const speedMmPerS = 90 * speedFactor * power ** 0.75 * Math.max(0.8, t) ** -1.25;
    const pierceS = 0.2 * pierceFactor * t ** 1.3 * (power >= 8 ? 0.7 : 1);
    const perPart = length / speedMmPerS + holes * pierceS;
    const shiftFactor = s === 2 ? 1.12 : 1;
    const skill = Number.isNaN(years) ? 1 : 1.1 - 0.008 * years;
    const setup = 4 + (t > 10 ? 6 : 0);
    minutes[row] = (setup + (batch * perPart * shiftFactor * skill) / 60) * Math.exp(0.12 * gaussian(random));
    material[row] = m;
    machine[row] = l;
    shift[row] = s;
    thickness[row] = t;
    cutLength[row] = Math.round(length);
    pierces[row] = holes;
    quantity[row] = batch;
    experience[row] = years;
  }
  const features = [
    'material',
    'machine',
    'shift',
    'thickness_mm',
    'cut_length_mm',
    'pierces',
    'quantity',
    'operator_years',
  ];
  return {
    name: `plate-style-${seed}`,
    task: 'regression',
    target: 'cut_minutes',
    features,
    ...tablesOf(
      {
        categorical: {
          material: categorical(
            MATERIALS.map(([name]) => name),
            material,
          ),
          machine: categorical(
            LASERS.map(([name]) => name),
            machine,
          ),
          shift: categorical(SHIFTS, shift),
        },
        numeric: {
          thickness_mm: thickness,
          cut_length_mm: cutLength,
          pierces,
          quantity,
          operator_years: experience,
          cut_minutes: minutes,
        },
      },
      'cut_minutes',
      Math.floor(rows * 0.8),
    ),
  };
}

const DAYS = ['Saturday', 'Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday'] as const;
const DEPARTMENTS = ['sweing', 'finishing'] as const;
const QUARTERS = ['Quarter1', 'Quarter2', 'Quarter3', 'Quarter4', 'Quarter5'] as const;

/** A team's productivity on a day (0.23 to 1.12); the first 80 % of the rows train. */
export function garmentStyle(rows: number, seed: number): ReferenceDataset {
  const random = new Random(seed);
  const teamEffect = Array.from({ length: 12 }, () => 0.07 * gaussian(random));
  const team = new Int32Array(rows);
  const department = new Int32Array(rows);
  const day = new Int32Array(rows);
  const quarter = new Int32Array(rows);
  const numeric = {
    targeted_productivity: new Float64Array(rows),
    smv: new Float64Array(rows),
    wip: new Float64Array(rows),
    over_time: new Float64Array(rows),
    incentive: new Float64Array(rows),
    idle_time: new Float64Array(rows),
    no_of_style_change: new Float64Array(rows),
    no_of_workers: new Float64Array(rows),
    actual_productivity: new Float64Array(rows),
  };
  for (let row = 0; row < rows; row++) {
    const k = Math.floor(random.next() * 12);
    const sewing = random.next() < 0.58;
    const d = Math.floor(random.next() * DAYS.length);
    const q = Math.min(4, Math.floor((row / rows) * 4.2));
    const target = [0.35, 0.5, 0.6, 0.65, 0.7, 0.75, 0.8][Math.floor(random.next() * 7)] as number;
    const smv = sewing ? 10 + random.next() * 45 : 2.9 + random.next() * 2;
    const workers = sewing ? 30 + Math.floor(random.next() * 30) : 2 + Math.floor(random.next() * 18);
    const incentive = sewing && random.next() < 0.45 ? 20 + Math.floor(random.next() * 12) * 10 : 0;
    const idle = random.next() < 0.02 ? 2 + random.next() * 200 : 0;
    const styleChange = random.next() < 0.8 ? 0 : random.next() < 0.7 ? 1 : 2;
    const overTime = Math.round(workers * 60 * (1 + 3 * random.next()));
    const wip = sewing ? Math.round(Math.exp(6.5 + 0.8 * gaussian(random))) : Number.NaN;
    let productivity =
      target +
      (teamEffect[k] as number) +
      (sewing ? 0 : 0.06) +
      0.0012 * Math.min(incentive, 100) -
      0.06 * styleChange -
      (idle > 0 ? 0.25 : 0) -
      (d === 1 && k >= 9 ? 0.08 : 0) +
      (q === 4 ? -0.05 : 0) +
      (sewing ? -0.002 * (smv - 25) : 0) +
      0.1 * gaussian(random);
    productivity = Math.min(1.12, Math.max(0.23, productivity));
    team[row] = k;
    department[row] = sewing ? 0 : 1;
    day[row] = d;
    quarter[row] = q;
    numeric.targeted_productivity[row] = target;
    numeric.smv[row] = Math.round(smv * 100) / 100;
    numeric.wip[row] = wip;
    numeric.over_time[row] = overTime;
    numeric.incentive[row] = incentive;
    numeric.idle_time[row] = Math.round(idle);
    numeric.no_of_style_change[row] = styleChange;
    numeric.no_of_workers[row] = workers;
    numeric.actual_productivity[row] = productivity;
  }
  const teams = Array.from({ length: 12 }, (_, k) => String(k + 1));
  const features = [
    'quarter',
    'department',
    'day',
    'team',
    ...Object.keys(numeric).filter((name) => name !== 'actual_productivity'),
  ];
  return {
    name: `garment-style-${seed}`,
    task: 'regression',
    target: 'actual_productivity',
    features,
    ...tablesOf(
      {
        categorical: {
          quarter: categorical(QUARTERS, quarter),
          department: categorical(DEPARTMENTS, department),
          day: categorical(DAYS, day),
          team: categorical(teams, team),
        },
        numeric,
      },
      'actual_productivity',
      Math.floor(rows * 0.8),
    ),
  };
}
