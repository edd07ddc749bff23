/**
 * The OpenSSF model-signing verifier from PyPI (`model-signing`), for tests that check Kerf's
 * `model.sig` with the tool people outside Kerf use. It lives in a virtual environment under the
 * tools folder (`.tools/model-signing-venv`), made on first use and reused after; where Python, its
 * venv module, pip or PyPI is missing, the verifier is unavailable and says why.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';

/** The release the tests pin: the verifier's behaviour is what they assert. */
export const MODEL_SIGNING_RELEASE = '1.1.1';

/** What `model_signing verify key` answered: its exit code and what it printed. */
export interface VerifierAnswer {
  code: number;
  stdout: string;
  stderr: string;
}

export type ModelSigningVerifier =
  | {
      available: true;
      /** Runs `python -m model_signing verify key --signature SIG --public_key KEY DIR`. */
      verifyKey(modelDir: string, signatureFile: string, publicKeyFile: string): Promise<VerifierAnswer>;
    }
  | { available: false; reason: string };

/**
 * The verifier in `<toolsDir>/model-signing-venv`, installed there first if needed (minutes at most;
 * nothing is installed when the pinned release already imports).
 */
export async function modelSigningVerifier(toolsDir: string): Promise<ModelSigningVerifier> {
  const venv = path.join(toolsDir, 'model-signing-venv');
  const python = path.join(venv, 'bin', 'python');
  if (!(await installed(python))) {
    const system = await run('python3', ['--version']);
    if (system.code !== 0)
      return { available: false, reason: `python3 is not available (${lastLine(system)})` };
    const made = await run('python3', ['-m', 'venv', venv]);
    if (made.code !== 0) {
      return { available: false, reason: `python3 -m venv ${venv} failed (${lastLine(made)})` };
    }
    // model-signing 1.1.1 imports pyOpenSSL on every verify path (its certificate verifier) without
    // declaring it as a dependency, so it is installed beside it.
    const pip = await run(
      python,
      [
        '-m',
        'pip',
        'install',
        '--quiet',
        '--disable-pip-version-check',
        `model-signing==${MODEL_SIGNING_RELEASE}`,
        'pyopenssl',
      ],
      300_000,
    );
    if (pip.code !== 0) {
      return {
        available: false,
        reason: `pip could not install model-signing ${MODEL_SIGNING_RELEASE} (is PyPI reachable?): ${lastLine(pip)}`,
      };
    }
    if (!(await installed(python))) {
      return {
        available: false,
        reason: `model-signing ${MODEL_SIGNING_RELEASE} does not import after pip install`,
      };
    }
  }
  return {
    available: true,
    verifyKey: (modelDir, signatureFile, publicKeyFile) =>
      run(python, [
        '-m',
        'model_signing',
        'verify',
        'key',
        '--signature',
        signatureFile,
        '--public_key',
        publicKeyFile,
        modelDir,
      ]),
  };
}

/** Whether the venv's Python imports the pinned release (and the pyOpenSSL it needs). */
async function installed(python: string): Promise<boolean> {
  const check = await run(python, [
    '-c',
    'import importlib.metadata, model_signing, OpenSSL; print(importlib.metadata.version("model-signing"))',
  ]);
  return check.code === 0 && check.stdout.trim() === MODEL_SIGNING_RELEASE;
}

function run(command: string, args: string[], timeout = 120_000): Promise<VerifierAnswer> {
  return new Promise((resolve) => {
    const env = { ...process.env, PYTHONWARNINGS: 'ignore' };
    execFile(command, args, { timeout, maxBuffer: 16 * 1024 * 1024, env }, (error, stdout, stderr) => {
      // A missing program has no exit code: report it as one that failed, with why.
      const code = error ? (typeof error.code === 'number' ? error.code : 127) : 0;
      resolve({ code, stdout, stderr: error && code === 127 && !stderr ? error.message : stderr });
    });
  });
}

function lastLine(answer: VerifierAnswer): string {
  const lines = `${answer.stderr}\n${answer.stdout}`.trim().split('\n');
  return lines.at(-1)?.trim() ?? `exit code ${answer.code}`;
}
