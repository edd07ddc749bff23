/**
 * `npm run bench -- <suite> [case...]`: runs each case of a suite in a fresh process, so its peak
 * memory is its own, and prints one JSON line per case. A case's progress (stderr) shows as it goes.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from '../platform/paths';
import { CASES as ACCURACY_CASES } from './accuracy';
import type { CaseLine } from './caseLine';
import { CASES as FEATURE_CASES } from './features';
import { CASES as FORECAST_CASES } from './forecast';
import { DEFAULT_CASES as INGEST_CASES, summarizeCases as summarizeIngest } from './ingest';
import { CASES as LIFECYCLE_CASES } from './lifecycle';
import { CASES as ML_CASES } from './ml';
import { CASES as NIGHTLY_CASES } from './nightly';
import { CASES as SCORE_CASES } from './score';
import { CASES as SCORE_BATCH_CASES } from './scoreBatch';
import { CASES as SERVE_CASES } from './serve';
import { CASES as SHOP_CASES } from './shop';
import { CASES as TUNE_CASES } from './tune';

/** A suite: its script, the cases run when none is named, and an optional closing line over them. */
interface Suite {
  script: string;
  cases: string[];
  summarize?: (lines: readonly CaseLine[]) => CaseLine | undefined;
}

const SUITES: Record<string, Suite> = {
  ml: { script: 'bench/ml.ts', cases: Object.keys(ML_CASES) },
  // The trees' accuracy with categories in first-seen and in target order, held-out data sets included.
  accuracy: { script: 'bench/accuracy.ts', cases: Object.keys(ACCURACY_CASES) },
  features: { script: 'bench/features.ts', cases: Object.keys(FEATURE_CASES) },
  forecast: { script: 'bench/forecast.ts', cases: Object.keys(FORECAST_CASES) },
  // generate-1m takes minutes: name it to run it.
  shop: { script: 'bench/shop.ts', cases: Object.keys(SHOP_CASES).filter((name) => name !== 'generate-1m') },
  // 3-models is a quick look at the machinery: name it to run it.
  nightly: {
    script: 'bench/nightly.ts',
    cases: Object.keys(NIGHTLY_CASES).filter((name) => name !== '3-models'),
  },
  // 1m at Kerf's defaults; the others (a quick look, two chunks at once) run when named.
  'score-batch': { script: 'bench/scoreBatch.ts', cases: Object.keys(SCORE_BATCH_CASES).slice(0, 1) },
  tune: { script: 'bench/tune.ts', cases: Object.keys(TUNE_CASES) },
  // The snapshot against binary COPY of the same SELECT, at 100k and 1M rows (3m when named).
  ingest: { script: 'bench/ingest.ts', cases: INGEST_CASES, summarize: summarizeIngest },
  // onnxruntime-node against Python onnxruntime on the same file and rows, in the same run.
  score: { script: 'bench/score.ts', cases: Object.keys(SCORE_CASES) },
  // Kerf's prediction API against a bare fastify route, in the same run.
  serve: { script: 'bench/serve.ts', cases: Object.keys(SERVE_CASES) },
  // 1M-row cut-time from ingest to awaiting approval, stage by stage, beside COPY of its query.
  lifecycle: { script: 'bench/lifecycle.ts', cases: Object.keys(LIFECYCLE_CASES).slice(0, 1) },
};

/** Runs one case in a node process of its own: its stdout (the JSON line) is returned, its stderr passed on. */
function runInOwnProcess(script: string, name: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, script), name], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`${script} ${name} failed (exit code ${code ?? signal})`));
    });
  });
}

async function main(): Promise<void> {
  const [suiteName, ...only] = process.argv.slice(2);
  const suite = suiteName ? SUITES[suiteName] : undefined;
  if (!suite) {
    throw new Error(`Name a suite: npm run bench -- <${Object.keys(SUITES).join('|')}> [case...]`);
  }
  const cases = only.length > 0 ? only : suite.cases;
  const lines: CaseLine[] = [];
  for (const name of cases) {
    const output = await runInOwnProcess(suite.script, name);
    process.stdout.write(output);
    const last = output.trim().split('\n').at(-1);
    if (last) lines.push(JSON.parse(last) as CaseLine);
  }
  const summary = suite.summarize?.(lines);
  if (summary) console.log(JSON.stringify(summary));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
