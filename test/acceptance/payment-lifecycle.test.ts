// Every accepted payment ends in a terminal status (DESIGN §4, §5, §6), per test token, and refunds
// never exceed what was captured — observed only through the API.
import { describe, expect, it } from 'vitest';
import { PaymentsApiError } from '../../client/payments-client.ts';
import { call, expectError, merchant, newKey, paymentReaching, TERMINAL_PAYMENT_STATUSES } from './target.ts';

const merchantA = merchant('MerchantA');

describe('a payment reaches the terminal status its test token calls for', () => {
  it.each([
    ['tok_success', 'succeeded', undefined],
    ['tok_decline', 'failed', 'card_declined'],
    ['tok_insufficient_funds', 'failed', 'insufficient_funds'],
    ['tok_capture_fail', 'failed', 'capture_failed'],
    ['tok_flaky', 'succeeded', undefined],
    ['tok_timeout', 'succeeded', undefined],
  ])('%s → %s %s', async (source, status, failureCode) => {
    const created = await call('POST', 'payments', {
      apiKey: merchantA.apiKey,
      idempotencyKey: newKey(source),
      body: { amount: 4200, currency: 'EUR', source, metadata: { order: source } },
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ object: 'payment', amount: 4200, currency: 'EUR', status: 'pending', source, metadata: { order: source } });
    expect(created.headers.get('location')).toMatch(new RegExp(`/payments/${created.json.id}$`));

    const settled = await paymentReaching(merchantA, created.json.id, TERMINAL_PAYMENT_STATUSES);
    expect(settled.status).toBe(status);
    if (failureCode) {
      expect(settled.failureCode).toBe(failureCode);
      expect(settled).toMatchObject({ amountCaptured: 0, amountRefundable: 0 });
    } else {
      expect(settled.failureCode).toBeUndefined();
      expect(settled).toMatchObject({ amountCaptured: 4200, amountRefundable: 4200, amountRefunded: 0 });
    }
  });
});

describe('text SQS refuses, or a queue emulator might, does not stall a payment', () => {
  it.each([
    ['U+FFFF and U+FFFE', 'order \uffff\ufffe', { note: '\uffff' }],
    ['an emoji (outside the Basic Multilingual Plane)', 'order \u{1F600}', { note: '\u{1F389}' }],
  ])('%s in description and metadata → 201, then succeeded with the text intact', async (_, description, metadata) => {
    const created = await call('POST', 'payments', {
      apiKey: merchantA.apiKey,
      idempotencyKey: newKey('text'),
      body: { amount: 1234, currency: 'EUR', source: 'tok_success', description, metadata },
    });
    expect(created.status).toBe(201);
    const settled = await paymentReaching(merchantA, created.json.id, TERMINAL_PAYMENT_STATUSES);
    expect(settled).toMatchObject({ status: 'succeeded', description, metadata });
  });
});

describe('refunds', () => {
  async function succeededPayment(amount: number) {
    const payment = await merchantA.client.createPayment({ amount, currency: 'USD', source: 'tok_success' });
    return paymentReaching(merchantA, payment.id, ['succeeded']);
  }

  it('a partial refund, then the rest: partially_refunded, then refunded', async () => {
    const payment = await succeededPayment(1000);

    const partial = await merchantA.client.createRefund(payment.id, { amount: 300, reason: 'requested_by_customer' });
    expect(partial).toMatchObject({ object: 'refund', paymentId: payment.id, amount: 300, currency: 'USD', reason: 'requested_by_customer' });
    const afterPartial = await paymentReaching(merchantA, payment.id, ['partially_refunded']);
    expect(afterPartial).toMatchObject({ amountCaptured: 1000, amountRefunded: 300, amountRefundable: 700 });

    // No amount: whatever is still refundable.
    const rest = await merchantA.client.createRefund(payment.id);
    expect(rest.amount).toBe(700);
    const refunded = await paymentReaching(merchantA, payment.id, ['refunded']);
    expect(refunded).toMatchObject({ amountCaptured: 1000, amountRefunded: 1000, amountRefundable: 0 });
  });

  it('more than is refundable → 422 refund_exceeds_refundable on amount, and nothing is refunded', async () => {
    const payment = await succeededPayment(1000);
    const answer = await call('POST', `payments/${payment.id}/refunds`, { apiKey: merchantA.apiKey, idempotencyKey: newKey('over'), body: { amount: 1001 } });
    expectError(answer, 422, 'invalid_request_error', 'refund_exceeds_refundable', 'amount');

    await merchantA.client.createRefund(payment.id, { amount: 600 });
    const error = await merchantA.client.createRefund(payment.id, { amount: 401 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PaymentsApiError);
    expect(error).toMatchObject({ status: 422, code: 'refund_exceeds_refundable', param: 'amount' });
    const settled = await paymentReaching(merchantA, payment.id, ['partially_refunded'], { amountRefunded: 600 });
    expect(settled.amountRefundable).toBe(400);
  });

  it('concurrent refunds never exceed the captured amount in total', async () => {
    const payment = await succeededPayment(1000);
    const attempts = await Promise.all(
      Array.from({ length: 5 }, () =>
        call('POST', `payments/${payment.id}/refunds`, { apiKey: merchantA.apiKey, idempotencyKey: newKey('race'), body: { amount: 300 } }),
      ),
    );
    const accepted = attempts.filter((answer) => answer.status === 201);
    expect(accepted).toHaveLength(3);
    for (const rejected of attempts.filter((answer) => answer.status !== 201)) {
      expectError(rejected, 422, 'invalid_request_error', 'refund_exceeds_refundable', 'amount');
    }
    const settled = await paymentReaching(merchantA, payment.id, ['partially_refunded'], { amountRefunded: 900 });
    expect(settled).toMatchObject({ amountCaptured: 1000, amountRefundable: 100 });
  });

  it('a failed payment is not refundable → 409 payment_not_refundable', async () => {
    const payment = await merchantA.client.createPayment({ amount: 1000, currency: 'USD', source: 'tok_decline' });
    await paymentReaching(merchantA, payment.id, ['failed']);
    const answer = await call('POST', `payments/${payment.id}/refunds`, { apiKey: merchantA.apiKey, idempotencyKey: newKey('failed'), body: { amount: 100 } });
    expectError(answer, 409, 'invalid_request_error', 'payment_not_refundable');
  });
});
