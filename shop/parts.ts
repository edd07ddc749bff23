/** New drawings: what customers ask the shop to make. */
import type { Random } from '../ml/random';
import { FAMILIES, material, type Material, MATERIAL_MIX } from './catalogue';
import type { Customer } from './customers';
import { clamp, type PartGeometry } from './physics';
import { lognormal } from './randomness';
import { NEW_MATERIAL_SHARE, type Scenario } from './scenarios';

export interface GeneratedPart extends PartGeometry {
  partId: number;
  customer: Customer;
  material: Material;
}

function chooseMaterial(random: Random, scenario: Scenario): Material {
  if (scenario === 'new-material' && random.next() < NEW_MATERIAL_SHARE) {
    return random.next() < 0.7 ? material('TI-GR2') : material('TI-GR5');
  }
  let draw = random.next();
  for (const [materialId, share] of Object.entries(MATERIAL_MIX)) {
    draw -= share;
    if (draw < 0) return material(materialId);
  }
  return material('S235JR');
}

function chooseThickness(random: Random, family: Material['family']): number {
  const options = FAMILIES[family].thicknessesMm;
  const weights = options.map((t) => 1 / (1 + t / 3));
  let draw = random.next() * weights.reduce((sum, weight) => sum + weight, 0);
  for (let i = 0; i < options.length; i++) {
    draw -= weights[i] ?? 0;
    if (draw < 0) return options[i] ?? 1;
  }
  return options[options.length - 1] ?? 1;
}

/** A new drawing: its material, thickness and geometry. */
export function generatePart(
  random: Random,
  partId: number,
  customer: Customer,
  scenario: Scenario,
): GeneratedPart {
  const material = chooseMaterial(random, scenario);
  const family = material.family;
  const thicknessMm = chooseThickness(random, family);
  const sheet = FAMILIES[family].sheetAreaM2;
  const areaM2 = clamp(lognormal(random, 0.08, 0.9), 0.004, 0.6 * sheet);
  const side = Math.sqrt(areaM2) * 1000;
  const outer = 4 * side * (1 + 0.8 * random.next());
  const holeCount = random.next() < 0.2 ? 0 : Math.min(200, Math.floor(lognormal(random, 4, 1)));
  const holeDiameter = 6 + 24 * random.next();
  const cutouts = random.below(4);
  const cutLengthMm =
    outer + holeCount * Math.PI * holeDiameter + cutouts * side * (0.3 + 0.9 * random.next());
  const bendCount =
    thicknessMm > 12 || random.next() < 0.3 ? 0 : Math.min(16, 1 + Math.floor(lognormal(random, 2, 0.7)));
  const weldLengthMm = random.next() < 0.18 ? Math.round(50 + 1950 * random.next() ** 2) : 0;
  const paintable = family === 'mild_steel' || family === 'galvanised_steel';
  const painted = random.next() < (paintable ? 0.4 : 0.08);
  const toleranceDraw = random.next();
  const tolerance = toleranceDraw < 0.15 ? 'fine' : toleranceDraw < 0.75 ? 'medium' : 'coarse';
  return {
    partId,
    customer,
    material,
    family,
    densityKgM3: material.densityKgM3,
    thicknessMm,
    areaM2,
    cutLengthMm,
    pierceCount: 1 + holeCount + cutouts,
    holeCount,
    bendCount,
    weldLengthMm,
    painted,
    tolerance,
  };
}
