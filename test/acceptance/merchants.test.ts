// Merchants are isolated from each other: the API key is the merchant identity (DESIGN §2).
import { describe, expect, it } from 'vitest';
import { call, expectError, merchant, newKey, paymentReaching } from './target.ts';

const merchantA = merchant('MerchantA');
const merchantB = merchant('MerchantB');

describe("GET /payments/{id}: another merchant's id is 404", () => {
  it("merchant-b cannot read merchant-a's payment, merchant-a can", async () => {
    const payment = await merchantA.client.createPayment({ amount: 700, currency: 'GBP', source: 'tok_success' });
    expectError(await call('GET', `payments/${payment.id}`, { apiKey: merchantB.apiKey }), 404, 'invalid_request_error', 'resource_not_found');
    const own = await call('GET', `payments/${payment.id}`, { apiKey: merchantA.apiKey });
    expect(own.status).toBe(200);
    expect(own.json).toMatchObject({ id: payment.id, amount: 700, currency: 'GBP' });
    expect(own.json).not.toHaveProperty('merchantId');
  });

  it("merchant-b cannot refund merchant-a's payment: 404", async () => {
    const payment = await merchantA.client.createPayment({ amount: 700, currency: 'GBP', source: 'tok_success' });
    await paymentReaching(merchantA, payment.id, ['succeeded']);
    const answer = await call('POST', `payments/${payment.id}/refunds`, { apiKey: merchantB.apiKey, idempotencyKey: newKey(), body: { amount: 100 } });
    expectError(answer, 404, 'invalid_request_error', 'resource_not_found');
    expect((await merchantA.client.getPayment(payment.id)).amountRefunded).toBe(0);
  });

  it('an id that does not exist is 404 as well', async () => {
    expectError(await call('GET', 'payments/pay_000000000000000000000000', { apiKey: merchantA.apiKey }), 404, 'invalid_request_error', 'resource_not_found');
  });
});

describe('the same idempotency key from two merchants', () => {
  it('creates two payments, each its own merchant’s', async () => {
    const key = newKey('shared');
    const ofA = await merchantA.client.createPayment({ amount: 100, currency: 'USD', source: 'tok_success' }, { idempotencyKey: key });
    const ofB = await merchantB.client.createPayment({ amount: 100, currency: 'USD', source: 'tok_success' }, { idempotencyKey: key });
    expect(ofA.id).not.toBe(ofB.id);
    expect((await merchantA.client.getPayment(ofA.id)).id).toBe(ofA.id);
    expect((await merchantB.client.getPayment(ofB.id)).id).toBe(ofB.id);
    expectError(await call('GET', `payments/${ofB.id}`, { apiKey: merchantA.apiKey }), 404, 'invalid_request_error', 'resource_not_found');
  });
});
