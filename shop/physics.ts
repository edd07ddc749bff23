/**
 * The ground truth of the shop floor: how long cutting, bending, deburring, welding and painting
 * take, what a job draws from the grid, how much sheet ends up as scrap and what the shop quotes.
 * Pure functions of a part, its quantity and the floor conditions; the generator adds the noise.
 *
 * The shapes follow the trade's rules of thumb: laser cutting speed falls with thickness roughly as
 * t^-1.25 and rises with source power as P^0.75; piercing thick plate takes seconds; sheets are
 * loaded and unloaded by people (fewer operators, night shifts: slower); press-brake time is per
 * bend plus tool set-up; nesting wastes more with big parts in small lots.
 */
import { FAMILIES, type Machine, type MaterialFamily } from './catalogue';

export interface PartGeometry {
  family: MaterialFamily;
  densityKgM3: number;
  thicknessMm: number;
  /** Flat blank area of one part, m^2. */
  areaM2: number;
  cutLengthMm: number;
  pierceCount: number;
  holeCount: number;
  bendCount: number;
  weldLengthMm: number;
  painted: boolean;
  tolerance: 'fine' | 'medium' | 'coarse';
}

export interface FloorConditions {
  operatorCount: number;
  night: boolean;
  /** Cutting speed multiplier of the machine (1 = as new; 0.85 = a worn laser 15 % slower). */
  speedFactor: number;
}

/** The standard conditions a quote assumes. */
export const QUOTING_CONDITIONS: FloorConditions = { operatorCount: 6, night: false, speedFactor: 1 };

/** Laser cutting speed in mm/s for a machine, material family and thickness. */
export function laserSpeedMmPerS(laser: Machine, family: MaterialFamily, thicknessMm: number): number {
  let speed = 240 * FAMILIES[family].laserSpeed * (laser.powerKw / 6) ** 0.75 * thicknessMm ** -1.25;
  // The CO2 source couples worse into metal, much worse into reflective aluminium and titanium.
  if (laser.model.startsWith('CO2')) speed *= family === 'aluminium' || family === 'titanium' ? 0.5 : 0.8;
  // Axis dynamics cap thin-sheet speed.
  return Math.min(speed, 420);
}

/** Seconds to pierce once before a contour. */
export function pierceSeconds(kind: Machine['kind'], family: MaterialFamily, thicknessMm: number): number {
  if (kind === 'plasma') return 1 + 0.1 * thicknessMm;
  return 0.25 + 0.04 * thicknessMm ** 1.6 * FAMILIES[family].pierce;
}

/** Rapid move between contours, per pierce. */
const POSITIONING_SECONDS = 0.35;

/** Machine seconds to cut one part (no sheet handling). */
export function cutSecondsPerPart(cutter: Machine, part: PartGeometry, conditions: FloorConditions): number {
  switch (cutter.kind) {
    case 'laser': {
      const speed = laserSpeedMmPerS(cutter, part.family, part.thicknessMm) * conditions.speedFactor;
      const pierce = pierceSeconds('laser', part.family, part.thicknessMm) * conditions.speedFactor ** -1;
      return part.cutLengthMm / speed + part.pierceCount * (pierce + POSITIONING_SECONDS);
    }
    case 'plasma': {
      const speed = 520 * part.thicknessMm ** -1.05 * conditions.speedFactor;
      return (
        part.cutLengthMm / speed +
        part.pierceCount * (pierceSeconds('plasma', part.family, part.thicknessMm) + 0.6)
      );
    }
    case 'punch':
      // One hit per hole, nibbling along the outer contour, plus the part's drop-out.
      return part.holeCount * 0.3 + (part.cutLengthMm / 40) * 0.12 + 2;
    default:
      throw new Error(`${cutter.machineId} is a ${cutter.kind}, not a cutting machine`);
  }
}

/** People are slower with fewer hands and at night. */
export function manualFactor(conditions: FloorConditions): number {
  return (1 + 0.06 * Math.max(0, 6 - conditions.operatorCount)) * (conditions.night ? 1.08 : 1);
}

