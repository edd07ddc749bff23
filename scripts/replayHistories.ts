/**
 * Replays recorded workflow histories through the current workflow code and prints one line per
 * history; exits 1 when any fails. `node --import tsx scripts/replayHistories.ts [dir-or-file...]`
 * (default: test/replay/histories). Run by `npm test` (test/unit/replay.test.ts) in a process of its
 * own, outside vitest's module loader, which trips protobufjs.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { repoRoot } from '../platform/paths';
import { workflowsPath } from '../workers/kerfWorker';

async function historyFiles(targets: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const target of targets) {
    if ((await stat(target)).isDirectory()) {
      const names = (await readdir(target)).filter((name) => name.endsWith('.json')).sort();
      files.push(...names.map((name) => path.join(target, name)));
    } else {
      files.push(target);
    }
  }
  return files;
}

async function main(): Promise<void> {
  const targets = process.argv.slice(2);
  const files = await historyFiles(
    targets.length > 0 ? targets : [path.join(repoRoot, 'test/replay/histories')],
  );
  if (files.length === 0) throw new Error('no recorded histories to replay');
  const histories = await Promise.all(
    files.map(async (file) => ({
      workflowId: path.basename(file, '.json'),
      history: JSON.parse(await readFile(file, 'utf8')) as unknown,
    })),
  );
  let failed = 0;
  for await (const result of Worker.runReplayHistories({ workflowsPath }, histories)) {
    if (result.error) {
      failed++;
      console.log(`FAIL ${result.workflowId}: ${result.error.message}`);
    } else {
      console.log(`ok   ${result.workflowId}`);
    }
  }
  if (failed > 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(2);
});
