import { afterAll, describe, expect, it } from 'vitest';
import { encodeFeatures } from '../../../ml/dataset';
import type { Feature, GbdtModel, LinearModel, Model, Tree } from '../../../ml/model';
import { exportOnnx } from '../../../ml/onnx/export';
import { METADATA_KEY, parseMetadata } from '../../../ml/onnx/metadata';
import { float32AtLeast, onnx } from '../../../ml/onnx/protoBuilders';
import { OnnxScorer, type OnnxRow, type OnnxScores, readMetadata } from '../../../ml/onnx/scorer';
import { Table, categoricalFromLabels, numericFromValues } from '../../../ml/table';

// Raw column names with spaces, dots and brackets: they must survive as ONNX input names unchanged.
const THICKNESS = 'thickness (mm)';
const MATERIAL = 'material.grade [EN]';
const BENDS = 'bend count';
const SHIFT = 'shift #';

const FEATURES: Feature[] = [
  { kind: 'numeric', name: THICKNESS },
  { kind: 'categorical', name: MATERIAL, categories: ['steel', 'aluminium', 'stainless'] },
  { kind: 'numeric', name: BENDS },
  // Shift numbers arrive as a numeric column and are matched on their text.
  { kind: 'categorical', name: SHIFT, categories: ['1', '2', '3'] },
];

/** Rows with missing numbers, missing categories, an unseen category and values exactly on thresholds. */
function makeTable(): Table {
  const thickness: (number | null)[] = [0.7, 2.5, null, 3, 0.5, 1.25, 2.5000001, 6];
  const material: (string | null)[] = [
    'steel',
    'aluminium',
    'stainless',
    null,
    'titanium',
    'steel',
    'titanium',
    null,
  ];
  const bends: (number | null)[] = [0, 3, 2, null, 7, 3, 1, null];
  const shift: (number | null)[] = [1, 2, 3, null, 4, 1, 2, null];
  // A deterministic pseudo-random tail covers many more paths through the trees.
  let seed = 42;
  const random = (): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const labels = ['steel', 'aluminium', 'stainless', 'titanium', null];
  for (let i = 0; i < 60; i++) {
    thickness.push(random() < 0.1 ? null : Math.round(random() * 80) / 10);
    material.push(labels[Math.floor(random() * labels.length)] ?? null);
    bends.push(random() < 0.1 ? null : Math.floor(random() * 8));
    shift.push(random() < 0.1 ? null : 1 + Math.floor(random() * 4));
  }
  const operator = categoricalFromLabels(
    'operator',
    thickness.map(() => 'x'),
  );
  // The extra 'operator' column is not a feature: scoring must ignore it.
  return new Table([
    operator,
    numericFromValues(THICKNESS, thickness),
    categoricalFromLabels(MATERIAL, material),
    numericFromValues(BENDS, bends),
    numericFromValues(SHIFT, shift),
  ]);
}

/** Builds a tree from nested nodes: [feature, threshold, missingGoesLeft, left, right] or a leaf value. */
type Spec = number | [number, number, 0 | 1, Spec, Spec];
function tree(spec: Spec, classIndex = 0): Tree {
  const t: Tree = {
    feature: [],
    threshold: [],
    missingGoesLeft: [],
    left: [],
    right: [],
    value: [],
    classIndex,
  };
  const add = (node: Spec): number => {
    const id = t.feature.length;
    t.feature.push(-1);
    t.threshold.push(0);
    t.missingGoesLeft.push(0);
    t.left.push(-1);
    t.right.push(-1);
    t.value.push(typeof node === 'number' ? node : 0);
    if (typeof node !== 'number') {
      const [feature, threshold, missingLeft, left, right] = node;
      // Right subtree first: node ids are not in preorder, which the exporter must not rely on.
      const rightId = add(right);
      const leftId = add(left);
      t.feature[id] = feature;
      t.threshold[id] = threshold;
      t.missingGoesLeft[id] = missingLeft;
      t.left[id] = leftId;
      t.right[id] = rightId;
    }
    return id;
  };
  add(spec);
  return t;
}