/** Seconds to load a sheet and unload its parts and skeleton. */
export function sheetHandlingSeconds(family: MaterialFamily, conditions: FloorConditions): number {
  const base = family === 'aluminium' || family === 'titanium' ? 100 : 120;
  return base * manualFactor(conditions);
}

/** Share of the sheet that ends up in parts, before noise. */
export function nestingEfficiency(part: PartGeometry, quantity: number): number {
  const sheet = FAMILIES[part.family].sheetAreaM2;
  const efficiency =
    0.86 -
    0.2 * Math.sqrt(part.areaM2 / sheet) -
    0.1 / Math.sqrt(quantity) +
    FAMILIES[part.family].remnantReuse;
  return clamp(efficiency, 0.35, 0.93);
}

/** Press-brake seconds per part (all its bends) and the job's tool set-up. */
export function bendSeconds(
  part: PartGeometry,
  conditions: FloorConditions,
): { perPart: number; setup: number } {
  const perBend = 5 + 3.5 * Math.sqrt(part.areaM2) + 0.25 * part.thicknessMm;
  const perPart = (part.bendCount * perBend + 6) * manualFactor(conditions) * (conditions.night ? 1.02 : 1);
  const setup = 420 + 150 * Math.min(part.bendCount, 6);
  return { perPart, setup };
}

export function deburrSeconds(part: PartGeometry): { perPart: number; setup: number } {
  return { perPart: 15 + 25 * part.areaM2, setup: 120 };
}

export function weldSeconds(part: PartGeometry, robot: boolean): { perPart: number; setup: number } {
  return robot
    ? { perPart: part.weldLengthMm / 9 + 20, setup: 1800 }
    : { perPart: part.weldLengthMm / 3.5 + 60, setup: 300 };
}

export function paintSeconds(part: PartGeometry): { perPart: number; setup: number } {
  return { perPart: 20 + 45 * part.areaM2, setup: 900 };
}

/** Share of the rated electrical input a machine draws while running the step. */
export function loadFactor(kind: Machine['kind'], thicknessMm: number): number {
  switch (kind) {
    case 'laser':
      return Math.min(0.5 + 0.04 * thicknessMm, 0.95);
    case 'plasma':
      return 0.8;
    case 'punch':
      return 0.45;
    case 'press_brake':
      return 0.3;
    case 'deburr':
      return 0.7;
    case 'weld':
      return 0.6;
    case 'paint':
      return 0.85;
  }
}

/** A machine idles at this share of its rated input during set-up. */
export const IDLE_SHARE = 0.25;
/** Compressed air, extraction and light while a job is on the floor, kW. */
export const BASE_LOAD_KW = 3;

/** Energy in kWh of one step: running at its load factor, idling through set-up. */
export function stepEnergyKwh(
  step: { machine: Machine; runSeconds: number; setupSeconds: number },
  thicknessMm: number,
): number {
  const running = step.machine.ratedInputKw * loadFactor(step.machine.kind, thicknessMm) * step.runSeconds;
  const idling = step.machine.ratedInputKw * IDLE_SHARE * step.setupSeconds;
  return (running + idling + BASE_LOAD_KW * (step.runSeconds + step.setupSeconds)) / 3600;
}

/** Share of parts rejected at inspection. */
export function rejectRate(part: PartGeometry, conditions: FloorConditions): number {
  return (
    0.004 +
    (part.tolerance === 'fine' ? 0.015 : part.tolerance === 'medium' ? 0.004 : 0) +
    (conditions.night ? 0.006 : 0) +
    0.004 * Math.max(0, 5 - conditions.operatorCount)
  );
}

/** Mass in kg of `areaM2` of sheet of the part's material and thickness. */
export function sheetMassKg(part: PartGeometry, areaM2: number): number {
  return (areaM2 * part.thicknessMm * part.densityKgM3) / 1000;
}

/** Margin the shop asks by customer size (large customers negotiate). */
export const BASE_MARGIN = { small: 0.3, medium: 0.22, large: 0.15 } as const;

/** Powder per painted m^2, in money. */
export const POWDER_PER_M2 = 2.5;

export function clamp(value: number, low: number, high: number): number {
  return Math.min(Math.max(value, low), high);
}
