import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The server needs the dashboard's browser bundle; it is built from the client code before the tests.
    globalSetup: ['test/support/dashboard-bundle-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration suites start servers and databases; two cores do not gain from more forks.
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results/vitest.json' },
  },
});
