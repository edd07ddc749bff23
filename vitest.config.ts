import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Temporal's native bridge does not survive worker threads: each test file runs in its own process.
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    // One stack for the whole run, started here unless one is already up.
    globalSetup: ['test/globalSetup.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 240_000,
  },
});
