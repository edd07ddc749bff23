/**
 * The security gate on an exported ONNX artifact: the graph uses only allowed operators from the
 * standard domains, defines no functions that could hide operators, references no external data
 * files, stays within the size bound, decodes at all, and takes no feature that looks like personal
 * data. Every check names what it found, so a failed gate says what to change.
 */
import type { onnx as OnnxTypes } from 'onnx-proto';
import { z } from 'zod';
import { METADATA_KEY, parseMetadata } from '../../ml/onnx/metadata';
import { ML_DOMAIN, onnx } from '../../ml/onnx/protoBuilders';
import { between, strictObject } from '../spec/syntax';
import type { Gate } from './gate';
import { type FeatureSample, type PersonalDataOptions, personalDataProblems } from './personalData';
import { type GateCheck, type GateVerdict, reportedCheck, verdictOf } from './verdict';

export const securityGateSchema = strictObject({
  /**
   * The largest acceptable ONNX artifact, in bytes.
   * @default 52428800 (50 MiB)
   */
  maxModelBytes: between(1, Number.MAX_SAFE_INTEGER, { integer: true }).default(50 * 1024 * 1024),
  /**
   * ONNX operator types the graph may use; any other operator fails the gate.
   * @default undefined (the exporter's own operator set)
   */
  allowedOperators: z
    .array(z.string().regex(/^[A-Za-z][A-Za-z0-9_.]*$/, 'must be an ONNX operator type such as TreeEnsemble'))
    .min(1, 'must list at least one operator')
    .optional(),
});

/** The `gates.security` part of a parsed pipeline spec. */
export type SecurityGateSpec = z.output<typeof securityGateSchema>;

/** An operator type: its domain ('' is the default ONNX domain) and its op_type. */
export interface OperatorType {
  domain: string;
  opType: string;
}

/** An operator type and how many nodes use it. */
export interface OperatorUse extends OperatorType {
  count: number;
}

/** A tensor whose data lives outside the ONNX file. */
export interface ExternalTensor {
  /** The tensor's name ('' for unnamed attribute tensors). */
  tensor: string;
  /** Its `location` entry (the file it points to), or '' when it names none. */
  location: string;
  /** Where in the model it sits: `graph.initializer[2]`, `graph node "Loop_1" attribute "body" ...`. */
  where: string;
}

/** What an ONNX file contains, as far as the security gate is concerned. */
export interface OnnxInspection {
  /** Size of the file in bytes. */
  bytes: number;
  irVersion: number;
  producerName: string;
  producerVersion: string;
  opsetImports: { domain: string; version: number }[];
  /**
   * Every operator type used by a node in the main graph, its subgraphs and its functions, sorted;
   * the default domain is '' whether the file spells it '' or 'ai.onnx'.
   */
  operators: OperatorUse[];
  /** Model-local functions (ModelProto.functions). */
  functions: { domain: string; name: string; nodeCount: number }[];
  /** Tensors (initializers and attribute tensors, anywhere) with external data. */
  externalData: ExternalTensor[];
  /** Nodes in the main graph. */
  nodeCount: number;
  /** The model's metadata_props. */
  metadataProps: { key: string; value: string }[];
}

/** The default ONNX domain under its two spellings, and the ONNX-ML domain. */
export const STANDARD_DOMAINS: readonly string[] = ['', 'ai.onnx', ML_DOMAIN];

/**
 * Exactly the operators `exportOnnx` can emit (ml/onnx/export*.ts): the default allow-list. A test
 * exports every model type and task and compares the operators it finds with this list.
 */
export const EXPORTER_OPERATORS: readonly OperatorType[] = [
  ...inDomain('', 'Add Cast Concat Div IsNaN MatMul Neg Sigmoid Softmax Squeeze Sub Where'),
  ...inDomain(ML_DOMAIN, 'LabelEncoder OneHotEncoder TreeEnsembleRegressor'),
];

function inDomain(domain: string, opTypes: string): OperatorType[] {
  return opTypes.split(' ').map((opType) => ({ domain, opType }));
}

/** Input of {@link evaluateSecurityGate}. */
export interface SecurityGateInput {
  /** The ONNX file as exported. */
  onnx: Uint8Array;
  /**
   * The model's feature columns. A categorical column without `sampleValues` is judged on the
   * categories the model stores in its `kerf.model` metadata: those strings ship inside the graph.
   */
  features: readonly FeatureSample[];
  /** `gates.security` of the pipeline spec. */
  gate: SecurityGateSpec;
  /** Thresholds of the personal-data check. */
  personalData?: PersonalDataOptions;
}

