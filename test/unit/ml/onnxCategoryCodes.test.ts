import { InferenceSession, type Tensor } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import type { Feature, GbdtModel, Tree } from '../../../ml/model';
import { predictGbdtTable } from '../../../ml/gbdt/predict';
import { codeOf, liftCategoryEncoders } from '../../../ml/onnx/categoryCodes';
import { exportOnnx } from '../../../ml/onnx/export';
import { tableFeeds } from '../../../ml/onnx/inputs';
import { onnx, stringsAttr } from '../../../ml/onnx/protoBuilders';
import { OnnxScorer, type OnnxRow } from '../../../ml/onnx/scorer';
import { MISSING_CODE, Table, numericFromValues } from '../../../ml/table';

// Keys that text conversion could get wrong: U+FFFD (what a lone surrogate becomes in UTF-8), a NUL
// inside a key and a key that is the NUL key's prefix.
const MATERIAL: Feature = {
  kind: 'categorical',
  name: 'material',
  categories: ['steel', '\uFFFD', 'a\u0000b', 'a', 'aluminium'],
};
// Shift numbers arrive as a numeric column and are matched on their text.
const SHIFT: Feature = { kind: 'categorical', name: 'shift', categories: ['1', '2', '1.5'] };
const THICKNESS: Feature = { kind: 'numeric', name: 'thickness_mm' };
const FEATURES = [THICKNESS, MATERIAL, SHIFT];

/** A stump on one feature: codes go left (a category set) or a threshold. */
function stump(feature: number, split: number[] | number, left: number, right: number): Tree {
  return {
    feature: [feature, -1, -1],
    threshold: [typeof split === 'number' ? split : 0, 0, 0],
    missingGoesLeft: [0, 0, 0],
    left: [1, -1, -1],
    right: [2, -1, -1],
    value: [0, left, right],
    classIndex: 0,
    leftCategories: [typeof split === 'number' ? null : split, null, null],
  };
}

/** Leaf values that are powers of two, so every path through the trees sums to a different score. */
const MODEL: GbdtModel = {
  type: 'gbdt',
  task: 'regression',
  loss: 'squared_error',
  features: FEATURES,
  baseScore: [0.5],
  trees: [
    stump(1, [0], 1, 2),
    stump(1, [1], 4, 8),
    stump(1, [2], 16, 32),
    stump(1, [3], 64, 128),
    stump(1, [4, 0], 256, 512),
    stump(2, [0, 2], 1024, 2048),
    stump(2, [1], 4096, 8192),
    stump(0, 2.5, 16384, 32768),
  ],
  featureImportance: {},
  iterations: 8,
};

/** Every kind of text a caller can send, known or not, in a column with a dictionary. */
const MATERIAL_TEXTS = [
  'steel',
  '',
  '\uFFFD',
  '\uD800',
  'x\uDC00',
  'a\u0000b',
  'a',
  'a\u0000',
  'aluminium',
  'titanium',
  'Steel',
  'steel ',
];

const SHIFTS = [1, 2, 1.5, 3, Number.NaN, 2.0, 1.50001, 0, -0, 1e21, 2, 1, 1, 2, 3];

function table(): Table {
  const rows = MATERIAL_TEXTS.length + 3;
  // Codes past the dictionary and the missing code are missing values, like in the text path.
  const codes = Int32Array.from({ length: rows }, (_, row) =>
    row < MATERIAL_TEXTS.length
      ? row
      : ([MISSING_CODE, MATERIAL_TEXTS.length + 4, -7][row - MATERIAL_TEXTS.length] as number),
  );
  return new Table([
    numericFromValues(
      'thickness_mm',
      Array.from({ length: rows }, (_, row) => row % 5),
    ),
    { kind: 'categorical', name: 'material', codes, dictionary: MATERIAL_TEXTS },
    numericFromValues('shift', SHIFTS.slice(0, rows)),
  ]);
}

/** The file's own graph on onnxruntime, fed text as the file describes its inputs. */
async function scoredAsText(bytes: Uint8Array, data: Table): Promise<Float32Array> {
  const session = await InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  try {
    const result = await session.run(tableFeeds(FEATURES, data), ['prediction']);
    return (result.prediction as Tensor).data as Float32Array;
  } finally {
    await session.release();
  }
}

