/** The shop's quoting sheet. */
import { FAMILIES, type Machine, type SizeSegment } from './catalogue';
import {
  BASE_MARGIN,
  nestingEfficiency,
  type PartGeometry,
  POWDER_PER_M2,
  QUOTING_CONDITIONS,
  sheetMassKg,
} from './physics';
import { planRoute } from './route';

export interface QuoteFigures {
  materialCost: number;
  machineCost: number;
  setupCost: number;
  margin: number;
  unitPrice: number;
  totalPrice: number;
}

/** What the shop's quoting sheet says: estimated material, machine time at the machines' rates, set-up, margin. */
export function quote(
  part: PartGeometry,
  quantity: number,
  cutter: Machine,
  pricePerKg: number,
  segment: SizeSegment,
  marginNoise: number,
): QuoteFigures {
  const efficiency = nestingEfficiency(part, quantity);
  const materialCost = sheetMassKg(part, (quantity * part.areaM2) / efficiency) * pricePerKg;
  const sheets = Math.max(
    1,
    Math.ceil((quantity * part.areaM2) / efficiency / FAMILIES[part.family].sheetAreaM2),
  );
  let machineCost = 0;
  let setupCost = 0;
  for (const step of planRoute(part, quantity, cutter, QUOTING_CONDITIONS)) {
    const rate = step.machine.ratePerHour / 3600;
    machineCost += (quantity * step.perPart + sheets * step.perSheet) * rate;
    setupCost += step.setup * rate;
  }
  const powder = part.painted ? quantity * part.areaM2 * 2 * POWDER_PER_M2 : 0;
  const margin = Math.max(0.03, BASE_MARGIN[segment] - 0.03 * Math.log10(quantity) + marginNoise);
  const total = (materialCost + machineCost + setupCost + powder) * (1 + margin);
  const unitPrice = Math.max(0.01, Math.round((total / quantity) * 100) / 100);
  return { materialCost, machineCost, setupCost, margin, unitPrice, totalPrice: unitPrice * quantity };
}