/** `domain.OpType` for people and allow-lists; just `OpType` in the default domain. */
export function operatorLabel(operator: OperatorType): string {
  const domain = normalizeDomain(operator.domain);
  return domain === '' ? operator.opType : `${domain}.${operator.opType}`;
}

/**
 * The operator types an allow-list permits. An entry `OpType` allows it in the default domain and in
 * ai.onnx.ml; `ai.onnx.ml.OpType` or `ai.onnx.OpType` allows it in that domain only. Without a list,
 * {@link EXPORTER_OPERATORS}.
 */
export function allowedOperatorTypes(allowedOperators?: readonly string[]): OperatorType[] {
  if (allowedOperators === undefined) return [...EXPORTER_OPERATORS];
  return allowedOperators.flatMap((entry) => {
    const dot = entry.lastIndexOf('.');
    if (dot < 0) return [ML_DOMAIN, ''].map((domain) => ({ domain, opType: entry }));
    return [{ domain: normalizeDomain(entry.slice(0, dot)), opType: entry.slice(dot + 1) }];
  });
}

/**
 * Decodes an ONNX file and lists what the gate judges: operators, opset imports, functions, tensors
 * with external data and the size. Subgraphs (If, Loop, Scan bodies), function bodies and training
 * graphs are walked too, so no operator or external reference hides in them.
 *
 * @throws when the bytes are not a protobuf ModelProto with a graph
 */
export function inspectOnnx(bytes: Uint8Array): OnnxInspection {
  let model: InstanceType<typeof onnx.ModelProto>;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (error) {
    throw new Error(`not a protobuf ModelProto (${error instanceof Error ? error.message : String(error)})`);
  }
  if (!model.graph) throw new Error('the ModelProto has no graph');
  const walker = new ModelWalker();
  walker.graph(model.graph, 'graph');
  for (const [index, training] of model.trainingInfo.entries()) {
    if (training.initialization)
      walker.graph(training.initialization, `trainingInfo[${index}].initialization`);
    if (training.algorithm) walker.graph(training.algorithm, `trainingInfo[${index}].algorithm`);
  }
  const functions = model.functions.map((fn, index) => {
    walker.nodes(fn.node ?? [], `function[${index}] "${fn.name ?? ''}"`);
    return { domain: fn.domain ?? '', name: fn.name ?? '', nodeCount: fn.node?.length ?? 0 };
  });
  return {
    bytes: bytes.byteLength,
    irVersion: toNumber(model.irVersion),
    producerName: model.producerName,
    producerVersion: model.producerVersion,
    opsetImports: model.opsetImport.map((opset) => ({
      domain: opset.domain ?? '',
      version: toNumber(opset.version),
    })),
    operators: [...walker.operators.values()].sort(
      (a, b) => compare(a.domain, b.domain) || compare(a.opType, b.opType),
    ),
    functions,
    externalData: walker.externalData,
    nodeCount: model.graph.node?.length ?? 0,
    metadataProps: model.metadataProps.map((entry) => ({ key: entry.key ?? '', value: entry.value ?? '' })),
  };
}

/**
 * Judges an exported artifact. Bytes that do not decode fail the `onnx-decodes` check (the graph
 * checks are then reported as not judged); they never throw.
 */
export function evaluateSecurityGate(input: SecurityGateInput): GateVerdict {
  let inspection: OnnxInspection | undefined;
  let decodeProblem = '';
  try {
    inspection = inspectOnnx(input.onnx);
    if (inspection.nodeCount === 0) decodeProblem = 'its graph has no nodes';
  } catch (error) {
    // Deeply nested garbage can overflow the stack while decoding or walking: still a failed check.
    decodeProblem = error instanceof Error ? error.message : String(error);
  }
  const decoded = inspection !== undefined && decodeProblem === '' ? inspection : undefined;
  const checks: GateCheck[] = [
    decoded
      ? pass(
          'onnx-decodes',
          `The artifact decodes as an ONNX model (IR version ${decoded.irVersion}, ${decoded.nodeCount} nodes).`,
        )
      : fail(
          'onnx-decodes',
          `The artifact is not a readable ONNX model: ${decodeProblem}; export it again with exportOnnx.`,
        ),
    ...(decoded ? graphChecks(decoded, input.gate) : notJudgedGraphChecks()),
    sizeCheck(input.onnx.byteLength, input.gate.maxModelBytes),
    personalDataCheck(withStoredCategories(input.features, decoded), input.personalData),
  ];
  return verdictOf('security', checks);
}

