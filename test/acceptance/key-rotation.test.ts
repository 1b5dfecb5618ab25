// Key rotation (issue 11): a merchant's identity is not its API key. merchant-a has two active keys and a revoked one
// (ACCEPTANCE_MERCHANTS in global-setup.ts).
import { describe, expect, it } from 'vitest';
import { call, expectError, merchant, newKey } from './target.ts';

const primary = merchant('MerchantA');
const rotated = merchant('MerchantARotated', 'merchant-a');
const merchantB = merchant('MerchantB');

describe('two active keys of one merchant', () => {
  it('see the same payments: created with one, read and listed with the other', async () => {
    expect(rotated.keyId).not.toBe(primary.keyId);
    const payment = await primary.client.createPayment({ amount: 1234, currency: 'EUR', source: 'tok_success' });
    expect((await rotated.client.getPayment(payment.id)).id).toBe(payment.id);
    const listed = await rotated.client.listPayments({ limit: 100 });
    expect(listed.data.map((p) => p.id)).toContain(payment.id);
  });

  it('share idempotency keys: the same key and body through the other key is a replay of the same payment', async () => {
    const key = newKey('rotation');
    const body = { amount: 4321, currency: 'EUR', source: 'tok_success' };
    const first = await call('POST', 'payments', { apiKey: primary.apiKey, idempotencyKey: key, body });
    const again = await call('POST', 'payments', { apiKey: rotated.apiKey, idempotencyKey: key, body });
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.json.id).toBe(first.json.id);
    expectError(await call('POST', 'payments', { apiKey: rotated.apiKey, idempotencyKey: key, body: { ...body, amount: 1 } }), 422, 'idempotency_error', 'idempotency_key_reused');
  });
});

describe('a revoked key', () => {
  it('is 403 invalid_api_key', async () => {
    const retired = merchant('MerchantARetired', 'merchant-a');
    expectError(await call('GET', 'payments', { apiKey: retired.apiKey }), 403, 'authentication_error', 'invalid_api_key');
  });
});

describe('another merchant', () => {
  it('sees nothing of the rotating merchant', async () => {
    const payment = await rotated.client.createPayment({ amount: 999, currency: 'EUR', source: 'tok_success' });
    expectError(await call('GET', `payments/${payment.id}`, { apiKey: merchantB.apiKey }), 404, 'invalid_request_error', 'resource_not_found');
    expect((await merchantB.client.listPayments({ limit: 100 })).data.map((p) => p.id)).not.toContain(payment.id);
  });
});
