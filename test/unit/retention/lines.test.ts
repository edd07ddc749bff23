/**
 * What `kerf gc` prints (one line per decision), who may run it, and the two settings it reads.
 */
import { describe, expect, it } from 'vitest';
import type { Identity } from '../../../access';
import { type ConfigError, loadConfig } from '../../../platform/config';
import { retentionLines, type RetentionReport } from '../../../retention';
import { gcProblem } from '../../../scripts/cli/gcCommand';

const report: RetentionReport = {
  dryRun: true,
  retention: { predictionMonths: 12, gcAfterDays: 30 },
  removed: [
    {
      model: 'cut-time',
      version: 3,
      key: 'models/cut-time/v3/model.onnx',
      bytes: 2048,
      kind: 'version-object',
      why: 'v3 superseded 41 days ago (more than 30)',
    },
  ],
  kept: [
    {
      model: 'cut-time',
      version: 1,
      key: 'snapshots/cut-time/a.arrow',
      why: 'snapshot of v1 kept: v2 uses it too',
    },
  ],
  skipped: [],
  versions: [{ model: 'cut-time', version: 3 }],
  partitions: [
    {
      action: 'drop',
      partition: 'predictions_2024_01',
      from: new Date('2024-01-01T00:00:00Z'),
      to: new Date('2024-02-01T00:00:00Z'),
      rows: 1234,
    },
    {
      action: 'expire',
      partition: 'predictions_default',
      from: null,
      to: new Date('2025-01-05T00:00:00Z'),
      rows: 1,
    },
    {
      action: 'create',
      partition: 'predictions_2026_04',
      from: new Date('2026-04-01T00:00:00Z'),
      to: new Date('2026-05-01T00:00:00Z'),
      rows: 0,
    },
  ],
  staging: [
    {
      key: 'snapshots-staging/cut-time/5f0c.arrow',
      kind: 'open-upload',
      bytes: null,
      why: 'a snapshot upload started 30 hours ago and never completed (more than 24): its ingest stopped',
    },
  ],
};

describe('retentionLines', () => {
  it('says what would go, what stays and why, one line each, with a total', () => {
    expect(retentionLines(report)).toEqual([
      'would drop serving.predictions_2024_01 (2024-01, 1234 rows): the whole month is older than 12 months',
      'would delete 1 row of serving.predictions_default from before 2025-01-05T00:00:00.000Z: older than 12 months',
      'would make serving.predictions_2026_04 (2026-04)',
      'would remove cut-time v3 models/cut-time/v3/model.onnx (2048 bytes): v3 superseded 41 days ago (more than 30)',
      'would remove staging snapshots-staging/cut-time/5f0c.arrow (its parts): a snapshot upload started 30 hours ago and never completed (more than 24): its ingest stopped',
      'kept cut-time v1 snapshots/cut-time/a.arrow: snapshot of v1 kept: v2 uses it too',
      'would remove 1 object (2.0 kB) of 1 version; would drop 1 prediction partition (predictions kept 12 months, rejected and failed versions 30 days)',
    ]);
  });

  it('says what went after a real run', () => {
    const lines = retentionLines({ ...report, dryRun: false, partitions: [] });
    expect(lines[0]).toMatch(/^removed cut-time v3 models\/cut-time\/v3\/model\.onnx \(2048 bytes\): /);
    expect(lines.at(-1)).toMatch(
      /^removed 1 object \(2\.0 kB\) of 1 version; dropped 0 prediction partitions /,
    );
  });
});

function person(roles: Identity['user']['roles'], models: string[]): Identity {
  return {
    user: { name: 'pat', displayName: 'Pat', roles, models, disabledAt: null },
  } as unknown as Identity;
}

describe('who may run kerf gc', () => {
  it('lets an operator collect their model, and only an operator of every model collect everything', () => {
    expect(gcProblem(person(['operator'], ['cut-time']), 'cut-time')).toBeUndefined();
    expect(gcProblem(person(['operator'], ['*']), undefined)).toBeUndefined();
    expect(gcProblem(person(['operator'], ['cut-time']), 'bend-time')).toBe(
      'user pat is a operator of cut-time, not of bend-time',
    );
    expect(gcProblem(person(['operator'], ['cut-time']), undefined)).toBe(
      'user pat is an operator of cut-time, not of every model (*): kerf gc without --model removes objects of every model and drops the prediction log they share; name one of your models with --model',
    );
    expect(gcProblem(person(['reader', 'approver'], ['*']), undefined)).toBe(
      'user pat has roles reader, approver, not operator: only an operator may collect',
    );
  });
});

describe('the retention settings', () => {
  const paths = { dataDir: '/tmp/kerf-data', toolsDir: '/tmp/kerf-tools' };
  const secrets = () => 'secret';

  it('default to 12 months of predictions and 30 days for rejected versions', () => {
    expect(loadConfig({}, paths, secrets).retention).toEqual({ predictionMonths: 12, gcAfterDays: 30 });
    expect(
      loadConfig({ KERF_PREDICTION_RETENTION_MONTHS: '3', KERF_GC_AFTER_DAYS: '7' }, paths, secrets)
        .retention,
    ).toEqual({ predictionMonths: 3, gcAfterDays: 7 });
  });

  it('refuse a malformed value, naming the variable', () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig(env, paths, secrets);
        return [];
      } catch (error) {
        return (error as ConfigError).problems;
      }
    };
    expect(problems({ KERF_PREDICTION_RETENTION_MONTHS: '0' })).toEqual([
      'KERF_PREDICTION_RETENTION_MONTHS must be 1 to 1200 months',
    ]);
    expect(problems({ KERF_GC_AFTER_DAYS: '2.5' })).toEqual([
      'KERF_GC_AFTER_DAYS must be a whole number of days',
    ]);
  });
});
