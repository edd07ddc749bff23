/**
 * The worker's stage lines: what each finished stage, decision and refusal says, worked out from an
 * activity's input and result, and the interceptor that writes them around a real activity call
 * (Temporal's MockActivityEnvironment), the SDK's own records going to the file only.
 */
import { ActivityFailure, ApplicationFailure, RetryState } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import { type KerfLog, type LogEvent, type LogOutput, openLog, temporalLogger } from '../../../platform/log';
import { snapshotRecordKey } from '../../../registry/artifactKeys';
import {
  describeCompletion,
  describeFailure,
  duration,
  pipelineOfSnapshotRecord,
  subjectOf,
} from '../../../workers/stageLines';
import { isExpectedRefusal } from '../../../workers/refusals';
import { RunSubjects, sdkRecordDescriber, stageLineInterceptors } from '../../../workers/terminal';

const gateFailure = () =>
  ApplicationFailure.create({
    type: 'GateFailedError',
    message: 'cut-time v3: quality gate failed: mape 0.0712 above 0.05',
    nonRetryable: true,
  });

const passed = (gate: string) => ({ gate, passed: true, checks: [] });

describe('describeCompletion', () => {
  it('says what training made', () => {
    const [line] = describeCompletion('trainModel', {
      input: { version: 3 },
      result: {
        summary: { trainer: 'gbdt', iterations: 200, loss: 'squared_error', validationLoss: 1.0404 },
      },
      seconds: 4.123,
    });
    expect(line).toEqual({
      stage: 'train',
      text: 'done in 4.1 s (gbdt, 200 iterations, validation rmse 1.02)',
    });
  });

  it('names the gates and the metrics people read at evaluation', () => {
    const [line] = describeCompletion('evaluateCandidate', {
      input: {},
      result: {
        metrics: { count: 900, rmse: 1.0512, mape: 0.0712, r2: 0.951, mapeIgnored: 0 },
        verdict: passed('quality'),
        champion: { version: 2, comparable: true },
      },
      seconds: 1,
    });
    expect(line).toEqual({
      stage: 'evaluate',
      text: 'quality gate passed (test rmse 1.05, mape 0.0712, r2 0.951; champion v2)',
    });
  });

  it('says who is asked, who decided and what was deployed', () => {
    const asked = describeCompletion('announce', {
      input: {
        event: 'approval-requested',
        model: 'cut-time',
        version: 3,
        approvers: ['shop-manager', 'energy-engineer'],
        deadlineAt: new Date(2026, 5, 4, 10, 42, 7).toISOString(),
      },
      result: { delivered: 0, failed: 0 },
      seconds: 0.1,
    });
    expect(asked).toEqual([
      {
        stage: 'awaiting-approval',
        text: 'by shop-manager, energy-engineer until 2026-06-04 10:42',
      },
    ]);
    expect(
      describeCompletion('recordDecision', {
        input: {
          decision: 'approved',
          approver: 'shop-manager',
          comment: 'checked the card',
          expired: false,
        },
        result: undefined,
        seconds: 0.01,
      }),
    ).toEqual([{ stage: 'awaiting-approval', text: 'approved by shop-manager: "checked the card"' }]);
    expect(
      describeCompletion('recordDecision', {
        input: {
          decision: 'rejected',
          approver: 'kerf',
          comment: 'nobody decided within 72h',
          expired: true,
        },
        result: undefined,
        seconds: 0.01,
      }),
    ).toEqual([{ stage: 'awaiting-approval', text: 'rejected: nobody decided within 72h' }]);
    expect(
      describeCompletion('deployVersion', {
        input: { version: 3 },
        result: { alias: 'production', version: 3 },
        seconds: 0.3,
      }),
    ).toEqual([{ stage: 'deploy', text: 'deployed in 300 ms: production is version 3' }]);
  });

  it('gives each refused decision a line of its own, as a refusal', () => {
    const lines = describeCompletion('checkDecisions', {
      input: {},
      result: {
        refusals: [{ index: 0, actor: 'unauthenticated', reason: 'the code is not valid', via: 'signal' }],
        accepted: { index: 1, action: 'approve', user: 'shop-manager' },
      },
      seconds: 0.02,
    });
    expect(lines).toEqual([
      {
        stage: 'awaiting-approval',
        text: 'decision refused (signal from unauthenticated): the code is not valid',
        level: 'warn',
        refusal: true,
      },
      { stage: 'awaiting-approval', text: 'approve code of shop-manager accepted', fileOnly: true },
    ]);
  });

  it('tells a model already made from the same spec and data apart from a new version', () => {
    const call = (runId: string, created: boolean) =>
      describeCompletion('registerVersion', {
        input: {},
        result: { version: 3, created, status: 'deployed', runId },
        seconds: 0.05,
        workflowId: 'run-b',
      });
    expect(call('run-b', true)).toEqual([{ stage: 'register', text: 'version 3 registered in 50 ms' }]);
    expect(call('run-a', false)).toEqual([
      {
        stage: 'unchanged',
        text: 'version 3 was already made from this spec and data (status deployed, run run-a)',
      },
    ]);
  });

  it("keeps an activity that is no stage's to the file", () => {
    expect(describeCompletion('recordSmokeCheck', { input: {}, result: {}, seconds: 0.2 })).toEqual([
      { stage: undefined, text: 'recordSmokeCheck done in 200 ms', fileOnly: true },
    ]);
  });

  it('says the nightly check in a line', () => {
    expect(
      describeCompletion('checkProductionModel', {
        input: { model: 'cut-time' },
        result: {
          model: 'cut-time',
          version: 3,
          predictions: 1234,
          labelled: 456,
          alarms: [],
          stale: false,
          staleReasons: [],
        },
        seconds: 2.5,
      }),
    ).toEqual([
      { stage: 'monitor', text: 'checked in 2.5 s (1,234 predictions, 456 with outcomes): no alarm' },
    ]);
  });
});

