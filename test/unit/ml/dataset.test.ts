import { describe, expect, it } from 'vitest';
import { encodeFeatures, prepareDataLike, prepareTrainingData } from '../../../ml/dataset';
import { categoricalFromLabels, numericFromValues, Table } from '../../../ml/table';

const train = new Table([
  numericFromValues('thickness_mm', [1, 2, null, 4]),
  categoricalFromLabels('material', ['steel', 'aluminium', 'steel', null]),
  categoricalFromLabels('outcome', ['ok', 'scrap', 'ok', 'ok']),
]);

describe('dataset encoding', () => {
  it('encodes categories by their position in the feature and missing values as NaN', () => {
    const data = prepareTrainingData(train, {
      target: 'outcome',
      features: ['thickness_mm', 'material'],
      task: 'binary',
    });
    expect(data.features).toEqual([
      { kind: 'numeric', name: 'thickness_mm' },
      { kind: 'categorical', name: 'material', categories: ['steel', 'aluminium'] },
    ]);
    expect(Array.from(data.columns[0] ?? [])).toEqual([1, 2, Number.NaN, 4]);
    expect(Array.from(data.columns[1] ?? [])).toEqual([0, 1, 0, Number.NaN]);
    expect(data.classLabels).toEqual(['ok', 'scrap']);
    expect(Array.from(data.target)).toEqual([0, 1, 0, 0]);
  });

  it('encodes a new batch like the training set; an unseen category becomes NaN', () => {
    const reference = prepareTrainingData(train, {
      target: 'outcome',
      features: ['thickness_mm', 'material'],
      task: 'binary',
    });
    const batch = new Table([
      numericFromValues('thickness_mm', [3, 5]),
      categoricalFromLabels('material', ['titanium', 'aluminium']),
      categoricalFromLabels('outcome', ['scrap', 'ok']),
    ]);
    const encoded = prepareDataLike(batch, reference, 'outcome');
    expect(Array.from(encoded.columns[1] ?? [])).toEqual([Number.NaN, 1]);
    expect(Array.from(encoded.target)).toEqual([1, 0]);
    expect(Array.from(encodeFeatures(batch, reference.features).columns[1] ?? [])).toEqual([Number.NaN, 1]);
  });

  it('names a class the training data never had, and the row', () => {
    const reference = prepareTrainingData(train, {
      target: 'outcome',
      features: ['material'],
      task: 'binary',
    });
    const batch = new Table([
      categoricalFromLabels('material', ['steel', 'steel']),
      categoricalFromLabels('outcome', ['ok', 'rework']),
    ]);
    expect(() => prepareDataLike(batch, reference, 'outcome')).toThrow(
      /Target "outcome" holds class "rework" in row 2, which the training data did not have/,
    );
  });

  it('names the first row whose target is missing', () => {
    const table = new Table([numericFromValues('x', [1, 2, 3]), numericFromValues('y', [1, null, 3])]);
    expect(() => prepareTrainingData(table, { target: 'y', features: ['x'], task: 'regression' })).toThrow(
      /Target "y" is missing in row 2/,
    );
  });

  it('orders numeric class labels numerically', () => {
    const table = new Table([numericFromValues('x', [1, 2, 3]), numericFromValues('grade', [10, 2, 1])]);
    const data = prepareTrainingData(table, { target: 'grade', features: ['x'], task: 'multiclass' });
    expect(data.classLabels).toEqual(['1', '2', '10']);
    expect(Array.from(data.target)).toEqual([2, 1, 0]);
  });
});