function graphChecks(inspection: OnnxInspection, gate: SecurityGateSpec): GateCheck[] {
  return [
    operatorCheck(inspection, allowedOperatorTypes(gate.allowedOperators)),
    functionCheck(inspection),
    externalDataCheck(inspection),
  ];
}

function notJudgedGraphChecks(): GateCheck[] {
  return ['operators-allowed', 'no-model-functions', 'no-external-data'].map((name) =>
    reportedCheck(name, 'Not checked: the artifact does not decode as an ONNX model.'),
  );
}

function operatorCheck(inspection: OnnxInspection, allowed: readonly OperatorType[]): GateCheck {
  const allowedLabels = new Set(allowed.map(operatorLabel));
  const refused: string[] = [];
  for (const use of inspection.operators) {
    const label = operatorLabel(use);
    if (!isStandardDomain(use.domain)) {
      refused.push(`${label} ×${use.count} (domain "${use.domain}" is not a standard ONNX domain)`);
    } else if (!allowedLabels.has(label)) {
      refused.push(`${label} ×${use.count}`);
    }
  }
  for (const opset of inspection.opsetImports) {
    if (!isStandardDomain(opset.domain)) {
      refused.push(`opset import of domain "${opset.domain}" (not a standard ONNX domain)`);
    }
  }
  const name = 'operators-allowed';
  const value = refused.length;
  if (refused.length > 0) {
    return fail(
      name,
      `The graph uses operators outside the allow-list: ${refused.join('; ')}. Only the domains "", "ai.onnx" and "ai.onnx.ml" are accepted; add a standard operator to gates.security.allowedOperators only if the model needs it.`,
      value,
      0,
    );
  }
  const used = inspection.operators.map(operatorLabel).join(', ');
  return pass(name, `Every operator the graph uses is allowed: ${used}.`, value, 0);
}

function functionCheck(inspection: OnnxInspection): GateCheck {
  const name = 'no-model-functions';
  const count = inspection.functions.length;
  if (count === 0) return pass(name, 'The model defines no functions.', 0, 0);
  const listed = inspection.functions.map((fn) => operatorLabel({ domain: fn.domain, opType: fn.name }));
  return fail(
    name,
    `The model defines ${count} function(s) (${listed.join(', ')}); Kerf's exporter never does, and a function body can hide operators: export the model again with exportOnnx.`,
    count,
    0,
  );
}

function externalDataCheck(inspection: OnnxInspection): GateCheck {
  const name = 'no-external-data';
  const count = inspection.externalData.length;
  if (count === 0) return pass(name, 'Every tensor is stored inside the ONNX file.', 0, 0);
  const listed = inspection.externalData.map(
    (tensor) =>
      `${tensor.where} "${tensor.tensor}" → ${tensor.location === '' ? '(no location)' : `"${tensor.location}"`}`,
  );
  return fail(
    name,
    `${count} tensor(s) point to data outside the ONNX file, which would be read from the serving host's disk: ${listed.join('; ')}. Store all tensors inside the model.`,
    count,
    0,
  );
}

function sizeCheck(bytes: number, maxModelBytes: number): GateCheck {
  const name = 'model-size';
  return bytes <= maxModelBytes
    ? pass(
        name,
        `The artifact is ${bytes} bytes, within the ${maxModelBytes}-byte bound.`,
        bytes,
        maxModelBytes,
      )
    : fail(
        name,
        `The artifact is ${bytes} bytes, above gates.security.maxModelBytes (${maxModelBytes}); use fewer or shallower trees, or raise the bound.`,
        bytes,
        maxModelBytes,
      );
}

function personalDataCheck(features: readonly FeatureSample[], options?: PersonalDataOptions): GateCheck {
  const name = 'no-personal-data';
  const problems = personalDataProblems(features, options);
  const columns = new Set(problems.map((problem) => problem.column)).size;
  if (problems.length === 0) {
    return pass(name, `None of the ${features.length} feature columns looks like personal data.`, 0, 0);
  }
  return fail(name, problems.map((problem) => problem.message).join(' '), columns, 0);
}

