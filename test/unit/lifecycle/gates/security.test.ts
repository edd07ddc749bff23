import { describe, expect, it } from 'vitest';
import { prepareTrainingData } from '../../../../ml/dataset';
import { trainGbdt } from '../../../../ml/gbdt';
import { trainLinear } from '../../../../ml/linear';
import type { Model, TaskKind } from '../../../../ml/model';
import { exportOnnx } from '../../../../ml/onnx/export';
import type { onnx as OnnxTypes } from 'onnx-proto';
import { DEFAULT_OPSET, IR_VERSION, ML_DOMAIN, ML_OPSET, onnx } from '../../../../ml/onnx/protoBuilders';
import { friedman1 } from '../../../../ml/referenceDatasets';
import { Table, categoricalFromLabels, numericFromValues } from '../../../../ml/table';
import {
  type FeatureSample,
  looksLikeIban,
  looksLikePhone,
  personalDataProblems,
  personalKindOfName,
  splitWords,
} from '../../../../lifecycle/gates/personalData';
import {
  EXPORTER_OPERATORS,
  type SecurityGateSpec,
  allowedOperatorTypes,
  evaluateSecurityGate,
  inspectOnnx,
  operatorLabel,
} from '../../../../lifecycle/gates/security';
import type { GateCheck, GateVerdict } from '../../../../lifecycle/gates/verdict';

const DEFAULT_GATE: SecurityGateSpec = { maxModelBytes: 50 * 1024 * 1024 };

function check(verdict: GateVerdict, name: string): GateCheck {
  const found = verdict.checks.find((candidate) => candidate.name === name);
  if (!found) throw new Error(`no check ${name} in ${verdict.checks.map((c) => c.name).join(', ')}`);
  return found;
}

function featuresOf(model: Model): FeatureSample[] {
  return model.features.map((feature) => ({ name: feature.name, kind: feature.kind }));
}

/** A small shop table: thickness, bends, material family (categorical) and a target of every task. */
function shopTable(rows = 240): Table {
  const families = ['steel', 'aluminium', 'stainless', 'copper'];
  const thickness: number[] = [];
  const bends: number[] = [];
  const family: string[] = [];
  const minutes: number[] = [];
  const rush: string[] = [];
  const route: string[] = [];
  for (let i = 0; i < rows; i++) {
    const t = 0.5 + ((i * 37) % 60) / 10;
    const b = (i * 13) % 9;
    const f = families[(i * 7) % families.length] as string;
    thickness.push(t);
    bends.push(b);
    family.push(f);
    minutes.push(2 * t + b + (f === 'stainless' ? 3 : 0));
    rush.push(t + b > 7 ? 'yes' : 'no');
    route.push(b < 3 ? 'laser' : b < 6 ? 'punch' : 'bend');
  }
  return new Table([
    numericFromValues('thickness_mm', thickness),
    numericFromValues('bend_count', bends),
    categoricalFromLabels('material_family', family),
    numericFromValues('minutes', minutes),
    categoricalFromLabels('rush', rush),
    categoricalFromLabels('route', route),
  ]);
}

const TARGET_OF: Record<TaskKind, string> = { regression: 'minutes', binary: 'rush', multiclass: 'route' };

function trainOn(table: Table, type: 'gbdt' | 'linear', task: TaskKind): Model {
  const data = prepareTrainingData(table, {
    target: TARGET_OF[task],
    features: ['thickness_mm', 'bend_count', 'material_family'],
    task,
  });
  return type === 'gbdt' ? trainGbdt(data, { iterations: 5, maxLeaves: 4 }) : trainLinear(data);
}

/** A hand-built ModelProto around the given nodes, with one float input `x` and output `y`. */
function tinyModel(options: {
  nodes: OnnxTypes.INodeProto[];
  initializers?: OnnxTypes.ITensorProto[];
  opsets?: OnnxTypes.IOperatorSetIdProto[];
  functions?: OnnxTypes.IFunctionProto[];
}): Uint8Array {
  const valueInfo = (name: string) => ({
    name,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimValue: 1 }] } } },
  });
  const proto = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: options.opsets ?? [
      { domain: '', version: DEFAULT_OPSET },
      { domain: ML_DOMAIN, version: ML_OPSET },
    ],
    producerName: 'test',
    graph: {
      name: 'tiny',
      node: options.nodes,
      initializer: options.initializers ?? [],
      input: [valueInfo('x')],
      output: [valueInfo('y')],
    },
    functions: options.functions ?? [],
  });
  return Uint8Array.from(onnx.ModelProto.encode(proto).finish());
}

