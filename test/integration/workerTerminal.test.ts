/**
 * What a person reads on `kerf worker`'s terminal: a real worker process on the shared stack hosts
 * two lifecycles, one stopped by its quality gate and one a person approves after a refused code.
 * Its standard output has one line per stage and per decision, the gate's failure in one line
 * without a stack frame, and no Temporal warning; the log file under KERF_LOG_DIR holds the full
 * JSON records (run ids, stage, model, version, the error with its stack).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, type Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePipelineSpec, type PipelineSpec } from '../../lifecycle/spec';
import type { KerfConfig } from '../../platform/config';
import { connectTemporalClient } from '../../platform/temporalConnection';
import { generateShop } from '../../shop/load';
import { type LifecycleHandle, startLifecycle, waitForStage } from '../../workflows/client/lifecycleRuns';
import { nightlyScheduleId } from '../../workflows/client/schedules';
import { LOG_FILES } from '../../workers/terminal';
import { createOwnDatabase, type OwnDatabase, testConfig, uniqueName } from '../helpers';
import { startWorkerProcess, type WorkerProcess } from '../lifecycleProcesses';
import { addTestPeople, runFailureOf, signalWithCode } from '../lifecycleTestbed';
import { shippedSpecInput, specInput, uniqueSpecName } from '../specBuilder';
import { trustWorkerSigningKey } from '../trustedKeys';

let db: OwnDatabase;
let config: KerfConfig;
let keys: Record<string, string>;
let logDir: string;
let taskQueue: string;
let worker: WorkerProcess | undefined;
let connection: Connection | undefined;
let client: Client;
const models: string[] = [];

beforeAll(async () => {
  db = await createOwnDatabase('terminal');
  await generateShop(db.ownerPool, { jobs: 3000, seed: 5 });
  keys = await addTestPeople(db.pool);
  config = testConfig(db.env);
  await trustWorkerSigningKey(db.ownerPool, config);
  logDir = await mkdtemp(path.join(os.tmpdir(), 'kerf-terminal-logs-'));
  taskQueue = uniqueName('terminal');
  worker = await startWorkerProcess({ ...db.env, TEMPORAL_TASK_QUEUE: taskQueue, KERF_LOG_DIR: logDir });
  connection = await connectTemporalClient(config.temporal);
  client = new Client({ connection, namespace: config.temporal.namespace });
});

afterAll(async () => {
  await worker?.kill('SIGTERM');
  // Deploys set nightly schedules on the shared server: take this test's away.
  for (const model of models) {
    await client.schedule
      .getHandle(nightlyScheduleId(model))
      .delete()
      .catch(() => undefined);
  }
  await connection?.close();
  await db.drop();
  await rm(logDir, { recursive: true, force: true });
});

/** What the worker printed so far, standard output and error. */
function printed(): string {
  if (!worker) throw new Error('the worker did not start');
  return worker.output();
}

/** The stages of a cut-time run up to its quality gate, a line each (the spec derives features). */
const TO_EVALUATION = ['ingest', 'validate', 'register', 'features', 'train', 'evaluate'];

/** The shipped cut-time spec under a name of this test's own, trained briefly, without tuning. */
function cutTime(overrides: Record<string, unknown> = {}): PipelineSpec {
  const spec = parsePipelineSpec(
    specInput(
      // No tuning, should the shipped spec get some: the stage lists below are a plain run's.
      {
        name: uniqueSpecName('cut-time'),
        trainer: { params: { iterations: 60 } },
        tuning: undefined,
        ...overrides,
      },
      shippedSpecInput('cut-time'),
    ),
  );
  models.push(spec.name);
  return spec;
}

function start(spec: PipelineSpec): Promise<LifecycleHandle> {
  return startLifecycle(client, config, spec, {
    startedBy: 'planner-bot',
    taskQueue,
    approvalDeadlineMs: 600_000,
    rollbackWindowMs: 1,
  });
}

/** The worker's standard output lines about `model`, as `[stage, text]` (the subject column dropped). */
function linesOf(model: string): { line: string; stage: string; text: string }[] {
  const pattern = new RegExp(`^\\d\\d:\\d\\d:\\d\\d {2}${model}(?: v\\d+)? {2}(\\S+) +(.*)$`);
  return printed()
    .split('\n')
    .flatMap((line) => {
      const match = pattern.exec(line);
      return match ? [{ line, stage: match[1] ?? '', text: match[2] ?? '' }] : [];
    });
}

