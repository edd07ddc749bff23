/** The spec's `deploy` part: the canary's bound and the shadow's tolerance, checked and no part of the model. */
import { describe, expect, it } from 'vitest';
import {
  changedFields,
  DEPLOY_REVISION_FIELDS,
  deploySchema,
  modelHash,
  parsePipelineSpec,
  specHash,
} from '../../../../lifecycle/spec';
import { specInput, specProblems } from '../../../specBuilder';

const canary = { strategy: 'canary', canaryShare: 0.1 };

describe('the deploy part of a spec', () => {
  it('takes a canary bound and a shadow tolerance, without defaults written into the spec', () => {
    const bounded = parsePipelineSpec(
      specInput({ deploy: { ...canary, canaryMaxErrorRatio: 1.5, canaryMinOutcomes: 200 } }),
    );
    expect(bounded.deploy).toEqual({ ...canary, canaryMaxErrorRatio: 1.5, canaryMinOutcomes: 200 });
    // Left out, the nightly check's defaults apply (DEFAULT_CANARY_BOUND): older specs hash as before.
    expect(parsePipelineSpec(specInput({ deploy: canary })).deploy).toEqual(canary);
    expect(
      parsePipelineSpec(specInput({ deploy: { strategy: 'shadow', shadowTolerance: 0.05 } })).deploy,
    ).toEqual({
      strategy: 'shadow',
      shadowTolerance: 0.05,
    });
  });

  it('refuses what the nightly check could not use, naming the field', () => {
    const problems = (deploy: Record<string, unknown>) => specProblems(specInput({ deploy }));
    expect(problems({ ...canary, canaryMaxErrorRatio: 0.9, canaryMinOutcomes: 2.5 })).toEqual([
      'deploy.canaryMaxErrorRatio: must be >= 1',
      'deploy.canaryMinOutcomes: must be an integer >= 1',
    ]);
    expect(problems({ ...canary, canaryMaxErrorRatio: '1.5', canaryMinOutcomes: 0 })).toEqual([
      'deploy.canaryMaxErrorRatio: must be a number',
      'deploy.canaryMinOutcomes: must be an integer >= 1',
    ]);
    expect(problems({ strategy: 'shadow', shadowTolerance: 0 })).toEqual([
      'deploy.shadowTolerance: must be > 0',
    ]);
    expect(problems({ strategy: 'replace', canaryMaxErrorRatio: 2, shadowTolerance: 0.1 })).toEqual([
      'deploy.canaryMaxErrorRatio: only applies to the canary strategy, not replace',
      'deploy.shadowTolerance: only applies to the shadow strategy, not replace',
    ]);
    expect(problems({ strategy: 'shadow', canaryMinOutcomes: 50 })).toEqual([
      'deploy.canaryMinOutcomes: only applies to the canary strategy, not shadow',
    ]);
    expect(problems({ ...canary, __proto__: { canaryMaxErrorRatio: 9 }, canaryTypo: 1 })).toEqual([
      'deploy.canaryTypo: unknown key; allowed keys: strategy, canaryShare, canaryMaxErrorRatio, canaryMinOutcomes, shadowTolerance',
    ]);
  });

  it('classifies every deploy field as a revision: editing the bound makes no new version', () => {
    expect(Object.keys(deploySchema.shape).sort()).toEqual([...DEPLOY_REVISION_FIELDS].sort());
    const before = parsePipelineSpec(specInput({ deploy: canary }));
    const after = parsePipelineSpec(
      specInput({ deploy: { ...canary, canaryMaxErrorRatio: 1.1, canaryMinOutcomes: 30 } }),
    );
    expect(modelHash(after)).toBe(modelHash(before));
    expect(specHash(after)).not.toBe(specHash(before));
    expect(changedFields(before, after)).toEqual(['deploy']);
  });
});