describe('refusals', () => {
  it('are typed non-retryable ApplicationFailures, also under an ActivityFailure', () => {
    expect(isExpectedRefusal(gateFailure())).toBe(true);
    const wrapped = new ActivityFailure(
      'Activity task failed',
      'evaluateCandidate',
      '1',
      RetryState.NON_RETRYABLE_FAILURE,
      undefined,
      gateFailure(),
    );
    expect(isExpectedRefusal(wrapped)).toBe(true);
    expect(isExpectedRefusal(new Error('ECONNRESET'))).toBe(false);
    expect(isExpectedRefusal(ApplicationFailure.create({ message: 'retry me' }))).toBe(false);
  });

  it("read as the failure's own words, without the model the line already names", () => {
    expect(
      describeFailure('evaluateCandidate', gateFailure(), {
        attempt: 1,
        subject: { model: 'cut-time', version: 3 },
      }),
    ).toEqual({
      stage: 'evaluate',
      text: 'quality gate failed: mape 0.0712 above 0.05',
      level: 'warn',
      refusal: true,
    });
    expect(
      describeFailure('ingestSnapshot', new Error('connect ECONNREFUSED'), { attempt: 2, subject: {} }),
    ).toEqual({
      stage: 'ingest',
      text: 'ingestSnapshot attempt 2 failed: connect ECONNREFUSED',
      level: 'warn',
    });
  });
});

describe('subjects', () => {
  it("read the pipeline from a snapshot's record key, as the registry writes it", () => {
    expect(pipelineOfSnapshotRecord(snapshotRecordKey('cut-time-t1a2b3c4', 'ab12'))).toBe(
      'cut-time-t1a2b3c4',
    );
    expect(pipelineOfSnapshotRecord('models/cut-time/v3/model.json')).toBeUndefined();
    expect(
      subjectOf('trainModel', {
        specHash: 'f00',
        version: 3,
        snapshot: { recordKey: snapshotRecordKey('cut-time', 'ab12') },
      }),
    ).toEqual({ model: 'cut-time', version: 3 });
    expect(subjectOf('registerVersion', { specHash: 'f00' }, { version: 4, created: true })).toEqual({
      version: 4,
    });
  });

  it('are remembered per run, the oldest forgotten first', () => {
    const runs = new RunSubjects();
    runs.note('run-1', { model: 'cut-time' });
    expect(runs.note('run-1', { version: 3 })).toEqual({ model: 'cut-time', version: 3 });
    expect(runs.get('run-2')).toEqual({});
    for (let index = 0; index < 1000; index++) runs.note(`other-${index}`, { model: 'x' });
    expect(runs.get('run-1')).toEqual({});
  });

  it('show durations people read', () => {
    expect([duration(0.25), duration(4.123), duration(42.4)]).toEqual(['250 ms', '4.1 s', '42 s']);
  });
});

