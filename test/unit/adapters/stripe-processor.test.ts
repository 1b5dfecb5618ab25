// The Stripe adapter against a FAKE Stripe: the real `stripe` SDK, whose HTTP client is a function that
// answers with responses recorded in the shapes Stripe documents (https://docs.stripe.com/api/errors,
// /api/payment_intents/object, /api/refunds/object). It checks what is sent (path, parameters,
// Idempotency-Key) and how answers and errors map onto the port. It is not Stripe: `npm run test:stripe`
// runs the lifecycle against Stripe's test mode when STRIPE_SECRET_KEY is set (not run here).
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { StripeProcessor, mapStripeError } from '../../../lambdas/adapters/stripe/stripe-processor.ts';

interface Sent {
  method: string;
  path: string;
  body: URLSearchParams;
  idempotencyKey: string | null;
}
type Answer = { status: number; body: unknown } | 'network-error';

function fakeStripe(answers: Answer[]) {
  const sent: Sent[] = [];
  const fetchFn = async (url: string | URL, init?: RequestInit) => {
    const headers = new Headers(init?.headers as ConstructorParameters<typeof Headers>[0]);
    const target = new URL(String(url));
    sent.push({ method: init?.method ?? 'GET', path: target.pathname + target.search, body: new URLSearchParams(String(init?.body ?? '')), idempotencyKey: headers.get('idempotency-key') });
    const answer = answers.shift();
    if (!answer) throw new Error('no recorded answer left');
    if (answer === 'network-error') throw new TypeError('fetch failed');
    return new Response(JSON.stringify(answer.body), { status: answer.status, headers: { 'content-type': 'application/json', 'request-id': 'req_fake' } });
  };
  const stripe = new Stripe('sk_test_fake', { httpClient: Stripe.createFetchHttpClient(fetchFn as typeof fetch), maxNetworkRetries: 0 });
  return { processor: new StripeProcessor(stripe), sent };
}

const intent = (fields: Record<string, unknown>) => ({ id: 'pi_3Fake', object: 'payment_intent', amount: 2500, currency: 'eur', capture_method: 'manual', latest_charge: 'ch_3Fake', ...fields });
const stripeError = (status: number, error: Record<string, unknown>) => ({ status, body: { error: { message: 'recorded', request_log_url: 'https://dashboard.stripe.com/test/logs/req_fake', ...error } } });

describe('authorize: a PaymentIntent confirmed with manual capture', () => {
  it('sends amount, lower-case currency, the source as payment method, confirm and capture_method=manual, with the step key as Idempotency-Key', async () => {
    const { processor, sent } = fakeStripe([{ status: 200, body: intent({ status: 'requires_capture' }) }]);
    expect(await processor.authorize({ key: 'pay_1:authorize', amount: 2500, currency: 'EUR', source: 'pm_card_visa' })).toEqual({ authorizationId: 'pi_3Fake' });
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ method: 'POST', path: '/v1/payment_intents', idempotencyKey: 'pay_1:authorize' });
    expect(Object.fromEntries(sent[0]!.body)).toMatchObject({
      amount: '2500',
      currency: 'eur',
      payment_method: 'pm_card_visa',
      confirm: 'true',
      capture_method: 'manual',
      'metadata[payflow_payment_id]': 'pay_1',
    });
  });

  it.each([
    ['card_declined', 'generic_decline', 'card_declined'],
    ['card_declined', 'insufficient_funds', 'insufficient_funds'],
    ['expired_card', undefined, 'card_declined'],
  ])('a card error %s (%s) is PaymentDeclined %s', async (code, declineCode, expected) => {
    const { processor } = fakeStripe([stripeError(402, { type: 'card_error', code, ...(declineCode ? { decline_code: declineCode } : {}) })]);
    await expect(processor.authorize({ key: 'pay_2:authorize', amount: 100, currency: 'USD', source: 'pm_card_chargeDeclined' })).rejects.toMatchObject({ name: 'PaymentDeclined', code: expected });
  });

  it('an intent that needs 3-D Secure is a decline (no customer to authenticate here)', async () => {
    const { processor } = fakeStripe([{ status: 200, body: intent({ status: 'requires_action' }) }]);
    await expect(processor.authorize({ key: 'pay_3:authorize', amount: 100, currency: 'USD', source: 'pm_card_authenticationRequired' })).rejects.toMatchObject({ name: 'PaymentDeclined' });
  });
});

