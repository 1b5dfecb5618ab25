import { defineConfig } from 'vitest/config';

const target = process.env.PAYFLOW_TARGET ?? 'local';
const remote = target !== 'local';

/**
 * The black-box acceptance suite (test/acceptance): PAYFLOW_TARGET=local (default: starts the local
 * runner), localstack or aws (read the stack's outputs file; see test/acceptance/global-setup.ts).
 * `npm test` runs it on the local target as a project of vitest.config.ts.
 */
export default defineConfig({
  test: {
    name: 'acceptance',
    include: ['test/acceptance/**/*.test.ts'],
    globalSetup: ['test/acceptance/global-setup.ts'],
    pool: 'forks',
    // In npm test, after the unit-integration-cdk group (vitest.config.ts): the files share one stack, one at a time.
    sequence: { groupOrder: 1 },
    // A deployed stack's saga retries and redrives take real minutes; the local one runs sped up.
    testTimeout: remote ? 900_000 : 90_000,
    hookTimeout: remote ? 120_000 : 180_000,
  },
});