function gbdt(
  task: GbdtModel['task'],
  baseScore: number[],
  trees: Tree[],
  classLabels?: string[],
): GbdtModel {
  return {
    type: 'gbdt',
    task,
    loss:
      task === 'regression' ? 'squared_error' : task === 'binary' ? 'binary_logistic' : 'multiclass_softmax',
    features: FEATURES,
    baseScore,
    trees,
    ...(classLabels ? { classLabels } : {}),
    featureImportance: {},
    iterations: trees.length,
  };
}

// 0.7 is not a float32: float32(0.7) < 0.7, so a row of 0.7 must go left as in the TypeScript contract.
const regressionGbdt = gbdt(
  'regression',
  [10.5],
  [
    tree([0, 0.7, 1, [1, 0.5, 0, -1.25, 2], [2, 3, 0, [3, 1.5, 1, 0.5, -0.5], 4.75]]),
    tree([1, 1.5, 1, [0, 2.5, 0, 0.125, -3], [2, 2, 1, 1, 6]]),
  ],
);

const binaryGbdt = gbdt(
  'binary',
  [-0.3],
  [tree([0, 2.5, 0, [1, 0.5, 1, 1.2, -0.4], 0.8]), tree([2, 3, 1, -0.6, [3, 0.5, 0, 0.9, -0.2]]), tree(0.05)],
  ['ok', 'scrap'],
);

const multiclassGbdt = gbdt(
  'multiclass',
  [0.1, -0.2, 0.3],
  [
    tree([0, 1.25, 1, 0.7, -0.3], 0),
    tree([1, 1.5, 0, [2, 2, 1, 0.4, -0.9], 1.1], 1),
    tree([3, 2.5, 1, -0.5, 0.6], 2),
    tree([2, 4, 0, 0.2, [0, 5.5, 1, -0.1, 0.3]], 0),
    tree(0.25, 1),
    tree([1, 0.5, 1, [0, 0.7, 0, 0.15, -0.05], 0.35], 2),
  ],
  ['brake', 'laser', 'punch'],
);

// Category splits: steel and stainless left at the root, then shift 2 alone, beside a threshold node.
const categorySplitGbdt = gbdt(
  'regression',
  [2],
  [
    {
      feature: [1, 3, 0, -1, -1, -1, -1],
      threshold: [0, 0, 2.5, 0, 0, 0, 0],
      missingGoesLeft: [0, 0, 1, 0, 0, 0, 0],
      left: [1, 3, 5, -1, -1, -1, -1],
      right: [2, 4, 6, -1, -1, -1, -1],
      value: [0, 0, 0, 1.5, -2, 0.25, 4],
      leftCategories: [[0, 2], [1], null, null, null, null, null],
      classIndex: 0,
    },
    tree([3, 1.5, 1, 0.5, -0.75]),
  ],
);

const numericPreprocessing = {
  [THICKNESS]: { imputeValue: 2, mean: 2.75, scale: 1.9 },
  [BENDS]: { imputeValue: 3, mean: 3.2, scale: 2.1 },
};

function linear(
  task: LinearModel['task'],
  weights: number[][],
  intercepts: number[],
  classLabels?: string[],
): LinearModel {
  return {
    type: 'linear',
    task,
    features: FEATURES,
    numericPreprocessing,
    weights,
    intercepts,
    ...(classLabels ? { classLabels } : {}),
  };
}

// Design row: thickness, 3 materials, bends, 3 shifts.
const regressionLinear = linear('regression', [[1.5, 0.25, -0.75, 2, 0.6, -0.1, 0.2, 0.3]], [12]);
const binaryLinear = linear(
  'binary',
  [[0.8, -1.1, 0.4, 0.9, -0.5, 0.15, -0.25, 0.05]],
  [-0.2],
  ['ok', 'scrap'],
);
const multiclassLinear = linear(
  'multiclass',
  [
    [0.3, 0.1, -0.2, 0.5, -0.4, 0.2, 0, 0.1],
    [-0.6, 0.7, 0.3, -0.1, 0.2, -0.3, 0.4, 0],
    [0.2, -0.5, 0.6, 0.1, 0.35, 0.05, -0.15, 0.25],
  ],
  [0.05, -0.1, 0.2],
  ['brake', 'laser', 'punch'],
);

