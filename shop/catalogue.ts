/**
 * What a mid-sized sheet-metal shop works with: its materials (grades by family, with the properties
 * cutting and costing need), its machines (three lasers, a plasma table, a punch, two press brakes,
 * deburring, welding and a powder-coating line) and the sheet formats it buys.
 */

/** Material families; `titanium` only appears in the `new-material` drift scenario. */
export type MaterialFamily = 'mild_steel' | 'galvanised_steel' | 'stainless_steel' | 'aluminium' | 'titanium';

export interface Material {
  materialId: string;
  grade: string;
  family: MaterialFamily;
  densityKgM3: number;
  /** Price per kg before any price shock. */
  pricePerKg: number;
}

/** How a family behaves on the machines, relative to mild steel (the ground truth, not in the tables). */
export interface FamilyBehaviour {
  /** Laser cutting speed relative to mild steel at the same power and thickness. */
  laserSpeed: number;
  /** Pierce time relative to mild steel. */
  pierce: number;
  /** Thickness range (mm) the shop stocks. */
  thicknessesMm: readonly number[];
  /** Sheet format (m^2) the shop buys. */
  sheetAreaM2: number;
  /** Off-cuts the shop keeps and reuses (expensive metals), as nesting efficiency gained. */
  remnantReuse: number;
  /** A steel family, hit by a steel price shock. */
  steel: boolean;
}

export const FAMILIES: Record<MaterialFamily, FamilyBehaviour> = {
  mild_steel: {
    laserSpeed: 1,
    pierce: 1,
    thicknessesMm: [1, 1.5, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20],
    sheetAreaM2: 4.5,
    remnantReuse: 0,
    steel: true,
  },
  galvanised_steel: {
    laserSpeed: 0.95,
    pierce: 1.05,
    thicknessesMm: [0.75, 1, 1.25, 1.5, 2, 2.5, 3],
    sheetAreaM2: 3.125,
    remnantReuse: 0,
    steel: true,
  },
  stainless_steel: {
    laserSpeed: 0.82,
    pierce: 1.35,
    thicknessesMm: [1, 1.5, 2, 3, 4, 5, 6, 8, 10, 12],
    sheetAreaM2: 4.5,
    remnantReuse: 0.04,
    steel: true,
  },
  aluminium: {
    laserSpeed: 1.12,
    pierce: 0.8,
    thicknessesMm: [1, 1.5, 2, 3, 4, 5, 6, 8, 10],
    sheetAreaM2: 3.125,
    remnantReuse: 0.05,
    steel: false,
  },
  titanium: {
    laserSpeed: 0.55,
    pierce: 1.9,
    thicknessesMm: [1, 1.5, 2, 3, 4, 5, 6],
    sheetAreaM2: 2,
    remnantReuse: 0.08,
    steel: false,
  },
};

/** The shop's materials as a table: id, grade, family, density (kg/m³), price per kg. */
const MATERIAL_TABLE: readonly (readonly [string, string, MaterialFamily, number, number])[] = [
  ['S235JR', 'S235JR', 'mild_steel', 7850, 1.05],
  ['S355MC', 'S355MC', 'mild_steel', 7850, 1.2],
  ['DC01', 'DC01', 'mild_steel', 7850, 1.15],
  ['DX51D-Z275', 'DX51D+Z275', 'galvanised_steel', 7850, 1.35],
  ['1.4301', 'X5CrNi18-10', 'stainless_steel', 7900, 3.4],
  ['1.4404', 'X2CrNiMo17-12-2', 'stainless_steel', 8000, 4.3],
  ['EN-AW-5754', 'AlMg3', 'aluminium', 2670, 4.1],
  ['EN-AW-6082', 'AlSi1MgMn', 'aluminium', 2700, 4.4],
  ['TI-GR2', 'Titanium Grade 2', 'titanium', 4510, 21],
  ['TI-GR5', 'Ti-6Al-4V (Grade 5)', 'titanium', 4430, 28],
];

export const MATERIALS: readonly Material[] = MATERIAL_TABLE.map(
  ([materialId, grade, family, densityKgM3, pricePerKg]) => ({
    materialId,
    grade,
    family,
    densityKgM3,
    pricePerKg,
  }),
);

/** How often each material is ordered in a normal month (titanium: never). */
export const MATERIAL_MIX: Readonly<Record<string, number>> = {
  S235JR: 0.3,
  S355MC: 0.12,
  DC01: 0.1,
  'DX51D-Z275': 0.13,
  '1.4301': 0.14,
  '1.4404': 0.05,
  'EN-AW-5754': 0.1,
  'EN-AW-6082': 0.06,
};

