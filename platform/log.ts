/**
 * Kerf's log for long-running processes (`kerf worker`, `npm start`): a line a person reads on the
 * terminal for each thing that happened, and the full structured record (JSON lines) in a file, and
 * on standard output instead of the lines when configured for a log collector (KERF_LOG_FORMAT=json).
 * Temporal's SDK logs through it too (`temporalLogger`), so its records land in the same file.
 */
import { closeSync, mkdirSync, openSync, renameSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { Logger, LogLevel as TemporalLevel, LogMetadata } from '@temporalio/common';
import type { LogConfig } from './config';

export type LogLevel = LogConfig['level'];

const SEVERITY: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Something that happened, as a caller hands it to the log. */
export interface LogEvent {
  level: LogLevel;
  /** What happened, in plain words: the terminal shows it as it is. */
  message: string;
  /** The model (pipeline) it is about. */
  model?: string;
  version?: number;
  /** The lifecycle stage (`LifecycleStage`), or `monitor` and `score` for the nightly check and batch scoring. */
  stage?: string;
  workflowId?: string;
  runId?: string;
  workflowType?: string;
  activity?: string;
  attempt?: number;
  durationMs?: number;
  /** Where the record comes from: Kerf's own code, or Temporal's SDK. @default 'kerf' */
  source?: 'kerf' | 'temporal';
  /** The error, kept whole in the file (name, message, type, stack, causes). */
  error?: unknown;
  /**
   * An expected refusal (a failed gate, a refused decision or input, a stopping error): one line on
   * the terminal, without the pointer to a trace, since there is none worth reading.
   */
  refusal?: boolean;
  /** Only for the file (and JSON output): detail a person at the terminal does not need. */
  fileOnly?: boolean;
  /** Anything else worth keeping in the file. */
  fields?: Record<string, unknown>;
}

/** What a record says besides its level and message. */
export type LogContext = Omit<LogEvent, 'level' | 'message'>;

/** An event with its time: what the formatters take. */
export interface LogRecord extends LogEvent {
  time: Date;
}

/** An error as the file keeps it. */
export interface ErrorRecord {
  name: string;
  message: string;
  /** An ApplicationFailure's type (`GateFailedError`, ...). */
  type?: string;
  nonRetryable?: boolean;
  stack?: string;
  cause?: ErrorRecord;
}

/** `HH:MM:SS` in local time: the terminal's clock. */
function clock(time: Date): string {
  const two = (value: number) => String(value).padStart(2, '0');
  return `${two(time.getHours())}:${two(time.getMinutes())}:${two(time.getSeconds())}`;
}

/** Width of the stage column: the longest pipeline stage name (`features`, `security`...) and one. */
const STAGE_WIDTH = 9;

/**
 * A message as one terminal line: stack frames (`    at ...`) dropped, the rest joined, so an
 * error message that quotes a trace still takes one line.
 */
export function oneLine(text: string): string {
  return text
    .split(/\r?\n/)
    .filter((line) => !/^\s+at\s/.test(line))
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .join(' ');
}

/**
 * The terminal line of a record: `10:42:07  cut-time v3  train      done in 4.1 s (...)`. An
 * unexpected error adds where its full trace is; a refusal does not. Never more than one line.
 *
 * @param options.traceFile the log file, named after an unexpected error
 */
export function terminalLine(record: LogRecord, options: { traceFile?: string } = {}): string {
  const parts = [clock(record.time)];
  if (record.model !== undefined) {
    parts.push(record.version === undefined ? record.model : `${record.model} v${record.version}`);
  }
  let text = oneLine(record.message);
  if (record.stage !== undefined) text = `${record.stage.padEnd(STAGE_WIDTH)}  ${text}`;
  if (record.error !== undefined && !record.refusal && options.traceFile) {
    text = `${text} (full trace in ${options.traceFile})`;
  }
  parts.push(text);
  return parts.join('  ');
}

/** A property of an unknown value, without trusting its shape. */
function property(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[name] : undefined;
}

/** Any thrown value as text: what a string or number says, an object as JSON. */
function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  if (typeof value === 'symbol') return value.toString();
  if (typeof value === 'function') return `[function ${value.name}]`;
  try {
    // undefined for undefined itself, whatever the declared type says.
    const json = JSON.stringify(value) as string | undefined;
    return json ?? 'undefined';
  } catch {
    return '[unprintable]';
  }
}

