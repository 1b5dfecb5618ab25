// Lifecycle cases of the Stripe adapter against Stripe's TEST MODE (npm run test:stripe). Runs only when
// STRIPE_SECRET_KEY (an sk_test_ key) is set; fails otherwise. It has NOT been run on the machine this
// project is built on (no network access to Stripe).
import { randomUUID } from 'node:crypto';
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { StripeProcessor } from '../../lambdas/adapters/stripe/stripe-processor.ts';

const key = process.env.STRIPE_SECRET_KEY;
const processor = () => new StripeProcessor(new Stripe(key!, { maxNetworkRetries: 1 }));
const paymentId = () => `pay_${randomUUID().replaceAll('-', '').slice(0, 24)}`;

// npm run test:stripe is only for Stripe's test mode: without a test key it fails rather than pass by skipping.
if (!key?.startsWith('sk_test_')) throw new Error('npm run test:stripe needs STRIPE_SECRET_KEY set to a Stripe test-mode key (sk_test_...)');

describe('Stripe test mode: the processor port', () => {
  it('authorize (manual capture) → capture → partial refund; a retried authorize with the same key replays it', async () => {
    const stripe = processor();
    const id = paymentId();
    const request = { key: `${id}:authorize`, amount: 2500, currency: 'EUR', source: 'pm_card_visa' };
    const { authorizationId } = await stripe.authorize(request);
    expect(await stripe.authorize(request)).toEqual({ authorizationId });
    const { captureId } = await stripe.capture({ key: `${id}:capture`, authorizationId, amount: 2500 });
    expect(captureId).toMatch(/^ch_/);
    expect((await stripe.refund({ key: `re_${id}:refund`, captureId, amount: 1000 })).refundId).toMatch(/^re_/);
  }, 60_000);

  it('a declined card is PaymentDeclined; insufficient funds is insufficient_funds', async () => {
    const stripe = processor();
    await expect(stripe.authorize({ key: `${paymentId()}:authorize`, amount: 500, currency: 'USD', source: 'pm_card_chargeDeclined' })).rejects.toMatchObject({ name: 'PaymentDeclined', code: 'card_declined' });
    await expect(stripe.authorize({ key: `${paymentId()}:authorize`, amount: 500, currency: 'USD', source: 'pm_card_chargeDeclinedInsufficientFunds' })).rejects.toMatchObject({ name: 'PaymentDeclined', code: 'insufficient_funds' });
  }, 60_000);

  it('void cancels an authorization, and voiding again changes nothing', async () => {
    const stripe = processor();
    const id = paymentId();
    const { authorizationId } = await stripe.authorize({ key: `${id}:authorize`, amount: 700, currency: 'USD', source: 'pm_card_visa' });
    expect(await stripe.void({ key: `${id}:void`, authorizationId })).toEqual({ voided: true });
    expect(await stripe.void({ key: `${id}:void`, authorizationId })).toEqual({ voided: true });
  }, 60_000);
});
