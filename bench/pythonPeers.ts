/**
 * The Python peers the `ml` and `score` suites measure Kerf against (LightGBM, XGBoost,
 * scikit-learn, Python onnxruntime, all from PyPI), in a virtual environment the bench makes on
 * first use under `.tools/bench-venv` and reuses after. Where Python, its venv module, pip or PyPI
 * is missing, the peers are unavailable and say why: the suites then print that reason instead of
 * peer figures, and do not fail.
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { defaultPaths, repoRoot } from '../platform/paths';

/**
 * What the venv holds. xgboost-cpu is XGBoost's own CPU-only build of the same release: the
 * `xgboost` wheel pulls NVIDIA's NCCL (hundreds of MB) that a CPU bench never loads.
 */
export const PEER_REQUIREMENTS = [
  'lightgbm==4.7.*',
  'xgboost-cpu==3.2.*',
  'scikit-learn==1.9.*',
  'onnxruntime==1.32.*',
  'numpy',
  'pyarrow',
] as const;

/** The folder of the peers' Python sources (committed, run as scripts). */
export const PEERS_DIR = path.join(repoRoot, 'bench', 'peers');

const VENV_DIR = path.join(defaultPaths.toolsDir, 'bench-venv');
/** Written after a successful install: the requirements it satisfied, so a change reinstalls. */
const INSTALLED_MARKER = path.join(VENV_DIR, 'kerf-requirements.txt');

export type PythonPeers = { available: true; python: string } | { available: false; reason: string };

/** Turns the peers off (`KERF_BENCH_PEERS=off`), e.g. to time Kerf alone. */
export const peersSwitchedOff = (env: NodeJS.ProcessEnv) => env.KERF_BENCH_PEERS === 'off';

const progress = (line: string) => process.stderr.write(`bench peers: ${line}\n`);

/**
 * The venv's Python, made and filled first when needed (a minute or two on the first run; nothing
 * when the marker says the same requirements are installed).
 */
export async function pythonPeers(): Promise<PythonPeers> {
  const python = path.join(VENV_DIR, 'bin', 'python');
  const wanted = PEER_REQUIREMENTS.join('\n');
  if (existsSync(python) && (await readFile(INSTALLED_MARKER, 'utf8').catch(() => '')) === wanted) {
    return { available: true, python };
  }
  const system = await run('python3', ['--version']);
  if (system.code !== 0)
    return { available: false, reason: `python3 is not available (${lastLine(system)})` };
  if (!existsSync(python)) {
    progress(`making ${path.relative(repoRoot, VENV_DIR)} (${system.stdout.trim()})`);
    const made = await run('python3', ['-m', 'venv', VENV_DIR]);
    if (made.code !== 0) return { available: false, reason: `python3 -m venv failed (${lastLine(made)})` };
  }
  progress(`pip install ${PEER_REQUIREMENTS.join(' ')}`);
  const pip = await run(
    python,
    ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', ...PEER_REQUIREMENTS],
    900_000,
  );
  if (pip.code !== 0) {
    return {
      available: false,
      reason: `pip could not install the peers (is PyPI reachable?): ${lastLine(pip)}`,
    };
  }
  await writeFile(INSTALLED_MARKER, wanted);
  return { available: true, python };
}

/** What a peer script printed last on stdout, parsed as JSON; its stderr passes through as progress. */
export function runPeerScript(
  python: string,
  script: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, [path.join(PEERS_DIR, script), ...args], {
      // No __pycache__ beside the committed sources; warnings would only clutter the progress.
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONWARNINGS: 'ignore', ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      const last = stdout.trim().split('\n').at(-1) ?? '';
      if (code !== 0) {
        reject(new Error(`${script} ${args.join(' ')} failed (exit code ${code ?? signal})`));
        return;
      }
      try {
        resolve(JSON.parse(last) as Record<string, unknown>);
      } catch {
        reject(new Error(`${script} printed no JSON line: ${last}`));
      }
    });
  });
}

/** A peer script that stays up and answers requests: one line in, one JSON line out. */
export interface PeerSession {
  /** The first JSON line the script printed (what it loaded). */
  ready: Record<string, unknown>;
  /** Sends `line` and resolves with the JSON line answered. */
  ask(line: string): Promise<Record<string, unknown>>;
  /** Closes the script's stdin and waits for it to exit. */
  close(): Promise<void>;
}

/**
 * Starts a peer script that answers requests (bench/peers/score.py): resolves once it printed its
 * first JSON line. Its stderr passes through as progress.
 */
export async function startPeerSession(
  python: string,
  script: string,
  args: readonly string[],
): Promise<PeerSession> {
  const child = spawn(python, [path.join(PEERS_DIR, script), ...args], {
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONWARNINGS: 'ignore' },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const exited = once(child, 'exit');
  const next = async (): Promise<Record<string, unknown>> => {
    const line: IteratorResult<string> = await Promise.race([
      lines.next(),
      exited.then((event: unknown[]): never => {
        throw new Error(`${script} exited (exit code ${String(event[0])})`);
      }),
    ]);
    if (line.done === true) throw new Error(`${script} closed its output`);
    return JSON.parse(line.value) as Record<string, unknown>;
  };
  const ready = await next();
  return {
    ready,
    ask: async (line) => {
      child.stdin.write(`${line}\n`);
      return next();
    },
    close: async () => {
      child.stdin.end();
      if (child.exitCode === null && child.signalCode === null) await exited;
    },
  };
}

interface Answer {
  code: number;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], timeout = 120_000): Promise<Answer> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      // A missing program has no exit code: report it as one that failed, with why.
      const code = error ? (typeof error.code === 'number' ? error.code : 127) : 0;
      resolve({ code, stdout, stderr: error && code === 127 && !stderr ? error.message : stderr });
    });
  });
}

function lastLine(answer: Answer): string {
  const lines = `${answer.stderr}\n${answer.stdout}`.trim().split('\n');
  return lines.at(-1)?.trim() ?? `exit code ${answer.code}`;
}
