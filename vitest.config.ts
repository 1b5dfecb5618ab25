import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit-integration-cdk',
          include: ['test/**/*.test.ts'],
          exclude: ['test/acceptance/**', 'test/console/**', 'test/stripe/**', 'node_modules/**'],
          globalSetup: ['test/support/global-setup.ts'],
          setupFiles: ['test/support/setup-env.ts'],
          pool: 'forks',
          // Vitest's default is one worker fewer than the cores: one on CI's 2 cores. Most of these files wait on
          // emulators (polls, scaled retry waits) rather than compute, so two overlap well. The acceptance files
          // share one stack and stay one at a time, in a group after this one.
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      // The black-box acceptance suite against the local runner (its global setup starts the whole
      // stack; it runs only when acceptance files are selected). Other targets: npm run test:aws / test:localstack.
      './vitest.acceptance.config.ts',
      // test/console (the console's browser suite) runs with npm run test:console (vitest.console.config.ts);
      // its smoke case is in the acceptance suite.
    ],
  },
});
