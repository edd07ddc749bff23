import { describe, expect, it } from 'vitest';
import {
  changedFields,
  MODEL_FIELDS,
  modelHash,
  parsePipelineSpec,
  REVISION_FIELDS,
  specHash,
  specObjectSchema,
} from '../../../../lifecycle/spec';
import { shippedSpecInput } from '../../../specBuilder';

const cutTime = () => parsePipelineSpec(shippedSpecInput('cut-time.json'));

describe('the model hash', () => {
  it('classifies every spec field as one that makes the model or one that is revised', () => {
    const classified = [...MODEL_FIELDS, ...REVISION_FIELDS].sort();
    // A field added to the spec must be put in one list (an unclassified one is hashed anyway).
    for (const field of Object.keys(specObjectSchema.shape)) expect(classified).toContain(field);
    expect(new Set(classified).size).toBe(classified.length);
  });

  it('ignores the fields that do not change the model, and follows every one that does', () => {
    const spec = cutTime();
    const revised = parsePipelineSpec({
      ...spec,
      description: 'another description',
      segments: ['shift'],
      gates: { ...spec.gates, fairness: { ...spec.gates.fairness, maxErrorRatio: 5 } },
      approval: { ...spec.approval, approvers: ['shop-manager'] },
      deploy: { strategy: 'canary', canaryShare: 0.1 },
      monitoring: { ...spec.monitoring, psiAlarm: 0.3 },
    });
    expect(specHash(revised)).not.toBe(specHash(spec));
    expect(modelHash(revised)).toBe(modelHash(spec));
    expect(changedFields(spec, revised)).toEqual([
      'description',
      'segments',
      'gates',
      'approval',
      'deploy',
      'monitoring',
    ]);

    const changes = [
      { trainer: { ...spec.trainer, params: { ...spec.trainer.params, iterations: 401 } } },
      { features: spec.features.slice(1) },
      { split: { ...spec.split, testFraction: 0.25 } },
      { target: 'quantity' },
      { derived: [] },
      { timeColumn: undefined },
    ];
    for (const change of changes) {
      const changed = { ...spec, ...change };
      expect(modelHash(changed as typeof spec), Object.keys(change)[0]).not.toBe(modelHash(spec));
    }
  });
});
