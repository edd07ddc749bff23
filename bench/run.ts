/**
 * `npm run bench -- <suite> [case...]`: runs each case of a suite in a fresh process, so its peak
 * memory is its own, and prints one JSON line per case.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../platform/paths';
import { CASES as ML_CASES } from './ml';
import { CASES as SHOP_CASES } from './shop';

const SUITES: Record<string, { script: string; cases: string[] }> = {
  ml: { script: 'bench/ml.ts', cases: Object.keys(ML_CASES) },
  // generate-1m takes minutes: name it to run it.
  shop: { script: 'bench/shop.ts', cases: Object.keys(SHOP_CASES).filter((name) => name !== 'generate-1m') },
};

async function main(): Promise<void> {
  const [suiteName, ...only] = process.argv.slice(2);
  const suite = suiteName ? SUITES[suiteName] : undefined;
  if (!suite) {
    throw new Error(`Name a suite: npm run bench -- <${Object.keys(SUITES).join('|')}> [case...]`);
  }
  const cases = only.length > 0 ? only : suite.cases;
  for (const name of cases) {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', path.join(repoRoot, suite.script), name],
      { cwd: repoRoot, maxBuffer: 16 * 1024 * 1024 },
    );
    process.stdout.write(stdout);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
