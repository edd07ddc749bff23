/**
 * Kerf's log: a terminal line is one line without stack frames (a refusal without the pointer to a
 * trace), the file and the JSON output are parseable lines with the whole record, and Temporal's SDK
 * records land there without showing a refusal or an activity's failure on the terminal.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../platform/config';
import {
  jsonLine,
  type LogOutput,
  type LogRecord,
  oneLine,
  openLog,
  temporalLogger,
  terminalLine,
} from '../../../platform/log';

const at = new Date(2026, 5, 1, 10, 42, 7);

/** A gate's refusal as the evaluate activity throws it, with its stack. */
const gateFailure = () =>
  ApplicationFailure.create({
    type: 'GateFailedError',
    message: 'cut-time v3: quality gate failed: mape 0.0712 above 0.05',
    nonRetryable: true,
  });

/** The terminal's streams, kept. */
function terminal(): { output: LogOutput; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { output: { out: (line) => out.push(line), err: (line) => err.push(line) }, out, err };
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kerf-log-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('terminalLine', () => {
  it('says time, model and version, stage and what happened on one line', () => {
    const record: LogRecord = {
      time: at,
      level: 'info',
      message: 'done in 4.1 s (gbdt, 200 iterations, validation rmse 1.02)',
      model: 'cut-time',
      version: 3,
      stage: 'train',
    };
    expect(terminalLine(record)).toBe(
      '10:42:07  cut-time v3  train      done in 4.1 s (gbdt, 200 iterations, validation rmse 1.02)',
    );
  });

  it('gives a refusal one line with no stack frame and no pointer to a trace', () => {
    const error = gateFailure();
    expect(error.stack).toContain('    at ');
    const line = terminalLine(
      {
        time: at,
        level: 'warn',
        message: 'quality gate failed: mape 0.0712 above 0.05',
        model: 'cut-time',
        version: 3,
        stage: 'evaluate',
        error,
        refusal: true,
      },
      { traceFile: '/data/logs/kerf-worker.log' },
    );
    expect(line).toBe('10:42:07  cut-time v3  evaluate   quality gate failed: mape 0.0712 above 0.05');
    expect(line).not.toContain('\n');
  });

  it('points an unexpected error to the file with its trace, still on one line', () => {
    const error = new Error('connect ECONNREFUSED 127.0.0.1:5433');
    const line = terminalLine(
      { time: at, level: 'warn', message: `attempt 1 failed: ${error.message}`, stage: 'ingest', error },
      { traceFile: '/data/logs/kerf-worker.log' },
    );
    expect(line).toBe(
      '10:42:07  ingest     attempt 1 failed: connect ECONNREFUSED 127.0.0.1:5433 (full trace in /data/logs/kerf-worker.log)',
    );
  });

  it('folds a message that quotes a stack into one line without its frames', () => {
    expect(oneLine('Boom\n    at f (a.ts:1:1)\n    at g (b.ts:2:2)\nsecond part')).toBe('Boom second part');
  });
});

describe('jsonLine', () => {
  it('is parseable, with the ids, stage, model, version and the error with its stack', () => {
    const error = gateFailure();
    const parsed = JSON.parse(
      jsonLine({
        time: at,
        level: 'warn',
        message: 'quality gate failed: mape 0.0712 above 0.05',
        model: 'cut-time',
        version: 3,
        stage: 'evaluate',
        workflowId: 'lifecycle-cut-time-1',
        runId: 'r-1',
        error,
        refusal: true,
        fileOnly: true,
        fields: { taskQueue: 'kerf', big: 12n },
      }),
    ) as Record<string, unknown>;
    expect(parsed).toMatchObject({
      time: at.toISOString(),
      level: 'warn',
      message: 'quality gate failed: mape 0.0712 above 0.05',
      model: 'cut-time',
      version: 3,
      stage: 'evaluate',
      workflowId: 'lifecycle-cut-time-1',
      runId: 'r-1',
      refusal: true,
      taskQueue: 'kerf',
      big: '12',
      error: { name: 'ApplicationFailure', type: 'GateFailedError', nonRetryable: true },
    });
    expect((parsed.error as { stack: string }).stack).toContain('    at ');
    expect(parsed).not.toHaveProperty('fileOnly');
  });

  it('survives cycles and thrown non-errors', () => {
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    const parsed = JSON.parse(
      jsonLine({ time: at, level: 'error', message: 'odd', error: 'a string', fields: { cyclic } }),
    ) as { error: unknown; cyclic: unknown };
    expect(parsed.error).toEqual({ name: 'string', message: 'a string' });
    expect(parsed.cyclic).toEqual({ name: 'loop', self: '[circular]' });
  });
});

describe('openLog', () => {
  it('text: lines on the terminal, refusals on stdout, full JSON records in the file', async () => {
    const file = path.join(dir, 'logs', 'kerf-worker.log');
    const { output, out, err } = terminal();
    const log = openLog({ format: 'text', level: 'info', file, output, now: () => at });
    log.info('done in 4.1 s', { model: 'cut-time', version: 3, stage: 'train' });
    log.warn('quality gate failed: mape 0.0712 above 0.05', {
      model: 'cut-time',
      version: 3,
      stage: 'evaluate',
      error: gateFailure(),
      refusal: true,
    });
    log.warn('attempt 1 failed: boom', { stage: 'ingest', error: new Error('boom') });
    log.info('Activity failed', { fileOnly: true });
    log.debug('not kept at info');
    log.say('  npx kerf approve lifecycle-cut-time-1');
    log.close();
    expect(out).toEqual([
      '10:42:07  cut-time v3  train      done in 4.1 s',
      '10:42:07  cut-time v3  evaluate   quality gate failed: mape 0.0712 above 0.05',
      '  npx kerf approve lifecycle-cut-time-1',
    ]);
    expect(err).toEqual([`10:42:07  ingest     attempt 1 failed: boom (full trace in ${file})`]);
    for (const line of [...out, ...err]) expect(line).not.toMatch(/^\s+at /m);
    const records = (await readFile(file, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records.map((record) => record.message)).toEqual([
      'done in 4.1 s',
      'quality gate failed: mape 0.0712 above 0.05',
      'attempt 1 failed: boom',
      'Activity failed',
      '  npx kerf approve lifecycle-cut-time-1',
    ]);
    expect(records[1]).toMatchObject({ level: 'warn', refusal: true, error: { type: 'GateFailedError' } });
  });

  it('json: every kept record on stdout as a JSON line, the same as the file', async () => {
    const file = path.join(dir, 'kerf-worker.log');
    const { output, out, err } = terminal();
    const log = openLog({ format: 'json', level: 'debug', file, output, now: () => at });
    log.info('done in 4.1 s', { model: 'cut-time', version: 3, stage: 'train' });
    log.debug('Activity completed', { fileOnly: true });
    log.say('Started the cut-time lifecycle');
    log.close();
    expect(err).toEqual([]);
    expect(out.map((line) => (JSON.parse(line) as { message: string }).message)).toEqual([
      'done in 4.1 s',
      'Activity completed',
      'Started the cut-time lifecycle',
    ]);
    expect((await readFile(file, 'utf8')).trim().split('\n')).toEqual(out);
  });

  it('goes on without the file when it cannot be written, saying so once', async () => {
    const { output, out, err } = terminal();
    // A file where the folder should be: the folder cannot be made.
    const blocked = path.join(dir, 'not-a-dir');
    await writeFile(blocked, '');
    const log = openLog({ format: 'text', level: 'info', file: path.join(blocked, 'kerf.log'), output });
    expect(log.file).toBeUndefined();
    log.info('still here');
    expect(err).toHaveLength(1);
    expect(err[0]).toMatch(
      /Cannot write the log file .*not-a-dir\/kerf\.log \(E[A-Z]+\): logging to the terminal only\.$/,
    );
    expect(out.at(-1)).toMatch(/still here$/);
  });
});

describe('temporalLogger', () => {
  it("keeps the SDK's records in the file; the terminal shows its warnings in one line", async () => {
    const file = path.join(dir, 'kerf-worker.log');
    const { output, out, err } = terminal();
    const log = openLog({ format: 'text', level: 'info', file, output, now: () => at });
    const logger = temporalLogger(log, {
      isRefusal: (error) => error instanceof ApplicationFailure && error.nonRetryable === true,
      fileOnly: (event) => event.message === 'Activity failed',
    });
    logger.info('Worker state changed', { state: 'RUNNING', sdkComponent: 'worker' });
    logger.warn('Activity failed', {
      error: new Error('socket hang up'),
      activityType: 'ingestSnapshot',
      workflowId: 'w-1',
      taskToken: 'secret-token',
    });
    logger.warn('Workflow failed', {
      error: gateFailure(),
      workflowId: 'w-1',
      workflowType: 'modelLifecycle',
    });
    logger.error('Worker failed', { error: new Error('lost the connection') });
    log.close();
    // A refusal is one line on standard output, without a trace; a breakdown says where its trace is.
    expect(out).toEqual([
      '10:42:07  Workflow failed: cut-time v3: quality gate failed: mape 0.0712 above 0.05',
    ]);
    expect(err).toEqual([`10:42:07  Worker failed: lost the connection (full trace in ${file})`]);
    const records = (await readFile(file, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records.map((record) => [record.message, record.source])).toEqual([
      ['Worker state changed', 'temporal'],
      ['Activity failed', 'temporal'],
      ['Workflow failed: cut-time v3: quality gate failed: mape 0.0712 above 0.05', 'temporal'],
      ['Worker failed: lost the connection', 'temporal'],
    ]);
    expect(records[1]).toMatchObject({ activity: 'ingestSnapshot', workflowId: 'w-1' });
    expect(records[1]).not.toHaveProperty('taskToken');
    expect(records[2]).toMatchObject({ refusal: true, error: { type: 'GateFailedError' } });
  });
});

describe('the log settings', () => {
  const paths = { dataDir: '/srv/kerf/.data', toolsDir: '/srv/kerf/.tools' };
  const secrets = () => 'secret';
  it('default to text lines, info, and the data folder beside the stack logs', () => {
    expect(loadConfig({}, paths, secrets).log).toEqual({
      format: 'text',
      level: 'info',
      dir: '/srv/kerf/.data/logs',
    });
  });

  it('read KERF_LOG_FORMAT, KERF_LOG_LEVEL and KERF_LOG_DIR, and name a bad one', () => {
    expect(
      loadConfig(
        { KERF_LOG_FORMAT: 'json', KERF_LOG_LEVEL: 'debug', KERF_LOG_DIR: '/var/log/kerf' },
        paths,
        secrets,
      ).log,
    ).toEqual({ format: 'json', level: 'debug', dir: '/var/log/kerf' });
    expect(() => loadConfig({ KERF_LOG_FORMAT: 'yaml' }, paths, secrets)).toThrow(ConfigError);
    expect(() => loadConfig({ KERF_LOG_FORMAT: 'yaml' }, paths, secrets)).toThrow(
      /KERF_LOG_FORMAT must be text/,
    );
    expect(() => loadConfig({ KERF_LOG_LEVEL: 'loud' }, paths, secrets)).toThrow(
      /KERF_LOG_LEVEL must be one of/,
    );
  });
});
