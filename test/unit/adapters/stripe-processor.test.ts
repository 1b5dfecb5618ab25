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

// The daily reconciliation's listing, against recorded list responses in Stripe's documented shapes
// (https://docs.stripe.com/api/payment_intents/list, /api/pagination, /api/charges/object). A fake.
describe("the processor's records: a day's captured PaymentIntents", () => {
  const charge = (fields: Record<string, unknown>) => ({ id: 'ch_3Fake', object: 'charge', amount: 2500, amount_captured: 2500, amount_refunded: 0, captured: true, currency: 'eur', ...fields });
  const listed = (data: unknown[], hasMore: boolean) => ({ status: 200, body: { object: 'list', url: '/v1/payment_intents', has_more: hasMore, data } });

  it('lists by created range with the charge expanded, keeps captured Payflow intents, pages with starting_after', async () => {
    const { processor, sent } = fakeStripe([
      listed(
        [
          intent({ id: 'pi_a', status: 'succeeded', amount_received: 2500, created: 1764547200, metadata: { payflow_payment_id: 'pay_a' }, latest_charge: charge({ id: 'ch_a', amount_refunded: 500 }) }),
          intent({ id: 'pi_b', status: 'requires_capture', amount_received: 0, created: 1764547300, metadata: { payflow_payment_id: 'pay_b' } }),
          intent({ id: 'pi_c', status: 'succeeded', amount_received: 900, created: 1764547400, metadata: {}, latest_charge: charge({ id: 'ch_c' }) }),
        ],
        true,
      ),
      listed([intent({ id: 'pi_d', status: 'succeeded', amount_received: 1200, created: 1764550000, metadata: { payflow_payment_id: 'pay_d' }, latest_charge: charge({ id: 'ch_d', amount: 1200 }) })], false),
    ]);
    const first = await processor.capturesOfDay('2025-12-01');
    expect(first).toEqual({
      items: [{ paymentId: 'pay_a', captureId: 'ch_a', authorizationId: 'pi_a', amount: 2500, currency: 'EUR', capturedAt: '2025-12-01T00:00:00.000Z', refundedAmount: 500, reversed: false }],
      nextPageToken: 'pi_c',
    });
    const query = new URL(`https://api.stripe.com${sent[0]!.path}`).searchParams;
    expect(sent[0]!.method).toBe('GET');
    expect(Object.fromEntries(query)).toMatchObject({ 'created[gte]': '1764547200', 'created[lt]': '1764633600', limit: '100', 'expand[0]': 'data.latest_charge' });
    expect(query.get('starting_after')).toBeNull();

    const second = await processor.capturesOfDay('2025-12-01', first.nextPageToken);
    expect(second.items.map((capture) => capture.paymentId)).toEqual(['pay_d']);
    expect(second.nextPageToken).toBeUndefined();
    expect(new URL(`https://api.stripe.com${sent[1]!.path}`).searchParams.get('starting_after')).toBe('pi_c');
  });

  it("looks a payment's capture up by its PaymentIntent id; one not captured is absent", async () => {
    const { processor, sent } = fakeStripe([
      { status: 200, body: intent({ id: 'pi_x', status: 'succeeded', amount_received: 2500, created: 1764547200, metadata: { payflow_payment_id: 'pay_x' }, latest_charge: charge({ id: 'ch_x' }) }) },
      { status: 200, body: intent({ id: 'pi_y', status: 'canceled', amount_received: 0, created: 1764547200, metadata: { payflow_payment_id: 'pay_y' } }) },
    ]);
    const found = await processor.capturesOf([{ paymentId: 'pay_x', authorizationId: 'pi_x' }, { paymentId: 'pay_y', authorizationId: 'pi_y' }]);
    expect([...found.keys()]).toEqual(['pay_x']);
    expect(found.get('pay_x')).toMatchObject({ captureId: 'ch_x', amount: 2500 });
    expect(sent.map((request) => request.path.split('?')[0])).toEqual(['/v1/payment_intents/pi_x', '/v1/payment_intents/pi_y']);
  });
});