describe('errors onto the port: declined / transient / ambiguous', () => {
  it.each([
    [stripeError(429, { type: 'invalid_request_error', code: 'rate_limit' }), 'ProcessorUnavailable'],
    [stripeError(401, { type: 'invalid_request_error' }), 'ProcessorUnavailable'],
    [stripeError(409, { type: 'invalid_request_error', code: 'lock_timeout' }), 'ProcessorUnavailable'],
    [stripeError(500, { type: 'api_error' }), 'ProcessorTimeout'],
    ['network-error' as const, 'ProcessorTimeout'],
    [stripeError(400, { type: 'idempotency_error' }), 'ProcessorIdempotencyMismatch'],
  ])('%j → %s', async (answer, name) => {
    const { processor } = fakeStripe([answer]);
    await expect(processor.authorize({ key: 'pay_4:authorize', amount: 100, currency: 'USD', source: 'pm_card_visa' })).rejects.toMatchObject({ name });
  });

  it('anything that is not a Stripe answer is ambiguous (ProcessorTimeout)', () => {
    expect(mapStripeError(new RangeError('bug'), 'capture').name).toBe('ProcessorTimeout');
  });
});

describe('capture, void, refund', () => {
  it('capture: amount_to_capture with the capture key; the charge id is the capture id; a refused capture is CaptureFailed', async () => {
    const { processor, sent } = fakeStripe([
      { status: 200, body: intent({ status: 'succeeded' }) },
      stripeError(400, { type: 'invalid_request_error', code: 'payment_intent_unexpected_state' }),
    ]);
    expect(await processor.capture({ key: 'pay_5:capture', authorizationId: 'pi_3Fake', amount: 2500 })).toEqual({ captureId: 'ch_3Fake' });
    expect(sent[0]).toMatchObject({ path: '/v1/payment_intents/pi_3Fake/capture', idempotencyKey: 'pay_5:capture' });
    expect(sent[0]!.body.get('amount_to_capture')).toBe('2500');
    await expect(processor.capture({ key: 'pay_6:capture', authorizationId: 'pi_3Fake', amount: 2500 })).rejects.toMatchObject({ name: 'CaptureFailed', code: 'payment_intent_unexpected_state' });
  });

  it('void: cancels the intent; one already canceled is voided; one already captured is refunded in full', async () => {
    const { processor, sent } = fakeStripe([
      { status: 200, body: intent({ status: 'canceled' }) },
      stripeError(400, { type: 'invalid_request_error', code: 'payment_intent_unexpected_state' }),
      { status: 200, body: intent({ status: 'canceled' }) },
      stripeError(400, { type: 'invalid_request_error', code: 'payment_intent_unexpected_state' }),
      { status: 200, body: intent({ status: 'succeeded' }) },
      { status: 200, body: { id: 're_fake', object: 'refund', amount: 2500, status: 'succeeded' } },
    ]);
    expect(await processor.void({ key: 'pay_7:void', authorizationId: 'pi_3Fake' })).toEqual({ voided: true });
    expect(sent[0]).toMatchObject({ path: '/v1/payment_intents/pi_3Fake/cancel', idempotencyKey: 'pay_7:void:pi_3Fake' });
    expect(await processor.void({ key: 'pay_8:void', authorizationId: 'pi_3Fake' })).toEqual({ voided: true });
    expect(await processor.void({ key: 'pay_9:void', authorizationId: 'pi_3Fake' })).toEqual({ voided: true });
    expect(sent.at(-1)).toMatchObject({ path: '/v1/refunds', idempotencyKey: 'pay_9:void:pi_3Fake:refund' });
  });

  it('void without an authorization id (authorize timed out for good): finds the intents by the payment id in their metadata', async () => {
    const { processor, sent } = fakeStripe([
      { status: 200, body: { object: 'search_result', data: [intent({ id: 'pi_found', status: 'requires_capture' })], has_more: false, url: '/v1/payment_intents/search' } },
      { status: 200, body: intent({ id: 'pi_found', status: 'canceled' }) },
    ]);
    expect(await processor.void({ key: 'pay_10:void' })).toEqual({ voided: true });
    expect(sent[0]!.path).toContain('/v1/payment_intents/search');
    expect(decodeURIComponent(sent[0]!.path)).toContain("metadata['payflow_payment_id']:'pay_10'");
    expect(sent[1]).toMatchObject({ path: '/v1/payment_intents/pi_found/cancel' });
  });

  it('refund: of the charge, with the refund key; a declined refund is RefundFailed', async () => {
    const { processor, sent } = fakeStripe([
      { status: 200, body: { id: 're_1', object: 'refund', amount: 1000, status: 'succeeded' } },
      { status: 200, body: { id: 're_2', object: 'refund', amount: 1000, status: 'failed', failure_reason: 'expired_or_canceled_card' } },
    ]);
    expect(await processor.refund({ key: 're_abc:refund', captureId: 'ch_3Fake', amount: 1000 })).toEqual({ refundId: 're_1' });
    expect(sent[0]).toMatchObject({ path: '/v1/refunds', idempotencyKey: 're_abc:refund' });
    expect(Object.fromEntries(sent[0]!.body)).toMatchObject({ charge: 'ch_3Fake', amount: '1000' });
    await expect(processor.refund({ key: 're_def:refund', captureId: 'ch_3Fake', amount: 1000 })).rejects.toMatchObject({ name: 'RefundFailed', code: 'expired_or_canceled_card' });
  });
});
