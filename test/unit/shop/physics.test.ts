import { describe, expect, it } from 'vitest';
import { FAMILIES, machine, material } from '../../../shop/catalogue';
import {
  bendSeconds,
  cutSecondsPerPart,
  laserSpeedMmPerS,
  manualFactor,
  nestingEfficiency,
  type PartGeometry,
  pierceSeconds,
  QUOTING_CONDITIONS,
  rejectRate,
  sheetMassKg,
} from '../../../shop/physics';
import { chooseCutter, planRoute } from '../../../shop/route';
import { quote } from '../../../shop/quote';

const bracket: PartGeometry = {
  family: 'mild_steel',
  densityKgM3: 7850,
  thicknessMm: 3,
  areaM2: 0.1,
  cutLengthMm: 1600,
  pierceCount: 5,
  holeCount: 4,
  bendCount: 2,
  weldLengthMm: 0,
  painted: true,
  tolerance: 'medium',
};

describe('laser cutting physics', () => {
  it('cuts thicker sheet slower and with more power faster', () => {
    const las1 = machine('LAS-1');
    const las2 = machine('LAS-2');
    expect(laserSpeedMmPerS(las1, 'mild_steel', 6)).toBeLessThan(laserSpeedMmPerS(las1, 'mild_steel', 3));
    expect(laserSpeedMmPerS(las2, 'mild_steel', 6)).toBeGreaterThan(laserSpeedMmPerS(las1, 'mild_steel', 6));
    // Thin sheet is capped by the axes, not the source.
    expect(laserSpeedMmPerS(las2, 'aluminium', 0.75)).toBe(420);
  });

  it('cuts titanium and stainless slower than mild steel, aluminium badly on the CO2 laser', () => {
    const las1 = machine('LAS-1');
    const co2 = machine('LAS-3');
    const mild = laserSpeedMmPerS(las1, 'mild_steel', 4);
    expect(laserSpeedMmPerS(las1, 'titanium', 4)).toBeLessThan(0.6 * mild);
    expect(laserSpeedMmPerS(las1, 'stainless_steel', 4)).toBeLessThan(mild);
    const fibreRatio = laserSpeedMmPerS(las1, 'aluminium', 4) / laserSpeedMmPerS(las1, 'mild_steel', 4);
    const co2Ratio = laserSpeedMmPerS(co2, 'aluminium', 4) / laserSpeedMmPerS(co2, 'mild_steel', 4);
    expect(co2Ratio).toBeCloseTo(fibreRatio * (0.5 / 0.8), 10);
  });

  it('takes longer to pierce thick plate, and cut time adds contour and pierces', () => {
    expect(pierceSeconds('laser', 'mild_steel', 12)).toBeGreaterThan(
      4 * pierceSeconds('laser', 'mild_steel', 2),
    );
    const las1 = machine('LAS-1');
    const base = cutSecondsPerPart(las1, bracket, QUOTING_CONDITIONS);
    const expected =
      bracket.cutLengthMm / laserSpeedMmPerS(las1, 'mild_steel', 3) +
      bracket.pierceCount * (pierceSeconds('laser', 'mild_steel', 3) + 0.35);
    expect(base).toBeCloseTo(expected, 10);
    const worn = cutSecondsPerPart(las1, bracket, { ...QUOTING_CONDITIONS, speedFactor: 0.85 });
    // Wear slows cutting and piercing; the rapid moves between contours are the axes', not the source's.
    const wornExpected =
      bracket.cutLengthMm / (0.85 * laserSpeedMmPerS(las1, 'mild_steel', 3)) +
      bracket.pierceCount * (pierceSeconds('laser', 'mild_steel', 3) / 0.85 + 0.35);
    expect(worn).toBeCloseTo(wornExpected, 10);
    expect(() => cutSecondsPerPart(machine('BRK-1'), bracket, QUOTING_CONDITIONS)).toThrow(
      /not a cutting machine/,
    );
  });
});