/** An error (and its causes, a few deep) as plain JSON; anything else thrown becomes its text. */
export function errorRecord(error: unknown, depth = 0): ErrorRecord | undefined {
  if (error === undefined || error === null) return undefined;
  if (typeof error !== 'object') return { name: typeof error, message: textOf(error) };
  const name = property(error, 'name');
  const message = property(error, 'message');
  const type = property(error, 'type');
  const nonRetryable = property(error, 'nonRetryable');
  const stack = property(error, 'stack');
  const cause = depth < 5 ? errorRecord(property(error, 'cause'), depth + 1) : undefined;
  return {
    name: typeof name === 'string' ? name : 'Error',
    message: typeof message === 'string' ? message : textOf(error),
    ...(typeof type === 'string' ? { type } : {}),
    ...(typeof nonRetryable === 'boolean' ? { nonRetryable } : {}),
    ...(typeof stack === 'string' ? { stack } : {}),
    ...(cause ? { cause } : {}),
  };
}

/**
 * The innermost cause of an error: the activity's own failure under the ActivityFailure a workflow
 * failed with. Follows `cause` a few levels deep.
 */
export function innermostCause(error: unknown): unknown {
  let current = error;
  for (let depth = 0; depth < 8; depth++) {
    const cause = property(current, 'cause');
    if (typeof cause !== 'object' || cause === null) break;
    current = cause;
  }
  return current;
}

/** JSON.stringify's replacer for what logs carry: bigints as text, no cycles, errors whole. */
function safeReplacer(): (key: string, value: unknown) => unknown {
  const seen = new WeakSet<object>();
  return (_key, value) => {
    if (typeof value === 'bigint') return value.toString();
    if (value instanceof Error) return errorRecord(value);
    if (typeof value === 'object' && value !== null) {
      if (seen.has(value)) return '[circular]';
      seen.add(value);
    }
    return value;
  };
}

/**
 * The JSON line of a record: `time` (ISO), `level`, `message`, the run's ids, stage, model and
 * version when known, the error with its stack, and the other fields. Parseable by any log collector.
 */
export function jsonLine(record: LogRecord): string {
  const { time, level, message, error, fields, ...known } = record;
  // Where a record showed is the writer's business, not the record's.
  delete known.fileOnly;
  const body: Record<string, unknown> = {
    time: time.toISOString(),
    level,
    message,
    ...known,
    ...fields,
  };
  const failure = errorRecord(error);
  if (failure) body.error = failure;
  return JSON.stringify(body, safeReplacer());
}

/** Where a log writes: the terminal's two streams; tests hand in their own. */
export interface LogOutput {
  out(line: string): void;
  err(line: string): void;
}

const processOutput: LogOutput = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

/** Kerf's log of one process. */
export interface KerfLog {
  /** The file the full records go to; undefined when it could not be opened. */
  readonly file: string | undefined;
  /** Writes a record: to the file, and to the terminal (a line, or JSON) as configured. */
  write(event: LogEvent): void;
  debug(message: string, context?: LogContext): void;
  info(message: string, context?: LogContext): void;
  warn(message: string, context?: LogContext): void;
  error(message: string, context?: LogContext): void;
  /**
   * A line for a person as it is, with no time or columns (instructions such as a command to copy);
   * an info record in the file.
   */
  say(line: string): void;
  close(): void;
}

/** A file over this size is moved to `<file>.1` (replacing the one before) when a process opens it. */
export const LOG_FILE_ROTATE_BYTES = 64 * 1024 * 1024;

/** Opens `file` for appending (0600: records quote inputs), moving an oversized one aside first. */
function openLogFile(file: string): number {
  mkdirSync(path.dirname(file), { recursive: true });
  const size = (() => {
    try {
      return statSync(file).size;
    } catch {
      return 0;
    }
  })();
  if (size > LOG_FILE_ROTATE_BYTES) renameSync(file, `${file}.1`);
  return openSync(file, 'a', 0o600);
}

/**
 * Opens a process's log.
 *
 * @param options.format `text`: lines for a person on the terminal; `json`: every record as JSON on
 *   standard output (what the file holds)
 * @param options.level the least severe record written to the file and the JSON output; the
 *   terminal's lines are always from `info` on
 * @param options.file where the full records go, appended; a file that cannot be opened is said once
 *   on the terminal and the process goes on without it
 * @param options.output the terminal's streams @default process.stdout and process.stderr
 * @param options.now the clock @default the system's
 */