/** The model contract, applied in plain TypeScript (double precision). */
function reference(model: Model, table: Table): number[][] {
  const { columns, rowCount } = encodeFeatures(table, model.features);
  const rows: number[][] = [];
  for (let row = 0; row < rowCount; row++) {
    const x = columns.map((column) => column[row] as number);
    const scores = model.type === 'gbdt' ? gbdtScores(model, x) : linearScores(model as LinearModel, x);
    rows.push(head(model, scores));
  }
  return rows;
}

function gbdtScores(model: GbdtModel, x: number[]): number[] {
  const scores = [...model.baseScore];
  for (const t of model.trees) {
    let node = 0;
    while ((t.feature[node] as number) >= 0) {
      const value = x[t.feature[node] as number] as number;
      const codes = t.leftCategories?.[node];
      const left = codes
        ? codes.includes(value)
        : Number.isNaN(value)
          ? t.missingGoesLeft[node] === 1
          : Math.fround(value) < (t.threshold[node] as number);
      node = (left ? t.left[node] : t.right[node]) as number;
    }
    scores[t.classIndex] = (scores[t.classIndex] as number) + (t.value[node] as number);
  }
  return scores;
}

function linearScores(model: LinearModel, x: number[]): number[] {
  const design: number[] = [];
  model.features.forEach((feature, index) => {
    const value = x[index] as number;
    if (feature.kind === 'categorical') {
      feature.categories.forEach((_, code) => design.push(value === code ? 1 : 0));
      return;
    }
    const step = model.numericPreprocessing[feature.name];
    if (!step) throw new Error('no preprocessing');
    design.push(((Number.isNaN(value) ? step.imputeValue : value) - step.mean) / step.scale);
  });
  return model.weights.map(
    (row, output) =>
      (model.intercepts[output] as number) + row.reduce((sum, w, i) => sum + w * (design[i] as number), 0),
  );
}

function head(model: Model, scores: number[]): number[] {
  if (model.task === 'regression') return scores;
  if (model.task === 'binary') {
    const p = 1 / (1 + Math.exp(-(scores[0] as number)));
    return [1 - p, p];
  }
  const max = Math.max(...scores);
  const exps = scores.map((score) => Math.exp(score - max));
  const total = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / total);
}

function expectClose(actual: ArrayLike<number>, expected: readonly number[], what: string): void {
  expect(actual.length, what).toBe(expected.length);
  expected.forEach((value, i) => {
    const got = actual[i] as number;
    const tolerance = Math.max(1e-6, 1e-5 * Math.abs(value));
    if (!(Math.abs(got - value) <= tolerance)) {
      throw new Error(`${what}: element ${i} is ${got}, expected ${value} (tolerance ${tolerance})`);
    }
  });
}

function outputOf(model: Model, scores: OnnxScores): Float64Array | undefined {
  return model.task === 'regression' ? scores.prediction : scores.probabilities;
}

function rowOf(table: Table, features: readonly Feature[], row: number): OnnxRow {
  return Object.fromEntries(features.map((feature) => [feature.name, table.value(feature.name, row)]));
}

const scorers: OnnxScorer[] = [];
async function load(model: Model): Promise<OnnxScorer> {
  const scorer = await OnnxScorer.load(exportOnnx(model), { intraOpNumThreads: 1, interOpNumThreads: 1 });
  scorers.push(scorer);
  return scorer;
}
afterAll(async () => {
  for (const scorer of scorers) await scorer.release();
});

/** The decoded graph of an export. */
function graphOf(bytes: Uint8Array) {
  const graph = onnx.ModelProto.decode(bytes).graph;
  return { node: graph?.node ?? [], input: graph?.input ?? [], output: graph?.output ?? [] };
}

function opsOf(bytes: Uint8Array): string[] {
  return graphOf(bytes).node.map((node) => `${node.domain ? `${node.domain}:` : ''}${node.opType ?? ''}`);
}

const models: [string, Model][] = [
  ['GBDT regression', regressionGbdt],
  ['GBDT binary', binaryGbdt],
  ['GBDT multiclass', multiclassGbdt],
  ['GBDT with category splits', categorySplitGbdt],
  ['linear regression', regressionLinear],
  ['linear binary', binaryLinear],
  ['linear multiclass', multiclassLinear],
];