describe('the floor and the sheet', () => {
  it('is slower by hand with fewer operators and at night', () => {
    expect(manualFactor({ operatorCount: 6, night: false, speedFactor: 1 })).toBe(1);
    expect(manualFactor({ operatorCount: 3, night: false, speedFactor: 1 })).toBeCloseTo(1.18, 10);
    expect(manualFactor({ operatorCount: 3, night: true, speedFactor: 1 })).toBeCloseTo(1.18 * 1.08, 10);
    const day = bendSeconds(bracket, QUOTING_CONDITIONS).perPart;
    expect(bendSeconds(bracket, { operatorCount: 4, night: true, speedFactor: 1 }).perPart).toBeGreaterThan(
      day,
    );
    expect(bendSeconds({ ...bracket, bendCount: 6 }, QUOTING_CONDITIONS).perPart).toBeGreaterThan(2 * day);
  });

  it('nests big parts in small lots worse, and reuses off-cuts of expensive metals', () => {
    const small = nestingEfficiency(bracket, 100);
    expect(nestingEfficiency({ ...bracket, areaM2: 1.5 }, 100)).toBeLessThan(small);
    expect(nestingEfficiency(bracket, 2)).toBeLessThan(small);
    // Stainless comes in the same sheet format as mild steel; its off-cuts are kept.
    expect(nestingEfficiency({ ...bracket, family: 'stainless_steel' }, 100)).toBeCloseTo(
      small + FAMILIES.stainless_steel.remnantReuse,
      10,
    );
    expect(sheetMassKg(bracket, 1)).toBeCloseTo(3 * 7.85, 10);
  });

  it('rejects more parts with fine tolerances, at night and with a thin crew', () => {
    const base = rejectRate(bracket, QUOTING_CONDITIONS);
    expect(rejectRate({ ...bracket, tolerance: 'fine' }, QUOTING_CONDITIONS)).toBeGreaterThan(base);
    expect(rejectRate(bracket, { operatorCount: 3, night: true, speedFactor: 1 })).toBeGreaterThan(base);
  });
});

describe('routes and quotes', () => {
  it('routes thick mild steel to plasma, perforated thin steel to the punch, plate to the 12 kW laser', () => {
    expect(chooseCutter({ ...bracket, thicknessMm: 20 }, 0.1).machineId).toBe('PLA-1');
    expect(chooseCutter({ ...bracket, holeCount: 40 }, 0.1).machineId).toBe('PUN-1');
    expect(chooseCutter({ ...bracket, thicknessMm: 12 }, 0.1).machineId).toBe('LAS-2');
    expect(chooseCutter({ ...bracket, family: 'aluminium' }, 0.95).machineId).toBe('LAS-1');
    expect(chooseCutter(bracket, 0.95).machineId).toBe('LAS-3');
  });

  it('plans cut, bend and paint for a painted bracket, adding deburring for fine tolerances and welding', () => {
    const operations = (part: PartGeometry) =>
      planRoute(part, 10, machine('LAS-1'), QUOTING_CONDITIONS).map((step) => step.operation);
    expect(operations(bracket)).toEqual(['cut', 'bend', 'paint']);
    expect(operations({ ...bracket, tolerance: 'fine', weldLengthMm: 300, painted: false })).toEqual([
      'cut',
      'deburr',
      'bend',
      'weld',
    ]);
  });

  it('quotes a lower unit price for bigger lots and smaller margins for large customers', () => {
    const laser = machine('LAS-1');
    const price = material('S235JR').pricePerKg;
    const ten = quote(bracket, 10, laser, price, 'small', 0);
    const thousand = quote(bracket, 1000, laser, price, 'small', 0);
    expect(thousand.unitPrice).toBeLessThan(ten.unitPrice);
    expect(thousand.totalPrice).toBeGreaterThan(ten.totalPrice);
    expect(quote(bracket, 10, laser, price, 'large', 0).unitPrice).toBeLessThan(ten.unitPrice);
    const dearer = quote(bracket, 10, laser, price * 1.2, 'small', 0);
    expect(dearer.materialCost).toBeCloseTo(ten.materialCost * 1.2, 6);
    expect(ten.totalPrice).toBeCloseTo(ten.unitPrice * 10, 6);
  });
});
