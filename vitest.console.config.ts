import { defineConfig } from 'vitest/config';

/**
 * The console's browser tests (npm run test:console): headless Chromium (Debian's package) against the
 * twin that the acceptance suite's global setup starts (or the stack PAYFLOW_TARGET names).
 * One smoke case of them runs in `npm test`, in the acceptance project (test/acceptance/console-smoke.test.ts).
 */
export default defineConfig({
  test: {
    name: 'console',
    include: ['test/console/**/*.test.ts'],
    globalSetup: ['test/acceptance/global-setup.ts'],
    pool: 'forks',
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
