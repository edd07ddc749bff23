import { describe, expect, it } from 'vitest';
import { lossFunction } from '../../../../ml/gbdt/losses';
import type { GbdtLoss } from '../../../../ml/model';
import { Random } from '../../../../ml/random';

describe('a loss adding a tree and making the next gradients in one pass', () => {
  const rows = 1000;
  const leaves = 7;

  // Squared error has none: the grower's kernel makes its scores and gradients (gbdt.test.ts, TreeGrower).
  for (const name of ['absolute_error', 'binary_logistic'] satisfies GbdtLoss[]) {
    it(`${name}: gives the scores, gradients, hessians and mean loss of the three passes, to the bit`, () => {
      const loss = lossFunction(name);
      const random = new Random(7);
      const binary = name === 'binary_logistic';
      const target = Float64Array.from({ length: rows }, () =>
        binary ? (random.next() < 0.3 ? 1 : 0) : random.next() * 20 - 5,
      );
      const raw = Float64Array.from({ length: rows }, () => random.next() * 8 - 4);
      const leafOfRows = Uint16Array.from({ length: rows }, () => random.below(leaves));
      const values = Float64Array.from({ length: leaves }, () => random.next() - 0.5);

      // Three passes: the scores, then gradients and loss of the new scores.
      const expectedRaw = Float64Array.from(
        raw,
        (score, row) => score + (values[leafOfRows[row] as number] as number),
      );
      const expectedGrad = [new Float64Array(rows)];
      const expectedHess = [new Float64Array(binary ? rows : 0)];
      loss.gradients(target, expectedRaw, expectedGrad, expectedHess);
      const expectedLoss = loss.loss(target, expectedRaw, 1);

      const grad = new Float64Array(rows).fill(Number.NaN);
      const hess = new Float64Array(binary ? rows : 0).fill(Number.NaN);
      const meanLoss = loss.addTreeThenGradients?.(target, raw, leafOfRows, values, grad, hess);
      expect(meanLoss).toBe(expectedLoss);
      expect(raw).toEqual(expectedRaw);
      expect(grad).toEqual(expectedGrad[0]);
      expect(hess).toEqual(expectedHess[0]);
    });
  }

  it('is not offered for multiclass, whose trees each add to one class of several', () => {
    expect('addTreeThenGradients' in lossFunction('multiclass_softmax')).toBe(false);
  });
});
