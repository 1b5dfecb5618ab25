import { defineConfig } from 'vitest/config';

/** npm run test:stripe: the Stripe adapter against Stripe's test mode, only with STRIPE_SECRET_KEY (never in npm test). */
export default defineConfig({
  test: { name: 'stripe', include: ['test/stripe/**/*.test.ts'], testTimeout: 60_000 },
});
