/**
 * The terminal of a process that hosts Kerf's runs (`kerf worker`, `npm start`): Kerf's log opened
 * as configured (`platform/log.ts`), Temporal's SDK logging into it instead of its own stderr lines
 * and stack traces, and an activity interceptor that writes a line per stage and decision
 * (`stageLines.ts`) and gives the SDK's activity records the run's model, version and stage.
 */
import path from 'node:path';
import type { Context } from '@temporalio/activity';
import { makeTelemetryFilterString, Runtime, type ActivityInterceptorsFactory } from '@temporalio/worker';
import type { KerfConfig } from '../platform/config';
import {
  innermostCause,
  type KerfLog,
  type LogEvent,
  type LogOutput,
  openLog,
  temporalLogger,
} from '../platform/log';
import { innermostMessage, isExpectedRefusal, looksLikeRefusal, refusalText, type Subject } from './refusals';
import { ACTIVITY_STAGES, describeCompletion, describeFailure, subjectOf } from './stageLines';

/** The log files of the processes that host runs, under KERF_LOG_DIR (the stack's logs are beside them). */
export const LOG_FILES = { worker: 'kerf-worker.log', start: 'kerf-start.log' } as const;

/** How many runs' model and version a process remembers for its lines. */
const REMEMBERED_RUNS = 1000;

/**
 * The model and version of the runs this process saw, by workflow id: a stage's input does not
 * always name them (training gets the spec's hash), an earlier stage's did.
 */
export class RunSubjects {
  private readonly runs = new Map<string, Subject>();
  /** The last refusal this process printed per run, so the run's own failure is not said twice. */
  private readonly refusals = new Map<string, string>();

  /** Adds what `seen` says to what is known of the run, and returns the whole. */
  note(workflowId: string | undefined, seen: Subject): Subject {
    if (workflowId === undefined) return seen;
    const known = { ...this.runs.get(workflowId), ...seen };
    // Oldest first out: a worker that runs for months must not keep every run it ever saw.
    this.runs.delete(workflowId);
    this.runs.set(workflowId, known);
    if (this.runs.size > REMEMBERED_RUNS) {
      const oldest = this.runs.keys().next().value;
      if (oldest !== undefined) {
        this.runs.delete(oldest);
        this.refusals.delete(oldest);
      }
    }
    return known;
  }

  /** Notes the refusal (its message) that this process printed for the run. */
  noteRefusal(workflowId: string | undefined, message: string): void {
    if (workflowId !== undefined) this.refusals.set(workflowId, message);
  }

  /** The refusal this process printed for the run last, if any. */
  refusal(workflowId: string | undefined): string | undefined {
    return workflowId === undefined ? undefined : this.refusals.get(workflowId);
  }

  get(workflowId: string | undefined): Subject {
    return (workflowId === undefined ? undefined : this.runs.get(workflowId)) ?? {};
  }
}

/** The CancelledFailure of a cancelled activity (a shutdown, a run that moved on): not news. */
function isCancellation(error: unknown, context: Context): boolean {
  const name = typeof error === 'object' && error !== null ? (error as { name?: unknown }).name : undefined;
  return context.cancellationSignal.aborted && (name === 'CancelledFailure' || name === 'AbortError');
}

/**
 * An activity interceptor writing a line per stage and decision to `log` as each activity ends, and
 * adding the run's model, version and stage to the records the activity (and the SDK) log about it.
 */
