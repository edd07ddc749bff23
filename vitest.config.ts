import { defineConfig } from 'vitest/config';

/**
 * The local Temporal cluster's own tests (cluster facts, mutual TLS, chaos on stacks of their own): only
 * when the run is on the cluster (`npm run test:cluster`), so `npm test` builds no cluster tools.
 */
const clusterProjects =
  process.env.KERF_TEMPORAL_SERVER === 'cluster'
    ? [
        {
          extends: true as const,
          test: {
            name: 'cluster',
            include: ['test/cluster/**/*.test.ts'],
            globalSetup: ['test/globalSetup.ts'],
          },
        },
        {
          extends: true as const,
          // Worker kills and server restarts on a cluster stack of its own: `npm run test:chaos`.
          test: { name: 'chaos', include: ['test/chaos/**/*.test.ts'], testTimeout: 1_800_000 },
        },
      ]
    : [];

/**
 * Workers SIGKILLed mid-training, mid-trial and mid-chunk on the shared stack: half a minute each of
 * heartbeats timing out, so a CI step of their own (`npm run test:kill`) keeps `npm test` short.
 */
const killProjects =
  process.env.KERF_TEST_KILL === '1'
    ? [
        {
          extends: true as const,
          test: { name: 'kill', include: ['test/kill/**/*.test.ts'], globalSetup: ['test/globalSetup.ts'] },
        },
      ]
    : [];

/** The timed steps of their own (worker kills, the cluster, chaos): one file at a time. */
const oneFileAtATime = process.env.KERF_TEMPORAL_SERVER === 'cluster' || process.env.KERF_TEST_KILL === '1';

export default defineConfig({
  test: {
    // Temporal's native bridge does not survive worker threads: each test file runs in its own process.
    pool: 'forks',
    // Three files at once on two cores: most integration files spend their time waiting on Temporal,
    // PostgreSQL and the workers they start (one file at a time, `npm test` took 18 to 23 minutes).
    // Every file owns its names on the shared stack. The worker-kill, cluster and chaos steps run one
    // file at a time, as before: their kills and restarts are timed. (Set here, not on the command
    // line: each project inherits it, and a project's own value wins over the command line's.)
    maxWorkers: oneFileAtATime ? 1 : 3,
    setupFiles: ['test/setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 240_000,
    projects: [
      {
        extends: true,
        // Pure code: no stack needed, so `vitest run --project unit` starts nothing.
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'] },
      },
      {
        extends: true,
        // One stack for the whole run, started here unless one is already up.
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/globalSetup.ts'],
        },
      },
      {
        extends: true,
        // Hostile input on every path (spec SQL, approvals, request bodies, artifacts, secrets): each
        // case asserts the exact refusal and that nothing changed. Runs against the shared stack.
        test: {
          name: 'security',
          include: ['test/security/**/*.test.ts'],
          globalSetup: ['test/globalSetup.ts'],
        },
      },
      {
        extends: true,
        // A real browser (Debian's Chromium) on the Temporal Web UI and the model card; screenshots
        // go to test-results/e2e/. Training, approval in the UI and deployment take minutes.
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/globalSetup.ts'],
          testTimeout: 420_000,
        },
      },
      ...clusterProjects,
      ...killProjects,
    ],
  },
});