describe('security gate on real exported models', () => {
  const data = friedman1(400, 7);
  const training = prepareTrainingData(data.train, {
    target: data.target,
    features: data.features,
    task: 'regression',
  });
  const gbdt = trainGbdt(training, { iterations: 20 });
  const linear = trainLinear(training);

  it.each([
    ['gbdt', gbdt],
    ['linear', linear],
  ] as const)('passes a %s model exported with exportOnnx, every check judged', (_, model) => {
    const verdict = evaluateSecurityGate({
      onnx: exportOnnx(model),
      features: featuresOf(model),
      gate: DEFAULT_GATE,
    });
    expect(verdict.gate).toBe('security');
    expect(verdict.checks.map((c) => c.name)).toEqual([
      'onnx-decodes',
      'operators-allowed',
      'no-model-functions',
      'no-external-data',
      'model-size',
      'no-personal-data',
    ]);
    for (const c of verdict.checks) expect(c, c.message).toMatchObject({ passed: true, judged: true });
    expect(verdict.passed).toBe(true);
  });

  it('inspects the operators, opsets and size of an exported model', () => {
    const bytes = exportOnnx(gbdt);
    const inspection = inspectOnnx(bytes);
    expect(inspection.bytes).toBe(bytes.byteLength);
    expect(inspection.irVersion).toBe(IR_VERSION);
    expect(inspection.producerName).toBe('kerf');
    expect(inspection.opsetImports).toEqual([
      { domain: '', version: DEFAULT_OPSET },
      { domain: ML_DOMAIN, version: ML_OPSET },
    ]);
    expect(inspection.operators).toEqual([
      { domain: '', opType: 'Cast', count: 1 },
      { domain: '', opType: 'Concat', count: 1 },
      { domain: ML_DOMAIN, opType: 'TreeEnsembleRegressor', count: 1 },
    ]);
    expect(inspection.externalData).toEqual([]);
    expect(inspection.functions).toEqual([]);
  });

  it('allows exactly the operators the exporter emits, over every model type and task', () => {
    const table = shopTable();
    const used = new Set<string>();
    for (const type of ['gbdt', 'linear'] as const) {
      for (const task of ['regression', 'binary', 'multiclass'] as const) {
        const model = trainOn(table, type, task);
        const bytes = exportOnnx(model);
        for (const operator of inspectOnnx(bytes).operators) used.add(operatorLabel(operator));
        const verdict = evaluateSecurityGate({
          onnx: bytes,
          features: featuresOf(model),
          gate: DEFAULT_GATE,
        });
        expect(verdict.passed, `${type} ${task}: ${JSON.stringify(verdict.checks)}`).toBe(true);
      }
    }
    // A numeric-only linear model takes the path without one-hot encoding (no Concat of blocks).
    expect([...used].sort()).toEqual(EXPORTER_OPERATORS.map(operatorLabel).sort());
  });

  it('fails the size check above maxModelBytes and passes at exactly the bound', () => {
    const bytes = exportOnnx(gbdt);
    const over = evaluateSecurityGate({
      onnx: bytes,
      features: featuresOf(gbdt),
      gate: { maxModelBytes: bytes.byteLength - 1 },
    });
    expect(over.passed).toBe(false);
    expect(check(over, 'model-size')).toMatchObject({
      passed: false,
      value: bytes.byteLength,
      bound: bytes.byteLength - 1,
    });
    expect(check(over, 'model-size').message).toContain('maxModelBytes');
    const at = evaluateSecurityGate({
      onnx: bytes,
      features: featuresOf(gbdt),
      gate: { maxModelBytes: bytes.byteLength },
    });
    expect(at.passed).toBe(true);
  });

  it('fails a model with a spec allow-list that leaves out one of its operators, naming it', () => {
    const bytes = exportOnnx(gbdt);
    const verdict = evaluateSecurityGate({
      onnx: bytes,
      features: featuresOf(gbdt),
      gate: { ...DEFAULT_GATE, allowedOperators: ['Cast', 'Concat'] },
    });
    expect(verdict.passed).toBe(false);
    expect(check(verdict, 'operators-allowed').message).toContain('ai.onnx.ml.TreeEnsembleRegressor ×1');
    const qualified = evaluateSecurityGate({
      onnx: bytes,
      features: featuresOf(gbdt),
      gate: { ...DEFAULT_GATE, allowedOperators: ['Cast', 'Concat', 'ai.onnx.ml.TreeEnsembleRegressor'] },
    });
    expect(qualified.passed).toBe(true);
  });
});