export function stageLineInterceptors(log: KerfLog, runs: RunSubjects): ActivityInterceptorsFactory {
  return (context) => {
    const { activityType: activity, attempt } = context.info;
    const workflowId = context.info.workflowExecution?.workflowId;
    const runId = context.info.workflowExecution?.runId;
    const stage = ACTIVITY_STAGES[activity as keyof typeof ACTIVITY_STAGES];
    let subject = runs.get(workflowId);
    const base = (): Omit<LogEvent, 'level' | 'message'> => ({
      ...subject,
      workflowId,
      runId,
      workflowType: context.info.workflowType,
      activity,
      attempt,
    });
    return {
      inbound: {
        async execute(input, next) {
          const [argument] = input.args;
          subject = runs.note(workflowId, subjectOf(activity, argument));
          const started = performance.now();
          try {
            const result = await next(input);
            const seconds = (performance.now() - started) / 1000;
            subject = runs.note(workflowId, subjectOf(activity, argument, result));
            for (const line of describeCompletion(activity, {
              input: argument,
              result,
              seconds,
              workflowId,
            })) {
              log.write({
                ...base(),
                level: line.level ?? 'info',
                message: line.text,
                ...(line.stage ? { stage: line.stage } : {}),
                durationMs: Math.round(seconds * 1000),
                ...(line.refusal ? { refusal: true } : {}),
                ...(line.fileOnly ? { fileOnly: true } : {}),
              });
            }
            return result;
          } catch (error) {
            const durationMs = Math.round(performance.now() - started);
            if (isCancellation(error, context)) {
              log.write({
                ...base(),
                level: 'info',
                message: `${activity} cancelled`,
                durationMs,
                fileOnly: true,
              });
            } else {
              const line = describeFailure(activity, error, { attempt, subject });
              if (line.refusal) runs.noteRefusal(workflowId, innermostMessage(error));
              log.write({
                ...base(),
                level: line.level ?? 'warn',
                message: line.text,
                ...(line.stage ? { stage: line.stage } : {}),
                durationMs,
                error,
                ...(line.refusal ? { refusal: true } : {}),
              });
            }
            throw error;
          }
        },
      },
      outbound: {
        getLogAttributes: (attributes, next) =>
          next({ ...attributes, ...subject, ...(stage ? { stage } : {}) }),
      },
    };
  };
}

/** The SDK's records the terminal leaves to the file: the stage lines say them better. */
function sdkFileOnly(event: LogEvent): boolean {
  // An activity's failure has its stage line already; a heavy-only Worker has no workflows by design.
  return event.message === 'Activity failed' || event.message.startsWith('No workflows registered');
}

/**
 * Fills in an SDK record what this process knows of its run (model, version), and says a run's
 * failure in the terminal's words: `run stopped: <why>` for one stopped on purpose (file only when its
 * stage's line here said it already), `run failed: <why>` with its trace in the file for a breakdown.
 */
export function sdkRecordDescriber(runs: RunSubjects): (event: LogEvent) => LogEvent {
  return (event) => {
    const subject = runs.get(event.workflowId);
    const known = { ...event, ...subject, ...(event.model ? { model: event.model } : {}) };
    if (event.message !== 'Workflow failed') return known;
    // A run that stopped on purpose was said by its stage's line when that ran here; on a worker
    // that only hosts the workflow, once here. A breakdown is said with where its trace is.
    const reason = innermostMessage(event.error);
    const said = runs.refusal(event.workflowId) === reason;
    if (said || looksLikeRefusal(event.error)) {
      return {
        ...known,
        stage: 'failed',
        message: `run stopped: ${refusalText(innermostCause(event.error), known)}`,
        refusal: true,
        ...(said ? { fileOnly: true } : {}),
      };
    }
    return { ...known, stage: 'failed', message: `run failed: ${reason}` };
  };
}

/**
 * Opens the process's log and routes Temporal's SDK logging into it (`Runtime.install`, so before any
 * Worker or native connection is made): its records go to the file, its warnings and errors show as
 * one line, and a run's failure as `sdkRecordDescriber` says it.
 *
 * @param name which process: its log file is `LOG_FILES[name]` under `config.log.dir`
 * @param output the terminal's streams @default the process's
 * @returns the log, and the activity interceptor to hand to `createKerfWorker`
 */
export function startTerminal(
  config: KerfConfig,
  name: keyof typeof LOG_FILES,
  output?: LogOutput,
): { log: KerfLog; activityInterceptors: ActivityInterceptorsFactory[] } {
  const log = openLog({
    format: config.log.format,
    level: config.log.level,
    file: path.join(config.log.dir, LOG_FILES[name]),
    ...(output ? { output } : {}),
  });
  const runs = new RunSubjects();
  Runtime.install({
    logger: temporalLogger(log, {
      isRefusal: isExpectedRefusal,
      fileOnly: sdkFileOnly,
      describe: sdkRecordDescriber(runs),
    }),
    telemetryOptions: {
      logging: {
        // The Rust core's own warnings (lost connections, failed polls) come through the same logger.
        filter: makeTelemetryFilterString({
          core: config.log.level === 'debug' ? 'INFO' : 'WARN',
          other: 'ERROR',
        }),
        forward: {},
      },
    },
  });
  return { log, activityInterceptors: [stageLineInterceptors(log, runs)] };
}