/** Waits until the worker has printed a line about `model` that `accept` takes. */
async function waitForLine(
  model: string,
  accept: (text: string) => boolean,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!linesOf(model).some((line) => accept(line.text))) {
    if (Date.now() > deadline) throw new Error(`no such line about ${model}; output:\n${printed()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * The JSON records of the worker's log file about one run, once `until` holds for them (the SDK's
 * records reach the file a moment after Kerf's own).
 */
async function fileRecords(
  workflowId: string,
  until: (records: Record<string, unknown>[]) => boolean,
): Promise<Record<string, unknown>[]> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const text = await readFile(path.join(logDir, LOG_FILES.worker), 'utf8');
    // Every line of the file is one JSON record.
    const records = text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((record) => record.workflowId === workflowId);
    if (until(records)) return records;
    if (Date.now() > deadline) return records;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('kerf worker on the terminal', () => {
  it('prints a line per stage, the failed gate in one line, and keeps the full records in the file', async () => {
    // Nothing trains to a 0.01 % error: the quality gate stops the run.
    const strict = cutTime({ gates: { quality: { thresholds: [{ metric: 'mape', max: 0.0001 }] } } });
    const handle = await start(strict);
    const failure = await runFailureOf(handle.result());
    expect(failure.type).toBe('GateFailedError');
    await waitForLine(strict.name, (text) => text.startsWith('quality gate failed'));

    const lines = linesOf(strict.name);
    expect(lines.map((line) => line.stage)).toEqual(TO_EVALUATION);
    expect(lines[0]?.text).toMatch(/^done in [\d.]+ m?s \(\d[\d,]* rows, snapshot [0-9a-f]{8}\)$/);
    expect(lines[2]?.line).toContain(`${strict.name} v1  register`);
    expect(lines[4]?.text).toMatch(/^done in [\d.]+ m?s \(gbdt, \d+ iterations, validation rmse [\d.]+\)$/);
    expect(lines[5]?.text).toMatch(/^quality gate failed: .*mape.*$/i);

    // No stack frame, no Temporal warning or JSON anywhere on the terminal.
    const output = printed();
    expect(output).not.toMatch(/^\s+at /m);
    expect(output).not.toContain('Activity failed');
    expect(output).not.toContain('Workflow failed');
    expect(output).not.toMatch(/^\s*\{/m);

    const records = await fileRecords(handle.workflowId, (found) =>
      found.some((record) => record.source === 'temporal' && record.stage === 'failed'),
    );
    const refusal = records.find((record) => record.stage === 'evaluate' && record.refusal === true);
    expect(refusal).toMatchObject({
      level: 'warn',
      model: strict.name,
      version: 1,
      activity: 'evaluateCandidate',
      workflowType: 'modelLifecycle',
      error: { name: 'ApplicationFailure', type: 'GateFailedError', nonRetryable: true },
    });
    expect(typeof refusal?.runId).toBe('string');
    expect(String((refusal?.error as { stack?: string }).stack)).toContain('    at ');
    // The SDK's own records are there too, with the run's model and stage.
    expect(records).toContainEqual(
      expect.objectContaining({
        message: 'Activity failed',
        source: 'temporal',
        stage: 'evaluate',
        model: strict.name,
      }),
    );
    // The run's own failure, which the stage line said on the terminal, is in the file only.
    const stopped = records.find((record) => record.source === 'temporal' && record.stage === 'failed');
    expect(stopped).toMatchObject({ level: 'warn', refusal: true, model: strict.name, version: 1 });
    expect(stopped?.message).toBe(`run stopped: ${lines[5]?.text ?? ''}`);
    expect(output).not.toMatch(/run (stopped|failed)/);
    const training = records.find((record) => record.stage === 'train');
    expect(training).toMatchObject({ level: 'info', version: 1, activity: 'trainModel' });
    expect(typeof training?.durationMs).toBe('number');
  });

  it('prints the wait for approval, a refused decision, the approval and the deploy', async () => {
    const spec = cutTime();
    const handle = await start(spec);
    await waitForStage(handle, 'awaiting-approval', { timeoutMs: 180_000 });
    await waitForLine(spec.name, (text) => text.startsWith('by production-planner'));
    await handle.signal('approve', { code: 'kc_not-a-code', comment: 'let me in' });
    await waitForLine(spec.name, (text) => text.startsWith('decision refused'));
    await signalWithCode(db.pool, keys, handle, 'shop-manager', 'approve', 'checked the card');
    expect(await handle.result()).toMatchObject({ outcome: 'deployed', version: 1 });
    await waitForLine(spec.name, (text) => text.startsWith('deployed in'));

    const lines = linesOf(spec.name);
    expect(lines.map((line) => line.stage)).toEqual([
      ...TO_EVALUATION,
      'fairness',
      'security',
      'awaiting-approval',
      'awaiting-approval',
      'awaiting-approval',
      'deploy',
    ]);
    const texts = lines.map((line) => line.text);
    expect(texts[5]).toMatch(/^quality gate passed \(test .*\)$/);
    expect(texts[6]).toBe('fairness gate passed');
    expect(texts[7]).toMatch(/^security gate passed, manifest signed, model card models\/.*\/card\.html$/);
    expect(texts[8]).toMatch(/^by production-planner, shop-manager until \d{4}-\d\d-\d\d \d\d:\d\d$/);
    expect(texts[9]).toMatch(/^decision refused \(signal from unauthenticated\): /);
    expect(texts[10]).toBe('approved by shop-manager: "checked the card"');
    expect(texts[11]).toMatch(/^deployed in [\d.]+ m?s: production is version 1$/);
    expect(printed()).not.toMatch(/^\s+at /m);
  });
});
