/**
 * The stack's state file, `<dataDir>/stack/state.json`: written by the supervisor, read by
 * `kerf stack up|down|status` in other processes.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { PartName } from './health';

export interface RunningPart {
  /** Process id of the server, when Kerf started it. */
  pid?: number;
  /** Further processes of the part, stopped with it. */
  otherPids?: number[];
  address: string;
  logFile?: string;
}

export interface StackState {
  supervisorPid: number;
  status: 'starting' | 'ready' | 'restarting' | 'failed' | 'stopping';
  /** Why start-up failed, for `stack up` to print. */
  error?: string;
  startedAt: string;
  /** Which Temporal this stack runs (KERF_TEMPORAL_SERVER when it started). */
  temporalServer?: 'dev' | 'cluster';
  parts: Partial<Record<PartName, RunningPart>>;
  /** How many times Temporal was restarted in place (`kerf stack restart temporal`). */
  restarts?: number;
}

/** The environment variable that hands the supervisor its `SupervisorArgs` as JSON (never argv). */
export const SUPERVISOR_ARGS_VARIABLE = 'KERF_SUPERVISOR_ARGS';

export const stackDir = (dataDir: string) => path.join(dataDir, 'stack');
export const logsDir = (dataDir: string) => path.join(dataDir, 'logs');
const stateFile = (dataDir: string) => path.join(stackDir(dataDir), 'state.json');

export async function readState(dataDir: string): Promise<StackState | undefined> {
  try {
    return JSON.parse(await readFile(stateFile(dataDir), 'utf8')) as StackState;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

let pendingWrite: Promise<void> = Promise.resolve();

/**
 * Writes through a temporary file so a reader never sees half a state. Writes are queued: the
 * supervisor records parts as they become healthy, side by side, and two writes sharing the
 * temporary file would race (the second rename finds it gone). The state is captured at the call,
 * so the last call's state is the one left on disk.
 */
export function writeState(dataDir: string, state: StackState): Promise<void> {
  const text = `${JSON.stringify(state, null, 2)}\n`;
  const write = async () => {
    await mkdir(stackDir(dataDir), { recursive: true });
    const temporary = `${stateFile(dataDir)}.${process.pid}.tmp`;
    await writeFile(temporary, text);
    await rename(temporary, stateFile(dataDir));
  };
  const result = pendingWrite.then(write, write);
  pendingWrite = result.catch(() => undefined);
  return result;
}

export async function removeState(dataDir: string): Promise<void> {
  await rm(stateFile(dataDir), { force: true });
}
