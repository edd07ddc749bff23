/**
 * Small builders over the protobufjs-generated ONNX messages: attributes, tensors, value infos and a
 * graph builder that hands out collision-free value names. Everything is built in a fixed order so the
 * same model always encodes to the same bytes.
 */
import onnxProto from 'onnx-proto';

// onnx-proto is CommonJS: under ESM its namespace arrives as the default export.
export const { onnx } = onnxProto;

/** Default-domain opset the graphs target; onnxruntime 1.30 implements it fully. */
export const DEFAULT_OPSET = 17;
/** ai.onnx.ml opset: TreeEnsembleRegressor v3, LabelEncoder v2, Imputer/Scaler/OneHotEncoder v1. */
export const ML_OPSET = 3;
/** IR version 8 is the one that introduced opset 17 (ONNX 1.12). */
export const IR_VERSION = 8;
export const ML_DOMAIN = 'ai.onnx.ml';

export const FLOAT = onnx.TensorProto.DataType.FLOAT;
export const STRING = onnx.TensorProto.DataType.STRING;
export const INT64 = onnx.TensorProto.DataType.INT64;
export const DOUBLE = onnx.TensorProto.DataType.DOUBLE;
export type ElemType = typeof FLOAT | typeof STRING | typeof INT64 | typeof DOUBLE;

const AttributeType = onnx.AttributeProto.AttributeType;
const utf8 = new TextEncoder();

export type Attribute = InstanceType<typeof onnx.AttributeProto>;
type NodeProto = InstanceType<typeof onnx.NodeProto>;
type TensorProto = InstanceType<typeof onnx.TensorProto>;
type ValueInfoProto = InstanceType<typeof onnx.ValueInfoProto>;

/** A FLOAT attribute (stored as float32). */
export function floatAttr(name: string, value: number): Attribute {
  return onnx.AttributeProto.create({ name, type: AttributeType.FLOAT, f: value });
}

/** A FLOATS attribute (stored as float32). */
export function floatsAttr(name: string, values: readonly number[]): Attribute {
  return onnx.AttributeProto.create({ name, type: AttributeType.FLOATS, floats: [...values] });
}

/** An INT attribute. */
export function intAttr(name: string, value: number): Attribute {
  return onnx.AttributeProto.create({ name, type: AttributeType.INT, i: value });
}

/** An INTS attribute. */
export function intsAttr(name: string, values: readonly number[]): Attribute {
  return onnx.AttributeProto.create({ name, type: AttributeType.INTS, ints: [...values] });
}

/** A STRING attribute (UTF-8 encoded). */
export function stringAttr(name: string, value: string): Attribute {
  return onnx.AttributeProto.create({ name, type: AttributeType.STRING, s: utf8.encode(value) });
}

/** A STRINGS attribute (UTF-8 encoded). */
export function stringsAttr(name: string, values: readonly string[]): Attribute {
  return onnx.AttributeProto.create({
    name,
    type: AttributeType.STRINGS,
    strings: values.map((value) => utf8.encode(value)),
  });
}

/** A float32 tensor of the given shape, row-major. */
export function floatTensor(name: string, dims: readonly number[], values: readonly number[]): TensorProto {
  checkSize(name, dims, values.length);
  return onnx.TensorProto.create({ name, dims: [...dims], dataType: FLOAT, floatData: [...values] });
}

/** A float64 tensor of the given shape, row-major. */
export function doubleTensor(name: string, dims: readonly number[], values: readonly number[]): TensorProto {
  checkSize(name, dims, values.length);
  return onnx.TensorProto.create({ name, dims: [...dims], dataType: DOUBLE, doubleData: [...values] });
}

/** A TENSOR attribute, e.g. the `*_as_tensor` double-precision attributes of the tree ensembles. */
export function tensorAttr(name: string, tensor: TensorProto): Attribute {
  return onnx.AttributeProto.create({ name, type: AttributeType.TENSOR, t: tensor });
}

/** An int64 tensor of the given shape, row-major. */
export function int64Tensor(name: string, dims: readonly number[], values: readonly number[]): TensorProto {
  checkSize(name, dims, values.length);
  return onnx.TensorProto.create({ name, dims: [...dims], dataType: INT64, int64Data: [...values] });
}

function checkSize(name: string, dims: readonly number[], length: number): void {
  const size = dims.reduce((product, dim) => product * dim, 1);
  if (size !== length)
    throw new Error(`Tensor "${name}" has ${length} values for shape [${dims.join(', ')}]`);
}

/** Symbolic batch dimension shared by every graph input and output. */
export const BATCH_DIM = 'N';

/** A tensor value info of shape [N, width] with a symbolic batch dimension. */
export function batchValueInfo(name: string, elemType: ElemType, width: number): ValueInfoProto {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: [{ dimParam: BATCH_DIM }, { dimValue: width }] },
      },
    },
  });
}

