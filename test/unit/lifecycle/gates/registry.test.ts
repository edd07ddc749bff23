import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { regressionMetrics } from '../../../../ml/metrics';
import { type Gate, checksSection } from '../../../../lifecycle/gates/gate';
import { defineGateRegistry, gateRegistry } from '../../../../lifecycle/gates/registry';
import { verdictOf } from '../../../../lifecycle/gates/verdict';
import { type ModelCardInput, renderModelCard } from '../../../../lifecycle/modelCard';
import { type PipelineSpec } from '../../../../lifecycle/spec';
import { gatesSchema } from '../../../../lifecycle/spec/parts';
import { buildSpec } from '../../../specBuilder';

/**
 * A throw-away gate, registered in this test only: the candidate must be measured on enough test
 * rows. It is what a new gate's module holds: spec part, pure check, card section.
 */
const testRowsFloorSchema = z.strictObject({ minTestRows: z.number().int().positive().default(50) });
const testRowsFloorGate: Gate<'testRowsFloor', typeof testRowsFloorSchema, 'evaluate'> = {
  name: 'testRowsFloor',
  stage: 'evaluate',
  spec: testRowsFloorSchema,
  check: ({ minTestRows }, { metrics }) =>
    verdictOf('testRowsFloor', [
      {
        name: 'test-rows-floor',
        passed: metrics.count >= minTestRows,
        judged: true,
        value: metrics.count,
        bound: minTestRows,
        message: `Measured on ${metrics.count} test rows, ${metrics.count >= minTestRows ? 'at least' : 'fewer than'} ${minTestRows}`,
      },
    ]),
  card: {
    checks: (verdict) => `<section id="test-rows-floor">${checksSection(verdict)}</section>`,
  },
};

const withTestGate = defineGateRegistry([...gateRegistry.gates, testRowsFloorGate]);

const specWith = (gates: Record<string, unknown>): PipelineSpec => buildSpec({ gates });

function evaluateContext(spec: PipelineSpec, rows: number) {
  const y = Array.from({ length: rows }, (_, index) => index);
  const prediction = y.map((value) => value + 0.5);
  return { spec, metrics: regressionMetrics(y, prediction), championMetrics: undefined, y, prediction };
}

function cardInput(verdicts: ModelCardInput['verdicts']): ModelCardInput {
  return {
    model: 'cut-time',
    version: 4,
    description: 'Laser cut time per part.',
    task: 'regression',
    target: 'cut_seconds',
    features: [{ name: 'thickness_mm', kind: 'numeric' }],
    snapshot: { key: 'snapshots/a.parquet', sha256: 'a'.repeat(64), rows: 100 },
    specHash: 'b'.repeat(64),
    codeVersion: 'test',
    training: {
      trainer: 'gbdt',
      loss: 'squared_error',
      rows: { train: 70, validation: 10, test: 20 },
      rowsWithoutTarget: 0,
      iterations: 10,
      iterationsRun: 10,
      featureImportance: [],
      seconds: 1,
    },
    metrics: { rmse: 0.5, count: 20 },
    verdicts,
    slices: [],
    onnx: { key: 'models/cut-time/4.onnx', sha256: 'c'.repeat(64), bytes: 2048 },
    manifest: { key: 'models/cut-time/4.manifest.json', keyId: 'k1' },
    createdAt: '2026-12-05T05:00:00.000Z',
  };
}

describe('the shipped gate registry', () => {
  it('registers quality, fairness and security, each run by its own stage', () => {
    expect(gateRegistry.gates.map((gate) => [gate.name, gate.stage])).toEqual([
      ['quality', 'evaluate'],
      ['fairness', 'fairness'],
      ['security', 'security'],
    ]);
  });

  it("builds the spec's gates schema: every part defaults, no unregistered part is accepted", () => {
    expect(gatesSchema).toBe(gateRegistry.gatesSchema);
    expect(Object.keys(gatesSchema.parse({}))).toEqual(['quality', 'fairness', 'security']);
    expect(gatesSchema.safeParse({ testRowsFloor: {} }).success).toBe(false);
  });

  it('refuses two gates with one name', () => {
    expect(() => defineGateRegistry([...gateRegistry.gates, gateRegistry.gates[0]])).toThrow(
      /two gates share a name/,
    );
  });
});

describe('a new gate through the registry', () => {
  it("is accepted in the spec's gates, with its defaults and its own validation", () => {
    expect(withTestGate.gatesSchema.parse({}).testRowsFloor).toEqual({ minTestRows: 50 });
    expect(withTestGate.gatesSchema.parse({ testRowsFloor: { minTestRows: 10 } }).testRowsFloor).toEqual({
      minTestRows: 10,
    });
    const refused = withTestGate.gatesSchema.safeParse({ testRowsFloor: { minTestRows: -1 } });
    expect(refused.error?.issues[0]?.path).toEqual(['testRowsFloor', 'minTestRows']);
  });

  it('is run by its stage after the gates registered before it, and its failure stops the stage', () => {
    const spec = specWith({ quality: { thresholds: [{ metric: 'rmse', max: 1 }] } });
    const passing = withTestGate.runStage('evaluate', evaluateContext(spec, 60));
    expect(passing.verdicts.map((verdict) => [verdict.gate, verdict.passed])).toEqual([
      ['quality', true],
      ['testRowsFloor', true],
    ]);
    expect(passing.failed).toBeUndefined();

    const failing = withTestGate.runStage('evaluate', evaluateContext(spec, 20));
    expect(failing.failed?.gate).toBe('testRowsFloor');
    expect(failing.failed?.checks[0]?.message).toBe('Measured on 20 test rows, fewer than 50');
    // The spec parsed by the shipped registry has no part for it: the gate's defaults apply.
    expect(failing.failed?.checks[0]?.bound).toBe(50);
    // The shipped registry runs the same stage without it.
    expect(gateRegistry.runStage('evaluate', evaluateContext(spec, 20)).verdicts.map((v) => v.gate)).toEqual([
      'quality',
    ]);
  });

  it("is not run by another stage's activity", () => {
    const spec = specWith({});
    const fairness = withTestGate.runStage('fairness', {
      spec,
      segments: {},
      y: [1, 2],
      prediction: [1, 2],
    });
    expect(fairness.verdicts.map((verdict) => verdict.gate)).toEqual(['fairness']);
    expect(Object.keys(fairness.reports)).toEqual(['overall', 'slices']);
  });

  it('shows its verdict in the model card through its own section', async () => {
    const spec = specWith({});
    const { verdicts } = withTestGate.runStage('evaluate', evaluateContext(spec, 20));
    const html = await renderModelCard(cardInput(verdicts), withTestGate);
    expect(html).toContain(
      '<section id="test-rows-floor"><h3>testRowsFloor gate: <span class="fail">failed</span>',
    );
    expect(html).toContain('Measured on 20 test rows, fewer than 50');
    expect(html.indexOf('quality gate:')).toBeLessThan(html.indexOf('testRowsFloor gate:'));
    // The fairness gate's own section still follows the gates.
    expect(html.indexOf('testRowsFloor gate:')).toBeLessThan(html.indexOf('<h2>Per slice</h2>'));
    // A verdict of a gate the card's registry does not know gets the plain checks table.
    const plain = await renderModelCard(cardInput(verdicts));
    expect(plain).not.toContain('<section id="test-rows-floor">');
    expect(plain).toContain('<h3>testRowsFloor gate: <span class="fail">failed</span></h3>');
  });
});
