import { describe, expect, it } from 'vitest';
import { Random } from '../../../ml/random';
import { chiSquareSurvival } from '../../../ml/statistics';
import { classPriorShift, CLASS_PRIOR_LEVEL } from '../../../monitoring';

const labels = ['pass', 'fail'];
/** Class ids: `counts[c]` rows of class c. */
const ids = (counts: number[]) =>
  Float64Array.from(counts.flatMap((count, id) => new Array<number>(count).fill(id)));

describe('classPriorShift', () => {
  it('compares the shares by a chi-square test of homogeneity', () => {
    const shift = classPriorShift({
      classLabels: labels,
      referenceCounts: [900, 100],
      reference: 'test',
      y: ids([160, 40]),
      minSamples: 200,
    });
    // Expected: window 176.67 / 23.33, reference 883.33 / 116.67 (1060 passes and 140 fails of 1200).
    const expected =
      (160 - 176.667) ** 2 / 176.667 +
      (40 - 23.333) ** 2 / 23.333 +
      (900 - 883.333) ** 2 / 883.333 +
      (100 - 116.667) ** 2 / 116.667;
    expect(shift.statistic).toBeCloseTo(expected, 2);
    expect(shift.degreesOfFreedom).toBe(1);
    expect(shift.pValue).toBeCloseTo(chiSquareSurvival(shift.statistic ?? 0, 1), 12);
    expect(shift).toMatchObject({
      judged: true,
      alarm: true,
      rows: 200,
      referenceRows: 1000,
      level: CLASS_PRIOR_LEVEL,
    });
    expect(shift.classes).toEqual([
      { label: 'pass', reference: 0.9, current: 0.8, rows: 160 },
      { label: 'fail', reference: 0.1, current: 0.2, rows: 40 },
    ]);
  });

  it('raises a false alarm about once in a thousand checks when nothing moved', () => {
    const random = new Random(11);
    // 70 % ok, 20 % rework, 10 % scrap, at training and every night.
    const draw = (rows: number) =>
      Float64Array.from({ length: rows }, () => {
        const u = random.next();
        return u < 0.7 ? 0 : u < 0.9 ? 1 : 2;
      });
    let alarms = 0;
    for (let night = 0; night < 2000; night++) {
      const reference = draw(1000);
      const referenceCounts = [0, 1, 2].map((id) => reference.filter((value) => value === id).length);
      const shift = classPriorShift({
        classLabels: ['ok', 'rework', 'scrap'],
        referenceCounts,
        reference: 'test',
        y: draw(300),
        minSamples: 200,
      });
      if (shift.alarm) alarms++;
    }
    expect(alarms).toBeLessThanOrEqual(8);
  });

  it('judges nothing with too few rows or too few expected rows in a cell', () => {
    const few = classPriorShift({
      classLabels: labels,
      referenceCounts: [900, 100],
      reference: 'test',
      y: ids([100, 50]),
      minSamples: 200,
    });
    expect(few).toMatchObject({ judged: false, alarm: false, pValue: null });
    expect(few.reason).toBe('only 150 labelled rows, fewer than the 200 needed to judge');
    const rare = classPriorShift({
      classLabels: labels,
      referenceCounts: [990, 10],
      reference: 'test',
      y: ids([199, 1]),
      minSamples: 200,
    });
    expect(rare).toMatchObject({ judged: false, alarm: false });
    expect(rare.reason).toBe('class "fail" is expected in only 1.8 rows, fewer than the 5 the test needs');
  });

  it('leaves out rows without a known class', () => {
    const y = ids([180, 20]);
    const withUnknown = Float64Array.from([...y, Number.NaN, Number.NaN, 7]);
    const shift = classPriorShift({
      classLabels: labels,
      referenceCounts: [900, 100],
      reference: 'training',
      y: withUnknown,
      minSamples: 200,
    });
    expect(shift).toMatchObject({ rows: 200, judged: true, alarm: false, reference: 'training' });
    expect(shift.statistic).toBeCloseTo(0, 12);
  });
});