describe('security gate on hand-built graphs', () => {
  const relu = { opType: 'Relu', input: ['x'], output: ['y'] };

  it('refuses a standard operator the exporter never emits, naming it', () => {
    const bytes = tinyModel({ nodes: [relu] });
    const verdict = evaluateSecurityGate({ onnx: bytes, features: [], gate: DEFAULT_GATE });
    expect(verdict.passed).toBe(false);
    const operators = check(verdict, 'operators-allowed');
    expect(operators).toMatchObject({ passed: false, judged: true, value: 1, bound: 0 });
    expect(operators.message).toContain('Relu ×1');
    // Allowed by the spec, under either spelling of the default domain.
    for (const allowedOperators of [['Relu'], ['ai.onnx.Relu']]) {
      const allowed = evaluateSecurityGate({
        onnx: bytes,
        features: [],
        gate: { ...DEFAULT_GATE, allowedOperators },
      });
      expect(allowed.passed, JSON.stringify(allowed.checks)).toBe(true);
    }
    // A qualified entry allows the operator in that domain only.
    const wrongDomain = evaluateSecurityGate({
      onnx: bytes,
      features: [],
      gate: { ...DEFAULT_GATE, allowedOperators: ['ai.onnx.ml.Relu'] },
    });
    expect(wrongDomain.passed).toBe(false);
  });

  it('refuses an operator from a custom domain even when the allow-list names it', () => {
    const bytes = tinyModel({
      nodes: [{ opType: 'Exfiltrate', domain: 'com.acme', input: ['x'], output: ['y'] }],
      opsets: [
        { domain: '', version: DEFAULT_OPSET },
        { domain: 'com.acme', version: 1 },
      ],
    });
    for (const allowedOperators of [undefined, ['Exfiltrate'], ['com.acme.Exfiltrate']]) {
      const verdict = evaluateSecurityGate({
        onnx: bytes,
        features: [],
        gate: { ...DEFAULT_GATE, allowedOperators },
      });
      const operators = check(verdict, 'operators-allowed');
      expect(operators.passed).toBe(false);
      expect(operators.message).toContain(
        'com.acme.Exfiltrate ×1 (domain "com.acme" is not a standard ONNX domain)',
      );
      expect(operators.message).toContain('opset import of domain "com.acme"');
    }
  });

  it('finds a refused operator hidden in a subgraph of an allowed one', () => {
    const hidden = {
      name: 'then',
      node: [{ opType: 'Exfiltrate', domain: 'com.acme', input: ['x'], output: ['z'] }],
      output: [{ name: 'z' }],
    };
    const ifNode = {
      opType: 'If',
      name: 'branch',
      input: ['x'],
      output: ['y'],
      attribute: [
        { name: 'then_branch', type: onnx.AttributeProto.AttributeType.GRAPH, g: hidden },
        {
          name: 'else_branch',
          type: onnx.AttributeProto.AttributeType.GRAPH,
          g: { ...hidden, name: 'else' },
        },
      ],
    };
    const bytes = tinyModel({ nodes: [ifNode] });
    expect(inspectOnnx(bytes).operators).toEqual([
      { domain: '', opType: 'If', count: 1 },
      { domain: 'com.acme', opType: 'Exfiltrate', count: 2 },
    ]);
    const verdict = evaluateSecurityGate({
      onnx: bytes,
      features: [],
      gate: { ...DEFAULT_GATE, allowedOperators: ['If'] },
    });
    expect(check(verdict, 'operators-allowed').message).toContain('com.acme.Exfiltrate ×2');
    expect(verdict.passed).toBe(false);
  });

  it('refuses model-local functions and counts the operators inside them', () => {
    const bytes = tinyModel({
      nodes: [{ opType: 'Helper', domain: 'com.acme', input: ['x'], output: ['y'] }],
      functions: [
        {
          name: 'Helper',
          domain: 'com.acme',
          input: ['a'],
          output: ['b'],
          node: [{ opType: 'Relu', input: ['a'], output: ['b'] }],
          opsetImport: [{ domain: '', version: DEFAULT_OPSET }],
        },
      ],
    });
    const inspection = inspectOnnx(bytes);
    expect(inspection.functions).toEqual([{ domain: 'com.acme', name: 'Helper', nodeCount: 1 }]);
    expect(inspection.operators.map(operatorLabel)).toEqual(['Relu', 'com.acme.Helper']);
    const verdict = evaluateSecurityGate({ onnx: bytes, features: [], gate: DEFAULT_GATE });
    expect(check(verdict, 'no-model-functions')).toMatchObject({ passed: false, value: 1 });
    expect(check(verdict, 'no-model-functions').message).toContain('com.acme.Helper');
  });

  it('refuses initializers and attribute tensors with external data, naming tensor and file', () => {
    const external = onnx.TensorProto.create({
      name: 'weights',
      dims: [1],
      dataType: onnx.TensorProto.DataType.FLOAT,
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        { key: 'location', value: '../../etc/passwd' },
        { key: 'offset', value: '0' },
      ],
    });
    const bytes = tinyModel({
      nodes: [{ opType: 'Add', input: ['x', 'weights'], output: ['y'] }],
      initializers: [external],
    });
    const verdict = evaluateSecurityGate({ onnx: bytes, features: [], gate: DEFAULT_GATE });
    const externalCheck = check(verdict, 'no-external-data');
    expect(externalCheck).toMatchObject({ passed: false, judged: true, value: 1, bound: 0 });
    expect(externalCheck.message).toContain('graph.initializer[0] "weights" → "../../etc/passwd"');
    expect(verdict.passed).toBe(false);

    // Only external_data entries (data_location left DEFAULT) count too, inside a Constant's attribute.
    const constant = tinyModel({
      nodes: [
        {
          opType: 'Constant',
          name: 'c',
          output: ['y'],
          attribute: [
            {
              name: 'value',
              type: onnx.AttributeProto.AttributeType.TENSOR,
              t: {
                name: 'blob',
                dataType: 1,
                dims: [1],
                externalData: [{ key: 'location', value: 'blob.bin' }],
              },
            },
          ],
        },
      ],
    });
    expect(inspectOnnx(constant).externalData).toEqual([
      { tensor: 'blob', location: 'blob.bin', where: 'graph node "c" attribute "value"' },
    ]);
    const constantVerdict = evaluateSecurityGate({
      onnx: constant,
      features: [],
      gate: { ...DEFAULT_GATE, allowedOperators: ['Constant'] },
    });
    expect(check(constantVerdict, 'no-external-data').passed).toBe(false);
    expect(check(constantVerdict, 'operators-allowed').passed).toBe(true);
  });

  it('fails garbage bytes gracefully: a failed decode check, graph checks not judged', () => {
    const gbdtBytes = exportOnnx(
      trainGbdt(
        prepareTrainingData(shopTable(), {
          target: 'minutes',
          features: ['thickness_mm'],
          task: 'regression',
        }),
        {
          iterations: 3,
        },
      ),
    );
    let seed = 5;
    const random = Uint8Array.from({ length: 4096 }, () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % 256;
    });
    const samples: [string, Uint8Array][] = [
      ['empty', new Uint8Array(0)],
      ['text', new TextEncoder().encode('this is not an onnx model')],
      ['random', random],
      ['truncated', gbdtBytes.slice(0, Math.floor(gbdtBytes.byteLength / 2))],
      ['no nodes', tinyModel({ nodes: [] })],
    ];
    for (const [label, bytes] of samples) {
      const verdict = evaluateSecurityGate({ onnx: bytes, features: [], gate: DEFAULT_GATE });
      expect(verdict.passed, label).toBe(false);
      const decodes = check(verdict, 'onnx-decodes');
      expect(decodes, label).toMatchObject({ passed: false, judged: true });
      expect(decodes.message, label).toContain('not a readable ONNX model');
      for (const name of ['operators-allowed', 'no-model-functions', 'no-external-data']) {
        expect(check(verdict, name), `${label} ${name}`).toMatchObject({ passed: true, judged: false });
      }
      expect(check(verdict, 'model-size').judged).toBe(true);
    }
  });
});