export type MachineKind = 'laser' | 'plasma' | 'punch' | 'press_brake' | 'deburr' | 'weld' | 'paint';

export interface Machine {
  machineId: string;
  kind: MachineKind;
  model: string;
  /** Process power: the laser source, the plasma, the main drive. */
  powerKw: number;
  /** Electrical draw at full load. */
  ratedInputKw: number;
  ratePerHour: number;
  installedOn: string;
}

export const MACHINES: readonly Machine[] = [
  {
    machineId: 'LAS-1',
    kind: 'laser',
    model: 'fibre laser 6 kW',
    powerKw: 6,
    ratedInputKw: 32,
    ratePerHour: 120,
    installedOn: '2019-03-01',
  },
  {
    machineId: 'LAS-2',
    kind: 'laser',
    model: 'fibre laser 12 kW',
    powerKw: 12,
    ratedInputKw: 55,
    ratePerHour: 155,
    installedOn: '2022-09-15',
  },
  {
    machineId: 'LAS-3',
    kind: 'laser',
    model: 'CO2 laser 4 kW',
    powerKw: 4,
    ratedInputKw: 60,
    ratePerHour: 90,
    installedOn: '2011-05-01',
  },
  {
    machineId: 'PLA-1',
    kind: 'plasma',
    model: 'plasma table 260 A',
    powerKw: 45,
    ratedInputKw: 70,
    ratePerHour: 85,
    installedOn: '2016-01-10',
  },
  {
    machineId: 'PUN-1',
    kind: 'punch',
    model: 'servo punch 22 t',
    powerKw: 22,
    ratedInputKw: 30,
    ratePerHour: 95,
    installedOn: '2018-06-01',
  },
  {
    machineId: 'BRK-1',
    kind: 'press_brake',
    model: 'press brake 100 t',
    powerKw: 11,
    ratedInputKw: 15,
    ratePerHour: 70,
    installedOn: '2017-02-01',
  },
  {
    machineId: 'BRK-2',
    kind: 'press_brake',
    model: 'press brake 230 t',
    powerKw: 22,
    ratedInputKw: 30,
    ratePerHour: 88,
    installedOn: '2021-04-01',
  },
  {
    machineId: 'DEB-1',
    kind: 'deburr',
    model: 'wide-belt deburring',
    powerKw: 7.5,
    ratedInputKw: 12,
    ratePerHour: 45,
    installedOn: '2015-08-01',
  },
  {
    machineId: 'WLD-1',
    kind: 'weld',
    model: 'MIG/MAG manual cell',
    powerKw: 8,
    ratedInputKw: 10,
    ratePerHour: 62,
    installedOn: '2014-03-01',
  },
  {
    machineId: 'WLD-2',
    kind: 'weld',
    model: 'welding robot',
    powerKw: 12,
    ratedInputKw: 18,
    ratePerHour: 80,
    installedOn: '2020-11-01',
  },
  {
    machineId: 'PNT-1',
    kind: 'paint',
    model: 'powder-coating line',
    powerKw: 60,
    ratedInputKw: 90,
    ratePerHour: 58,
    installedOn: '2013-07-01',
  },
];

export function machine(machineId: string): Machine {
  const found = MACHINES.find((candidate) => candidate.machineId === machineId);
  if (!found) throw new Error(`No machine ${machineId} in the catalogue`);
  return found;
}

export function material(materialId: string): Material {
  const found = MATERIALS.find((candidate) => candidate.materialId === materialId);
  if (!found) throw new Error(`No material ${materialId} in the catalogue`);
  return found;
}

export type SizeSegment = 'small' | 'medium' | 'large';
export const SIZE_SEGMENTS: readonly SizeSegment[] = ['small', 'medium', 'large'];
export const REGIONS = ['north', 'south', 'east', 'west', 'export'] as const;

/** Customers the shop has (ids 1..CUSTOMER_COUNT). */
export const CUSTOMER_COUNT = 400;

export const SHIFTS = ['early', 'late', 'night'] as const;
export type ShiftName = (typeof SHIFTS)[number];
/** Jobs released to the floor per shift. */
export const JOBS_PER_SHIFT = 80;
/** The first shift of the shop's calendar (a Monday); shifts run Monday to Friday, three a day, and Saturday early. */
export const CALENDAR_START = Date.UTC(2024, 0, 1);