export function openLog(options: {
  format: LogConfig['format'];
  level: LogLevel;
  file?: string;
  output?: LogOutput;
  now?: () => Date;
}): KerfLog {
  const output = options.output ?? processOutput;
  const now = options.now ?? (() => new Date());
  const least = SEVERITY[options.level];
  let fd: number | undefined;
  let problem: string | undefined;
  if (options.file) {
    try {
      fd = openLogFile(options.file);
    } catch (error) {
      problem = `Cannot write the log file ${options.file} (${textOf(property(error, 'code') ?? errorRecord(error)?.message)}): logging to the terminal only.`;
    }
  }
  const file = fd === undefined ? undefined : options.file;
  const toFile = (line: string) => {
    if (fd === undefined) return;
    try {
      writeSync(fd, `${line}\n`);
    } catch {
      // A full disk must not stop the worker: the terminal still has the line.
    }
  };
  const write = (event: LogEvent) => {
    const record: LogRecord = { time: now(), ...event };
    if (SEVERITY[record.level] >= least) {
      const json = jsonLine(record);
      toFile(json);
      if (options.format === 'json') output.out(json);
    }
    if (options.format === 'json') return;
    if (record.fileOnly || SEVERITY[record.level] < SEVERITY.info) return;
    const line = terminalLine(record, { traceFile: file });
    const toErr = record.level === 'error' || (record.level === 'warn' && !record.refusal);
    if (toErr) output.err(line);
    else output.out(line);
  };
  const at =
    (level: LogLevel) =>
    (message: string, context: LogContext = {}) =>
      write({ ...context, level, message });
  const log: KerfLog = {
    file,
    write,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    say(line) {
      if (options.format === 'json') {
        write({ level: 'info', message: line });
        return;
      }
      output.out(line);
      if (least <= SEVERITY.info) toFile(jsonLine({ time: now(), level: 'info', message: line }));
    },
    close() {
      if (fd === undefined) return;
      const closing = fd;
      fd = undefined;
      closeSync(closing);
    },
  };
  if (problem) log.warn(problem);
  return log;
}

const TEMPORAL_LEVELS: Record<TemporalLevel, LogLevel> = {
  TRACE: 'debug',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/** The SDK's metadata Kerf's records name on their own; the rest goes to `fields`. */
function fromMetadata(meta: LogMetadata | undefined): LogContext {
  if (!meta) return { source: 'temporal' };
  const {
    workflowId,
    runId,
    workflowRunId,
    workflowType,
    activityType,
    attempt,
    durationMs,
    error,
    err,
    model,
    version,
    stage,
    ...rest
  } = meta as Record<string, unknown>;
  // An activity's task token is a credential for completing it: never in a file.
  delete rest.taskToken;
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  const number = (value: unknown) => (typeof value === 'number' ? value : undefined);
  const event: LogContext = { source: 'temporal' };
  const fields = Object.fromEntries(Object.entries(rest).filter(([key]) => typeof key === 'string'));
  const assign = <K extends keyof LogContext>(key: K, value: LogContext[K] | undefined) => {
    if (value !== undefined) event[key] = value;
  };
  assign('model', text(model));
  assign('version', number(version));
  assign('stage', text(stage));
  assign('workflowId', text(workflowId));
  assign('runId', text(runId) ?? text(workflowRunId));
  assign('workflowType', text(workflowType));
  assign('activity', text(activityType));
  assign('attempt', number(attempt));
  assign('durationMs', number(durationMs));
  assign('error', error ?? err);
  if (Object.keys(fields).length > 0) event.fields = fields;
  return event;
}

/**
 * Temporal's SDK logger (for `Runtime.install`) writing into Kerf's log: every record goes to the
 * file with its metadata; the terminal gets only warnings and errors, as one line (with where the
 * trace is, unless it is an expected refusal), and nothing for what `fileOnly` picks (the worker's
 * own lines say it better).
 *
 * @param options.isRefusal true for an error that is an expected refusal
 * @param options.fileOnly true for a record the terminal does not show
 * @param options.describe fills in what Kerf knows that the SDK does not (the model of a workflow id)
 */
export function temporalLogger(
  log: KerfLog,
  options: {
    isRefusal?: (error: unknown) => boolean;
    fileOnly?: (event: LogEvent) => boolean;
    describe?: (event: LogEvent) => LogEvent;
  } = {},
): Logger {
  const emit = (level: TemporalLevel, message: string, meta?: LogMetadata) => {
    let event: LogEvent = { ...fromMetadata(meta), level: TEMPORAL_LEVELS[level], message };
    if (event.error !== undefined && options.isRefusal?.(event.error)) event.refusal = true;
    if (options.describe) event = options.describe(event);
    const quiet =
      event.fileOnly === true || SEVERITY[event.level] < SEVERITY.warn || options.fileOnly?.(event) === true;
    if (quiet) event.fileOnly = true;
    else if (event.error !== undefined && event.message === message) {
      // The SDK's words ("Workflow failed") say little alone: the innermost cause says why.
      const reason = errorRecord(innermostCause(event.error))?.message;
      if (reason && !event.message.includes(reason)) event.message = `${event.message}: ${reason}`;
    }
    log.write(event);
  };
  return {
    log: emit,
    trace: (message, meta) => emit('TRACE', message, meta),
    debug: (message, meta) => emit('DEBUG', message, meta),
    info: (message, meta) => emit('INFO', message, meta),
    warn: (message, meta) => emit('WARN', message, meta),
    error: (message, meta) => emit('ERROR', message, meta),
  };
}