describe('exportOnnx + OnnxScorer', () => {
  const table = makeTable();

  it.each(models)('%s: onnxruntime matches the TypeScript contract', async (_, model) => {
    const scorer = await load(model);
    const scores = await scorer.scoreTable(table);
    const expected = reference(model, table);
    const width = expected[0]?.length ?? 0;
    expect(width).toBe(model.task === 'regression' ? 1 : (model.classLabels?.length ?? 0));
    expectClose(outputOf(model, scores) ?? [], expected.flat(), 'batch');
    if (model.task !== 'regression') expect(scores.classLabels).toEqual(model.classLabels);
    // One row at a time gives the batch's numbers.
    const batch = outputOf(model, scores) ?? new Float64Array();
    for (let row = 0; row < table.rowCount; row++) {
      const single = outputOf(model, await scorer.scoreRow(rowOf(table, model.features, row))) ?? [];
      expectClose(single, Array.from(batch.subarray(row * width, (row + 1) * width)), `row ${row}`);
    }
  });

  it.each(models)('%s: export is deterministic and self-describing', (_, model) => {
    const bytes = exportOnnx(model, { producerVersion: '1.2.3' });
    expect(exportOnnx(model, { producerVersion: '1.2.3' })).toEqual(bytes);
    const proto = onnx.ModelProto.decode(bytes);
    const graph = graphOf(bytes);
    expect(graph.input.map((input) => input.name)).toEqual([THICKNESS, MATERIAL, BENDS, SHIFT]);
    expect(graph.input.map((input) => input.type?.tensorType?.elemType)).toEqual([1, 8, 1, 8]);
    expect(graph.output.map((output) => output.name)).toEqual([
      model.task === 'regression' ? 'prediction' : 'probabilities',
    ]);
    expect(proto.opsetImport.map(({ domain, version }) => [domain, Number(version)])).toEqual([
      ['', 17],
      ['ai.onnx.ml', 3],
    ]);
    const json = proto.metadataProps.find((prop) => prop.key === METADATA_KEY)?.value ?? '';
    expect(parseMetadata(json)).toMatchObject({ type: model.type, task: model.task, features: FEATURES });
  });

  it('uses only the intended operators', () => {
    const trees = [
      'ai.onnx.ml:LabelEncoder',
      'ai.onnx.ml:LabelEncoder',
      'Concat',
      'Cast',
      'ai.onnx.ml:TreeEnsembleRegressor',
    ];
    const linearOps = [
      'Concat',
      'Cast',
      'IsNaN',
      'Where',
      'Sub',
      'Div',
      'ai.onnx.ml:OneHotEncoder',
      'Squeeze',
      'Cast',
      'ai.onnx.ml:OneHotEncoder',
      'Squeeze',
      'Cast',
      'Concat',
      'MatMul',
      'Add',
      'Cast',
    ];
    const binary = ['Sigmoid', 'Neg', 'Sigmoid', 'Concat'];
    expect(opsOf(exportOnnx(regressionGbdt))).toEqual(trees);
    expect(opsOf(exportOnnx(binaryGbdt))).toEqual([...trees, ...binary]);
    expect(opsOf(exportOnnx(multiclassGbdt))).toEqual([...trees, 'Softmax']);
    expect(opsOf(exportOnnx(regressionLinear))).toEqual(linearOps);
    expect(opsOf(exportOnnx(binaryLinear))).toEqual([...linearOps, ...binary]);
    expect(opsOf(exportOnnx(multiclassLinear))).toEqual([...linearOps, 'Softmax']);
  });

  it('names a missing input column', async () => {
    const scorer = await load(regressionGbdt);
    await expect(scorer.scoreTable(table.select([THICKNESS, MATERIAL, SHIFT]))).rejects.toThrow(`"${BENDS}"`);
    await expect(scorer.scoreRow({ [THICKNESS]: 1, [MATERIAL]: 'steel', [BENDS]: null })).rejects.toThrow(
      `"${SHIFT}"`,
    );
  });

  it('scores an empty table', async () => {
    const scorer = await load(multiclassLinear);
    const scores = await scorer.scoreTable(table.slice(0, 0));
    expect(scores.probabilities).toHaveLength(0);
  });

  it('rejects malformed models', () => {
    expect(() => exportOnnx({ ...regressionGbdt, baseScore: [1, 2] })).toThrow(/base scores/);
    expect(() => exportOnnx({ ...regressionLinear, weights: [[1, 2]] })).toThrow(/expand to 8/);
    expect(() =>
      exportOnnx({ ...regressionGbdt, features: [...FEATURES, { kind: 'numeric', name: 'prediction' }] }),
    ).toThrow(/model output/);
    const [split, ...rest] = categorySplitGbdt.trees as [Tree, ...Tree[]];
    const badCodes = { ...split, leftCategories: [[0, 7], [1], null, null, null, null, null] };
    expect(() => exportOnnx({ ...categorySplitGbdt, trees: [badCodes, ...rest] })).toThrow(
      /has 3 categories/,
    );
  });

  it('handles a model without trees and a feature without categories', async () => {
    const features: Feature[] = [
      { kind: 'numeric', name: THICKNESS },
      { kind: 'categorical', name: MATERIAL, categories: [] },
    ];
    const noTrees: GbdtModel = { ...regressionGbdt, features, trees: [] };
    const emptyCategory: GbdtModel = {
      ...regressionGbdt,
      features,
      trees: [tree([1, 0.5, 1, [0, 1.25, 0, 1, 2], 3])],
    };
    const linearModel: LinearModel = { ...regressionLinear, features, weights: [[2]], intercepts: [1] };
    for (const model of [noTrees, emptyCategory, linearModel]) {
      const scores = await (await load(model)).scoreTable(table);
      expectClose(scores.prediction ?? [], reference(model, table).flat(), model.type);
    }
  });

  it('scoreRow parses numeric text, treats blanks as missing and rejects other text', async () => {
    const scorer = await load(regressionLinear);
    const row = { [THICKNESS]: 2.5, [MATERIAL]: 'steel', [BENDS]: null, [SHIFT]: 2 };
    const expected = (await scorer.scoreRow(row)).prediction?.[0];
    expect((await scorer.scoreRow({ ...row, [THICKNESS]: ' 2.5 ', [SHIFT]: '2' })).prediction?.[0]).toBe(
      expected,
    );
    expect((await scorer.scoreRow({ ...row, [BENDS]: '' })).prediction?.[0]).toBe(expected);
    await expect(scorer.scoreRow({ ...row, [THICKNESS]: 'thick' })).rejects.toThrow(/"thickness \(mm\)"/);
  });

  it('refuses to score after release and reads only Kerf exports', async () => {
    const scorer = await OnnxScorer.load(exportOnnx(binaryGbdt), { intraOpNumThreads: 1 });
    await scorer.release();
    await expect(scorer.scoreTable(table)).rejects.toThrow(/released/);
    const foreign = onnx.ModelProto.encode({ irVersion: 8, graph: { name: 'other' } }).finish();
    expect(() => readMetadata(foreign)).toThrow(/Not a Kerf ONNX export/);
  });
});

function nextFloat32Down(value: number): number {
  if (value === 0) return -(2 ** -149);
  if (value === -Infinity) return value;
  const view = new DataView(new ArrayBuffer(4));
  view.setFloat32(0, value);
  view.setUint32(0, view.getUint32(0) + (value > 0 ? -1 : 1));
  return view.getFloat32(0);
}

describe('float32AtLeast', () => {
  it('keeps float32 comparisons against a double threshold exact', () => {
    const thresholds = [0.7, -0.7, 0.1, 1e-46, -1e-46, 2.5, 1e39, -1e39, 0, Infinity, -Infinity];
    for (const threshold of thresholds) {
      const bound = float32AtLeast(threshold);
      expect(Math.fround(bound)).toBe(bound);
      expect(bound).toBeGreaterThanOrEqual(threshold);
      // The float32 just below the bound must already be below the threshold: nothing in between is lost.
      const probes = [bound, Math.fround(threshold), nextFloat32Down(bound)];
      for (const x of probes) expect(x < bound, `${x} vs ${threshold}`).toBe(x < threshold);
    }
  });
});
