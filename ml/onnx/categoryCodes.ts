/**
 * Category codes in place of category text. An exported model maps each categorical input's text to
 * its code with a LabelEncoder; onnxruntime-node copies every row's text into the native tensor, one
 * string at a time, which costs more than the trees on wide batches. Kerf's columns already hold each
 * row as a dictionary code, so the scorer can map the dictionary once (the encoder's own keys and
 * values, read from the graph) and hand the trees float codes: the same graph from the encoder's
 * output on, so the same scores.
 *
 * The graph is rewritten only where it has that exact shape: a text input read by one LabelEncoder
 * (text keys to float values, nothing else) whose output is not itself a graph output. Any other
 * input keeps its text, so a file from another exporter still scores, only without the shortcut.
 */
import { type ElemType, FLOAT, ML_DOMAIN, onnx, STRING } from './protoBuilders';

type ModelProto = InstanceType<typeof onnx.ModelProto>;
type NodeProto = NonNullable<InstanceType<typeof onnx.GraphProto>['node']>[number];
type AttributeProto = NonNullable<NodeProto['attribute']>[number];

declare global {
  interface String {
    /** ES2024; Node.js 20 has it. */
    isWellFormed(): boolean;
    /** ES2024; Node.js 20 has it: lone surrogates become U+FFFD, as in UTF-8 conversion. */
    toWellFormed(): string;
  }
}

/** How a categorical input's text becomes the float code the graph's trees read. */
export interface CategoryCodeInput {
  /** The graph input that takes the codes (the name of the encoder's output). */
  input: string;
  /** Each key's code, as the encoder maps it. */
  codes: ReadonlyMap<string, number>;
  /** The code of text the encoder does not know (its `default_float`). */
  unknown: number;
}

/** A model whose category encoders were lifted out of the graph, and how to feed the codes instead. */
export interface CategoryCodeGraph {
  /** The rewritten model, or the original bytes when no input could be lifted. */
  bytes: Uint8Array;
  /** By original (text) input name: the inputs that now take codes. */
  inputs: ReadonlyMap<string, CategoryCodeInput>;
}

/** LabelEncoder's `default_float` when the attribute is absent (ai.onnx.ml LabelEncoder v2). */
const ENCODER_DEFAULT_FLOAT = -0;

/**
 * `model` with every liftable category encoder removed and its text input replaced by a float input
 * named after the encoder's output.
 *
 * @param bytes the encoded `model`, returned as they are when nothing is lifted
 */
export function liftCategoryEncoders(model: ModelProto, bytes: Uint8Array): CategoryCodeGraph {
  const graph = model.graph;
  if (!graph) return { bytes, inputs: new Map() };
  const nodes = graph.node ?? [];
  const graphInputs = graph.input ?? [];
  const outputs = new Set((graph.output ?? []).map((output) => output.name));
  const taken = new Set([...graphInputs, ...(graph.initializer ?? [])].map((value) => value.name));
  const readers = new Map<string, NodeProto[]>();
  for (const node of nodes) {
    for (const input of node.input ?? []) readers.set(input, [...(readers.get(input) ?? []), node]);
  }
  const lifted = new Map<string, CategoryCodeInput>();
  const removed = new Set<NodeProto>();
  const newInputs = graphInputs.map((valueInfo) => {
    const name = valueInfo.name ?? '';
    const tensorType = valueInfo.type?.tensorType;
    const read = readers.get(name) ?? [];
    if (tensorType?.elemType !== STRING || read.length !== 1 || outputs.has(name)) return valueInfo;
    const encoder = read[0] as NodeProto;
    const codes = encoderCodes(encoder);
    const output = encoder.output?.[0];
    if (!codes || output === undefined || outputs.has(output) || taken.has(output)) return valueInfo;
    lifted.set(name, { input: output, ...codes });
    removed.add(encoder);
    return onnx.ValueInfoProto.create({
      name: output,
      type: { tensorType: { elemType: FLOAT satisfies ElemType, shape: tensorType.shape } },
    });
  });
  if (lifted.size === 0) return { bytes, inputs: lifted };
  // Encoded with the new nodes and inputs in place, then put back: `model` is left as it was.
  graph.node = nodes.filter((node) => !removed.has(node));
  graph.input = newInputs;
  try {
    return { bytes: onnx.ModelProto.encode(model).finish(), inputs: lifted };
  } finally {
    graph.node = nodes;
    graph.input = graphInputs;
  }
}

/**
 * The text-to-code map of a LabelEncoder from text keys to float values, or null for any other
 * node (another op, other attributes, repeated keys, keys and values of different lengths).
 */
function encoderCodes(node: NodeProto): Omit<CategoryCodeInput, 'input'> | null {
  if (node.opType !== 'LabelEncoder' || node.domain !== ML_DOMAIN) return null;
  if (node.input?.length !== 1 || node.output?.length !== 1) return null;
  let keys: (string | null)[] | null = null;
  let values: number[] | null = null;
  let unknown = ENCODER_DEFAULT_FLOAT;
  for (const attribute of node.attribute ?? []) {
    if (attribute.name === 'keys_strings') keys = (attribute.strings ?? []).map(utf8);
    else if (attribute.name === 'values_floats') values = [...(attribute.floats ?? [])];
    else if (attribute.name === 'default_float' && isFloat(attribute)) unknown = attribute.f ?? 0;
    else return null;
  }
  if (!keys || !values || keys.length !== values.length) return null;
  const codes = new Map<string, number>();
  for (const [index, key] of keys.entries()) {
    // A key that is not UTF-8 matches no text a caller can send: it is left out.
    if (key === null) continue;
    if (codes.has(key)) return null;
    codes.set(key, Math.fround(values[index] as number));
  }
  return { codes, unknown: Math.fround(unknown) };
}

function isFloat(attribute: AttributeProto): boolean {
  return attribute.type === onnx.AttributeProto.AttributeType.FLOAT;
}

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A key's text, or null when its bytes are not UTF-8. */
function utf8(bytes: Uint8Array): string | null {
  try {
    return decoder.decode(bytes);
  } catch {
    return null;
  }
}

/**
 * The code the encoder gives `text`. onnxruntime-node hands the encoder UTF-8, in which a lone
 * surrogate is U+FFFD, so the text is looked up the same way.
 */
export function codeOf(input: CategoryCodeInput, text: string): number {
  const code = input.codes.get(text.isWellFormed() ? text : text.toWellFormed());
  return code ?? input.unknown;
}