/** Categorical features without sample values get the categories stored in the model, when readable. */
function withStoredCategories(
  features: readonly FeatureSample[],
  inspection: OnnxInspection | undefined,
): FeatureSample[] {
  const stored = new Map<string, string[]>();
  const json = inspection?.metadataProps.find((entry) => entry.key === METADATA_KEY)?.value;
  if (json !== undefined) {
    try {
      for (const feature of parseMetadata(json).features) {
        if (feature.kind === 'categorical') stored.set(feature.name, feature.categories);
      }
    } catch {
      // Unreadable metadata: the scorer refuses such a model anyway; judge by the given samples only.
    }
  }
  return features.map((feature) => {
    const categories = stored.get(feature.name);
    return feature.kind === 'categorical' && feature.sampleValues === undefined && categories
      ? { ...feature, sampleValues: categories }
      : feature;
  });
}

type GraphProto = OnnxTypes.IGraphProto;
type NodeProto = OnnxTypes.INodeProto;
type TensorProto = OnnxTypes.ITensorProto;
type SparseTensorProto = OnnxTypes.ISparseTensorProto;

/** Collects operators and external tensors over graphs, subgraphs and function bodies. */
class ModelWalker {
  readonly operators = new Map<string, OperatorUse>();
  readonly externalData: ExternalTensor[] = [];

  graph(graph: GraphProto, where: string): void {
    for (const [index, tensor] of (graph.initializer ?? []).entries()) {
      this.tensor(tensor, `${where}.initializer[${index}]`);
    }
    for (const [index, sparse] of (graph.sparseInitializer ?? []).entries()) {
      this.sparse(sparse, `${where}.sparseInitializer[${index}]`);
    }
    this.nodes(graph.node ?? [], where);
  }

  nodes(nodes: readonly NodeProto[], where: string): void {
    for (const [index, node] of nodes.entries()) {
      const domain = node.domain ?? '';
      const opType = node.opType ?? '';
      const key = `${normalizeDomain(domain)}\u0000${opType}`;
      const use = this.operators.get(key);
      if (use) use.count++;
      else this.operators.set(key, { domain: normalizeDomain(domain), opType, count: 1 });
      const nodeWhere = `${where} node "${node.name || `${opType}#${index}`}"`;
      for (const attribute of node.attribute ?? []) {
        const at = `${nodeWhere} attribute "${attribute.name ?? ''}"`;
        if (attribute.t) this.tensor(attribute.t, at);
        for (const tensor of attribute.tensors ?? []) this.tensor(tensor, at);
        if (attribute.sparseTensor) this.sparse(attribute.sparseTensor, at);
        for (const sparse of attribute.sparseTensors ?? []) this.sparse(sparse, at);
        if (attribute.g) this.graph(attribute.g, at);
        for (const graph of attribute.graphs ?? []) this.graph(graph, at);
      }
    }
  }

  private sparse(sparse: SparseTensorProto, where: string): void {
    if (sparse.values) this.tensor(sparse.values, `${where}.values`);
    if (sparse.indices) this.tensor(sparse.indices, `${where}.indices`);
  }

  private tensor(tensor: TensorProto, where: string): void {
    const entries = tensor.externalData ?? [];
    if (tensor.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL && entries.length === 0) return;
    const location = entries.find((entry) => entry.key === 'location')?.value ?? '';
    this.externalData.push({ tensor: tensor.name ?? '', location, where });
  }
}

function normalizeDomain(domain: string): string {
  return domain === 'ai.onnx' ? '' : domain;
}

function isStandardDomain(domain: string): boolean {
  return STANDARD_DOMAINS.includes(domain);
}

/** protobufjs decodes int64 fields as Long objects when the `long` package is present. */
function toNumber(value: number | { toNumber(): number } | null | undefined): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'number' ? value : value.toNumber();
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function pass(name: string, message: string, value?: number, bound?: number): GateCheck {
  return { name, passed: true, judged: true, message, ...numbers(value, bound) };
}

function fail(name: string, message: string, value?: number, bound?: number): GateCheck {
  return { name, passed: false, judged: true, message, ...numbers(value, bound) };
}

function numbers(value?: number, bound?: number): { value?: number; bound?: number } {
  return { ...(value === undefined ? {} : { value }), ...(bound === undefined ? {} : { bound }) };
}

/**
 * The security gate, run by the security stage on the exported ONNX file and the feature columns
 * (categorical ones with their values) before the artifact is signed.
 */
export const securityGate: Gate<'security', typeof securityGateSchema, 'security'> = {
  name: 'security',
  stage: 'security',
  spec: securityGateSchema,
  check: (gate, { onnx, features }) => evaluateSecurityGate({ onnx, features, gate }),
};