describe('category codes in place of text', () => {
  const bytes = exportOnnx(MODEL);

  it('scores every row as the file does with text: unseen, missing, empty and lone surrogates', async () => {
    const data = table();
    const expected = Array.from(await scoredAsText(bytes, data));
    const scorer = await OnnxScorer.load(bytes, { intraOpNumThreads: 1 });
    try {
      const scores = Array.from((await scorer.scoreTable(data)).prediction ?? []);
      // onnxruntime-node cuts text at a NUL ('a\0b' scores as 'a'); codes match the whole text, as the
      // TypeScript model does.
      const withNul = MATERIAL_TEXTS.flatMap((text, row) => (text.includes('\u0000') ? [row] : []));
      const typescript = predictGbdtTable(MODEL, data);
      for (const row of withNul) {
        expect(scores[row], `row ${row}`).toBe(typescript[row]);
        expect(scores[row], `row ${row}`).not.toBe(expected[row]);
        expected[row] = typescript[row] as number;
      }
      expect(scores).toEqual(expected);
      // One row at a time, from raw values, gives the same scores.
      for (let row = 0; row < data.rowCount; row++) {
        const single: OnnxRow = {
          thickness_mm: row % 5,
          material: MATERIAL_TEXTS[row] ?? null,
          shift: SHIFTS[row],
        };
        const one = await scorer.scoreRow(single);
        expect(one.prediction?.[0], `row ${row}`).toBe(expected[row]);
      }
    } finally {
      await scorer.release();
    }
  });

  it('lifts each category encoder out of a Kerf export', () => {
    const lifted = liftCategoryEncoders(onnx.ModelProto.decode(bytes), bytes);
    expect([...lifted.inputs.keys()]).toEqual(['material', 'shift']);
    const material = lifted.inputs.get('material');
    expect(material?.codes.get('\uFFFD')).toBe(1);
    expect(material?.codes.has('')).toBe(false);
    expect(Number.isNaN(material?.unknown)).toBe(true);
    // A lone surrogate reaches the encoder as U+FFFD, so it takes that key's code.
    if (material) expect(codeOf(material, '\uD800')).toBe(1);
    const graph = onnx.ModelProto.decode(lifted.bytes).graph;
    expect(graph?.node?.some((node) => node.opType === 'LabelEncoder')).toBe(false);
    expect(graph?.input?.map((input) => [input.name, input.type?.tensorType?.elemType])).toEqual([
      ['thickness_mm', onnx.TensorProto.DataType.FLOAT],
      [material?.input, onnx.TensorProto.DataType.FLOAT],
      [lifted.inputs.get('shift')?.input, onnx.TensorProto.DataType.FLOAT],
    ]);
  });

  /** The export with its first encoder changed by `edit`. */
  function withEncoder(edit: (model: InstanceType<typeof onnx.ModelProto>) => void) {
    const model = onnx.ModelProto.decode(bytes);
    edit(model);
    const edited = onnx.ModelProto.encode(model).finish();
    return liftCategoryEncoders(onnx.ModelProto.decode(edited), edited);
  }
  const firstEncoder = (model: InstanceType<typeof onnx.ModelProto>) =>
    model.graph?.node?.find((node) => node.opType === 'LabelEncoder') as InstanceType<typeof onnx.NodeProto>;

  it.each([
    [
      'another attribute',
      (model: InstanceType<typeof onnx.ModelProto>) => {
        firstEncoder(model).attribute.push(stringsAttr('values_strings', ['x']));
      },
    ],
    [
      'a repeated key',
      (model: InstanceType<typeof onnx.ModelProto>) => {
        const keys = firstEncoder(model).attribute.find((attribute) => attribute.name === 'keys_strings');
        keys?.strings?.splice(1, 1, keys.strings[0] as Uint8Array);
      },
    ],
    [
      'its output also a graph output',
      (model: InstanceType<typeof onnx.ModelProto>) => {
        const output = onnx.ValueInfoProto.create({ name: firstEncoder(model).output[0] });
        model.graph?.output?.push(output);
      },
    ],
    [
      'its input read by another node too',
      (model: InstanceType<typeof onnx.ModelProto>) => {
        const encoder = firstEncoder(model);
        model.graph?.node?.push(
          onnx.NodeProto.create({ opType: 'Identity', input: [...encoder.input], output: ['copy'] }),
        );
      },
    ],
  ])('keeps the text input of an encoder with %s', (_, edit) => {
    const lifted = withEncoder(edit);
    expect([...lifted.inputs.keys()]).toEqual(['shift']);
  });
});
