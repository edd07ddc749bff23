/**
 * The session options Kerf scores with: its config entries under the caller's options, which win.
 */
import { describe, expect, it } from 'vitest';
import { SCORING_SESSION_CONFIG, scoringSessionOptions } from '../../../ml/onnx';

describe('scoringSessionOptions', () => {
  it("adds Kerf's config entries (intra-op threads that do not spin) to the caller's options", () => {
    expect(SCORING_SESSION_CONFIG).toEqual({ 'intra_op.allow_spinning': '0' });
    expect(scoringSessionOptions({ intraOpNumThreads: 2 })).toEqual({
      intraOpNumThreads: 2,
      extra: { session: { 'intra_op.allow_spinning': '0' } },
    });
  });

  it("keeps the caller's own entries, and lets them win", () => {
    expect(
      scoringSessionOptions({
        extra: { session: { 'intra_op.allow_spinning': '1', set_denormal_as_zero: '1' }, other: 'x' },
      }),
    ).toEqual({
      extra: { session: { 'intra_op.allow_spinning': '1', set_denormal_as_zero: '1' }, other: 'x' },
    });
  });
});