/** One node to add to a graph. */
export interface NodeSpec {
  opType: string;
  /** Omitted or '' for the default ONNX domain. */
  domain?: string;
  inputs: readonly string[];
  /** Name hints for the outputs (made unique), or exact names given in `exactOutputs`. */
  outputs?: readonly string[];
  /** Exact output names, already reserved with `reserve` (graph outputs). */
  exactOutputs?: readonly string[];
  attributes?: readonly Attribute[];
}

/**
 * Collects nodes, initializers, inputs and outputs of one graph. Value names are allocated here so
 * internal names can never collide with the raw column names used as graph inputs, whatever
 * characters those names contain.
 */
export class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  readonly inputs: ValueInfoProto[] = [];
  readonly outputs: ValueInfoProto[] = [];
  private readonly usedValues = new Set<string>();
  private readonly usedNodes = new Set<string>();

  /** Claims an exact value name (graph inputs and outputs); throws when it is already taken. */
  reserve(name: string): string {
    if (name === '') throw new Error('An ONNX value name cannot be empty');
    if (this.usedValues.has(name)) throw new Error(`The ONNX value name "${name}" is used twice`);
    this.usedValues.add(name);
    return name;
  }

  /** A new value name based on `hint`, suffixed until it is unused. */
  fresh(hint: string): string {
    return claim(this.usedValues, `kerf/${hint}`);
  }

  /** Declares a graph input of shape [N, width]; the name must be free. */
  addInput(name: string, elemType: ElemType, width: number): string {
    this.reserve(name);
    this.inputs.push(batchValueInfo(name, elemType, width));
    return name;
  }

  /** Declares a graph output of shape [N, width]; its producing node must use it in `exactOutputs`. */
  addOutput(name: string, elemType: ElemType, width: number): void {
    this.outputs.push(batchValueInfo(name, elemType, width));
  }

  /** Adds a constant tensor under a fresh name and returns that name. */
  addInitializer(hint: string, build: (name: string) => TensorProto): string {
    const name = this.fresh(hint);
    this.initializers.push(build(name));
    return name;
  }

  /** Adds a node and returns its output names in order. */
  addNode(spec: NodeSpec): string[] {
    const outputs = spec.exactOutputs
      ? [...spec.exactOutputs]
      : (spec.outputs ?? [spec.opType.toLowerCase()]).map((hint) => this.fresh(hint));
    this.nodes.push(
      onnx.NodeProto.create({
        input: [...spec.inputs],
        output: outputs,
        name: claim(this.usedNodes, spec.opType),
        opType: spec.opType,
        domain: spec.domain ?? '',
        attribute: [...(spec.attributes ?? [])],
      }),
    );
    return outputs;
  }

  /** Adds a node with exactly one output and returns its name. */
  addNode1(spec: NodeSpec): string {
    const [output] = this.addNode(spec);
    if (output === undefined) throw new Error(`${spec.opType} node declared no output`);
    return output;
  }

  /** Puts [N, a] and [N, b] side by side as [N, a + b] (Concat on axis 1); returns the new value. */
  addColumns(inputs: readonly string[], hint: string): string {
    return this.addNode1({ opType: 'Concat', inputs, outputs: [hint], attributes: [intAttr('axis', 1)] });
  }

  /** `input` as float64 (Cast), so what follows computes in doubles like the TypeScript model. */
  addDoubles(input: string, hint: string): string {
    return this.addNode1({
      opType: 'Cast',
      inputs: [input],
      outputs: [hint],
      attributes: [intAttr('to', DOUBLE)],
    });
  }
}

function claim(used: Set<string>, base: string): string {
  let name = base;
  for (let suffix = 1; used.has(name); suffix++) name = `${base}_${suffix}`;
  used.add(name);
  return name;
}

/**
 * The smallest float32 that is >= `value`. For any float32 x, `x < value` holds exactly when
 * `x < float32AtLeast(value)`, so a float32 threshold reproduces a double threshold's splits.
 */
export function float32AtLeast(value: number): number {
  const rounded = Math.fround(value);
  if (Number.isNaN(value) || rounded >= value) return rounded;
  return nextFloat32Up(rounded);
}

function nextFloat32Up(value: number): number {
  // Only reached when the true value lies above `value`; from zero that is the least subnormal.
  if (value === 0) return 2 ** -149;
  const view = new DataView(new ArrayBuffer(4));
  view.setFloat32(0, value);
  const bits = view.getUint32(0);
  // Positive floats grow with their bit pattern, negative ones shrink.
  view.setUint32(0, value > 0 ? bits + 1 : bits - 1);
  return view.getFloat32(0);
}