describe('stageLineInterceptors around a real activity call', () => {
  function setup() {
    const out: string[] = [];
    const err: string[] = [];
    const records: LogEvent[] = [];
    const output: LogOutput = { out: (line) => out.push(line), err: (line) => err.push(line) };
    const terminal = openLog({
      format: 'text',
      level: 'debug',
      output,
      now: () => new Date(2026, 5, 1, 10, 42, 7),
    });
    // The same log, keeping each record as written.
    const log: KerfLog = {
      ...terminal,
      write: (event) => {
        records.push(event);
        terminal.write(event);
      },
    };
    const runs = new RunSubjects();
    runs.note('lifecycle-cut-time-1', { model: 'cut-time', version: 3 });
    const environment = (activityType: string) =>
      new MockActivityEnvironment(
        {
          activityType,
          attempt: 1,
          workflowType: 'modelLifecycle',
          workflowExecution: { workflowId: 'lifecycle-cut-time-1', runId: 'r-1' },
        },
        {
          interceptors: [stageLineInterceptors(log, runs)],
          logger: temporalLogger(log, {
            isRefusal: isExpectedRefusal,
            fileOnly: (event) => event.message === 'Activity failed',
          }),
        },
      );
    return { out, err, records, environment };
  }

  it('writes the stage line of a finished activity, with the run the worker remembered', async () => {
    const { out, err, records, environment } = setup();
    await environment('trainModel').run(() =>
      Promise.resolve({
        summary: { trainer: 'gbdt', iterations: 200, loss: 'squared_error', validationLoss: 1.0404 },
      }),
    );
    expect(err).toEqual([]);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(
      /^10:42:07 {2}cut-time v3 {2}train {6}done in \d+ ms \(gbdt, 200 iterations, validation rmse 1\.02\)$/,
    );
    expect(records.find((record) => record.stage === 'train')).toMatchObject({
      workflowId: 'lifecycle-cut-time-1',
      runId: 'r-1',
      activity: 'trainModel',
      model: 'cut-time',
      version: 3,
    });
  });

  it("gives a failed gate one line, and the SDK's warning with its stack only to the file", async () => {
    const { out, err, records, environment } = setup();
    await expect(
      environment('evaluateCandidate').run(() => {
        throw gateFailure();
      }),
    ).rejects.toThrow(/quality gate failed/);
    expect(err).toEqual([]);
    expect(out).toEqual(['10:42:07  cut-time v3  evaluate   quality gate failed: mape 0.0712 above 0.05']);
    const sdk = records.find((record) => record.message === 'Activity failed');
    expect(sdk).toMatchObject({ source: 'temporal', fileOnly: true, refusal: true, stage: 'evaluate' });
    expect((sdk?.error as Error).stack).toContain('    at ');
  });

  it('shows an unexpected failure in one line and keeps its trace for the file', async () => {
    const { out, err, records, environment } = setup();
    await expect(
      environment('ingestSnapshot').run(() => {
        throw new Error('connect ECONNREFUSED 127.0.0.1:5433');
      }),
    ).rejects.toThrow(/ECONNREFUSED/);
    expect(out).toEqual([]);
    expect(err).toEqual([
      '10:42:07  cut-time v3  ingest     ingestSnapshot attempt 1 failed: connect ECONNREFUSED 127.0.0.1:5433',
    ]);
    expect(records.some((record) => record.message === 'Activity failed' && record.fileOnly)).toBe(true);
  });
});

describe("a run's failure, as the workflow thread hands it over", () => {
  /** What `Workflow failed` carries: the error after a structured clone (name, message, stack, cause). */
  const crossed = (cause: Error) =>
    structuredClone(
      new ActivityFailure(
        'Activity task failed',
        'evaluateCandidate',
        '1',
        RetryState.NON_RETRYABLE_FAILURE,
        undefined,
        cause,
      ),
    );
  const failed = (error: unknown): LogEvent => ({
    level: 'warn',
    message: 'Workflow failed',
    source: 'temporal',
    workflowId: 'lifecycle-cut-time-1',
    error,
  });

  it('is said once: not again after its stage line said it here', () => {
    const runs = new RunSubjects();
    runs.note('lifecycle-cut-time-1', { model: 'cut-time', version: 3 });
    runs.noteRefusal('lifecycle-cut-time-1', gateFailure().message);
    expect(sdkRecordDescriber(runs)(failed(crossed(gateFailure())))).toMatchObject({
      model: 'cut-time',
      version: 3,
      stage: 'failed',
      message: 'run stopped: quality gate failed: mape 0.0712 above 0.05',
      refusal: true,
      fileOnly: true,
    });
  });

  it('is a refusal line on a worker that only hosts the workflow, a breakdown otherwise', () => {
    const runs = new RunSubjects();
    runs.note('lifecycle-cut-time-1', { model: 'cut-time', version: 3 });
    const stopped = sdkRecordDescriber(runs)(failed(crossed(gateFailure())));
    expect(stopped).toMatchObject({ stage: 'failed', refusal: true });
    expect(stopped.fileOnly).toBeUndefined();
    const broke = sdkRecordDescriber(runs)(failed(crossed(new Error('connect ECONNREFUSED 127.0.0.1:7070'))));
    expect(broke).toMatchObject({
      stage: 'failed',
      message: 'run failed: connect ECONNREFUSED 127.0.0.1:7070',
    });
    expect(broke.refusal).toBeUndefined();
  });
});