describe('personal data', () => {
  const numeric = (name: string): FeatureSample => ({ name, kind: 'numeric' });

  it.each([
    ['email', 'email'],
    ['customer_email', 'email'],
    ['E-Mail', 'email'],
    ['eMail', 'email'],
    ['customerEmailAddress', 'email'],
    ['phone', 'phone'],
    ['phone_number', 'phone'],
    ['telephone', 'phone'],
    ['mobileNumber', 'phone'],
    ['first_name', 'person-name'],
    ['lastName', 'person-name'],
    ['last-name', 'person-name'],
    ['surname', 'person-name'],
    ['full_name', 'person-name'],
    ['customer_name', 'person-name'],
    ['CustomerName', 'person-name'],
    ['customername', 'person-name'],
    ['operator_name', 'person-name'],
    ['name', 'person-name'],
    ['Name', 'person-name'],
    ['name_2', 'person-name'],
    ['contact', 'contact'],
    ['contact_person', 'contact'],
    ['address', 'address'],
    ['street', 'address'],
    ['zip_code', 'address'],
    ['date_of_birth', 'birth-date'],
    ['birthDate', 'birth-date'],
    ['dob', 'birth-date'],
    ['iban', 'bank-account'],
    ['IBANNumber', 'bank-account'],
    ['ssn', 'government-id'],
    ['social_security_number', 'government-id'],
  ])('refuses the column %s by its name (%s)', (column, kind) => {
    const problems = personalDataProblems([numeric(column)]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ column, kind, basis: 'column-name' });
    expect(problems[0]?.message).toContain(`"${column}"`);
  });

  it.each([
    'material_family',
    'machine_name',
    'customer_size',
    'material_name',
    'file_name',
    'part_name',
    'program_name',
    'machine',
    'customer_segment',
    'operator_shift',
    'thickness_mm',
    'bend_count',
    'Usage_kWh',
    'Lagging_Current_Reactive.Power_kVarh',
    'NSM',
    'Type',
    'Air temperature [K]',
    'Torque [Nm]',
    'first_operation',
    'tool_holder_name',
  ])('does not refuse the column %s by its name', (column) => {
    expect(personalKindOfName(column)).toBeUndefined();
    expect(personalDataProblems([{ name: column, kind: 'categorical', sampleValues: ['a', 'b'] }])).toEqual(
      [],
    );
  });

  it('splits snake, camel, kebab and spaced names into words', () => {
    expect(splitWords('customerEmailAddress')).toEqual(['customer', 'email', 'address']);
    expect(splitWords('IBANNumber')).toEqual(['iban', 'number']);
    expect(splitWords('Operator-Name 2')).toEqual(['operator', 'name', '2']);
    expect(splitWords('phone2')).toEqual(['phone', '2']);
  });

  it('refuses a categorical column whose values are e-mail addresses, phone numbers or IBANs', () => {
    const codes = Array.from({ length: 95 }, (_, i) => `K-${1000 + i}`);
    const problems = personalDataProblems([
      {
        name: 'reference',
        kind: 'categorical',
        sampleValues: [...codes, ...['a.b@example.com', 'x@shop.de', null, 'c@d.org', 'e@f.eu', 'g@h.io']],
      },
      {
        name: 'note',
        kind: 'categorical',
        sampleValues: ['+49 711 1234567', '(0711) 123-456', '0171/1234567', 'n/a'],
      },
      {
        name: 'payer',
        kind: 'categorical',
        sampleValues: ['DE89 3704 0044 0532 0130 00', 'GB82WEST12345698765432'],
      },
    ]);
    expect(problems.map(({ column, kind, basis }) => ({ column, kind, basis }))).toEqual([
      { column: 'reference', kind: 'email', basis: 'values' },
      { column: 'note', kind: 'phone', basis: 'values' },
      { column: 'payer', kind: 'bank-account', basis: 'values' },
    ]);
    expect(problems[0]?.message).toContain('5 of 100 values (5.0 %)');
    // The example is masked: the message lands in audit logs.
    expect(problems[0]?.message).not.toContain('a.b@example.com');
  });

  it('keeps below-threshold values, numbers, dates, part numbers and zero-padded ids', () => {
    const codes = Array.from({ length: 99 }, (_, i) => `K-${1000 + i}`);
    expect(
      personalDataProblems([
        { name: 'reference', kind: 'categorical', sampleValues: [...codes, 'someone@example.com'] },
        { name: 'shift_date', kind: 'categorical', sampleValues: ['01.02.2024', '2024-02-01', '02/03/2024'] },
        {
          name: 'article',
          kind: 'categorical',
          sampleValues: ['0001234567', '00123456789', '100-2345-01', 'A-4711'],
        },
        { name: 'thickness', kind: 'categorical', sampleValues: ['0.5', '1.25', '10', '0.1234567'] },
      ]),
    ).toEqual([]);
    expect(
      personalDataProblems(
        [{ name: 'reference', kind: 'categorical', sampleValues: [...codes, 'someone@example.com'] }],
        {
          valueShareThreshold: 0.01,
        },
      ),
    ).toHaveLength(1);
    expect(() => personalDataProblems([], { valueShareThreshold: 0 })).toThrow(/valueShareThreshold/);
  });

  it('checks phone numbers and IBANs strictly', () => {
    expect(looksLikePhone('+4971112345')).toBe(true);
    expect(looksLikePhone('0049 711 1234567')).toBe(true);
    expect(looksLikePhone('12345')).toBe(false);
    expect(looksLikePhone('+1234567890123456')).toBe(false);
    expect(looksLikeIban('DE89370400440532013000')).toBe(true);
    // One digit changed: the check sum no longer holds.
    expect(looksLikeIban('DE89370400440532013001')).toBe(false);
  });

  it('fails the gate on a personal-data feature and on personal categories stored in the model', () => {
    const table = new Table([
      numericFromValues('thickness_mm', [1, 2, 3, 4, 5, 6, 7, 8]),
      categoricalFromLabels('buyer', [
        '+49 711 1111111',
        '+49 711 2222222',
        '+49 711 3333333',
        '+49 711 4444444',
        '+49 711 1111111',
        '+49 711 2222222',
        '+49 711 3333333',
        '+49 711 4444444',
      ]),
      numericFromValues('minutes', [2, 4, 6, 8, 10, 12, 14, 16]),
    ]);
    const model = trainGbdt(
      prepareTrainingData(table, {
        target: 'minutes',
        features: ['thickness_mm', 'buyer'],
        task: 'regression',
      }),
      { iterations: 3, minSamplesLeaf: 1 },
    );
    const bytes = exportOnnx(model);
    // No samples given: the categories written into the graph are judged.
    const verdict = evaluateSecurityGate({ onnx: bytes, features: featuresOf(model), gate: DEFAULT_GATE });
    const personal = check(verdict, 'no-personal-data');
    expect(personal).toMatchObject({ passed: false, value: 1, bound: 0 });
    expect(personal.message).toContain('Feature "buyer" holds personal data: 4 of 4 values');
    expect(verdict.passed).toBe(false);

    const byName = evaluateSecurityGate({
      onnx: bytes,
      features: [
        numeric('thickness_mm'),
        { name: 'customer_email', kind: 'categorical', sampleValues: ['x'] },
      ],
      gate: DEFAULT_GATE,
    });
    expect(check(byName, 'no-personal-data').message).toContain(
      'Feature "customer_email" looks like personal data',
    );
    expect(byName.passed).toBe(false);
  });
});

describe('allow-list entries', () => {
  it('reads plain and domain-qualified operator types', () => {
    expect(allowedOperatorTypes(['Relu', 'ai.onnx.ml.LabelEncoder', 'ai.onnx.Add'])).toEqual([
      { domain: ML_DOMAIN, opType: 'Relu' },
      { domain: '', opType: 'Relu' },
      { domain: ML_DOMAIN, opType: 'LabelEncoder' },
      { domain: '', opType: 'Add' },
    ]);
    expect(allowedOperatorTypes(undefined)).toEqual(EXPORTER_OPERATORS);
  });
});
