/**
 * A job's route through the shop: which machines its part visits, in order, and the noise-free
 * times of each step. The quote and the floor use the same route; the floor adds its conditions.
 */
import { FAMILIES, machine, type Machine } from './catalogue';
import {
  bendSeconds,
  cutSecondsPerPart,
  deburrSeconds,
  type FloorConditions,
  paintSeconds,
  type PartGeometry,
  sheetHandlingSeconds,
  weldSeconds,
} from './physics';

export type Operation = 'cut' | 'deburr' | 'bend' | 'weld' | 'paint';

export interface PlannedStep {
  operation: Operation;
  machine: Machine;
  /** Machine seconds per part. */
  perPart: number;
  /** Seconds per sheet loaded (cutting only). */
  perSheet: number;
  setup: number;
}

/**
 * Chooses the cutting machine: thick mild steel goes to the plasma table, thin perforated steel to
 * the punch, everything else to a laser (the 12 kW one for plate over 10 mm; aluminium and titanium
 * never to the old CO2 laser). `laserDraw` in [0, 1) spreads the rest across the lasers.
 */
export function chooseCutter(part: PartGeometry, laserDraw: number): Machine {
  if (part.family === 'mild_steel' && part.thicknessMm >= 15) return machine('PLA-1');
  if (
    part.thicknessMm <= 3 &&
    part.holeCount >= 25 &&
    (part.family === 'mild_steel' || part.family === 'galvanised_steel')
  ) {
    return machine('PUN-1');
  }
  if (part.thicknessMm > 10) return machine('LAS-2');
  if (laserDraw < 0.45) return machine('LAS-1');
  if (laserDraw < 0.8) return machine('LAS-2');
  return part.family === 'aluminium' || part.family === 'titanium' ? machine('LAS-1') : machine('LAS-3');
}

/** Cutting set-up: program, nozzle and gas change; plate needs a nozzle check and a test cut. */
export function cutSetupSeconds(part: PartGeometry): number {
  return 180 + (part.thicknessMm > 8 ? 120 : 0) + (FAMILIES[part.family].steel ? 0 : 60);
}

export function planRoute(
  part: PartGeometry,
  quantity: number,
  cutter: Machine,
  conditions: FloorConditions,
): PlannedStep[] {
  const steps: PlannedStep[] = [
    {
      operation: 'cut',
      machine: cutter,
      perPart: cutSecondsPerPart(cutter, part, conditions),
      perSheet: sheetHandlingSeconds(part.family, conditions),
      setup: cutSetupSeconds(part),
    },
  ];
  if (part.tolerance === 'fine' || part.thicknessMm >= 4 || cutter.kind === 'plasma') {
    steps.push({ operation: 'deburr', machine: machine('DEB-1'), perSheet: 0, ...deburrSeconds(part) });
  }
  if (part.bendCount > 0) {
    const brake = part.thicknessMm > 6 || part.areaM2 > 1 ? machine('BRK-2') : machine('BRK-1');
    steps.push({ operation: 'bend', machine: brake, perSheet: 0, ...bendSeconds(part, conditions) });
  }
  if (part.weldLengthMm > 0) {
    const robot = quantity >= 40;
    steps.push({
      operation: 'weld',
      machine: machine(robot ? 'WLD-2' : 'WLD-1'),
      perSheet: 0,
      ...weldSeconds(part, robot),
    });
  }
  if (part.painted)
    steps.push({ operation: 'paint', machine: machine('PNT-1'), perSheet: 0, ...paintSeconds(part) });
  return steps;
}
