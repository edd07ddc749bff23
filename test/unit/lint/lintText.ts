/** Lints a few lines of code as if they lived at a path in the repository, with the real ESLint config. */
import path from 'node:path';
import { ESLint, type Linter } from 'eslint';
import { repoRoot } from '../../../platform/paths';

// One ESLint for every lint test in a file: the type-aware program is built once (the first case is slow).
const eslint = new ESLint({ cwd: repoRoot });

/**
 * The messages one rule reports on `code` placed at `relativePath` (an existing file, so the TypeScript
 * project knows it; the text replaces its contents for this lint only).
 */
export const lintText = async (
  relativePath: string,
  code: string,
  ruleId: string,
): Promise<Linter.LintMessage[]> => {
  const [result] = await eslint.lintText(code, { filePath: path.join(repoRoot, relativePath) });
  return (result?.messages ?? []).filter((message) => message.ruleId === ruleId);
};
