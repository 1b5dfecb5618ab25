// DESIGN §2 "Idempotency semantics", one describe per row, over HTTP against the stack under test.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { call, expectError, merchant, newKey, paymentReaching, TERMINAL_PAYMENT_STATUSES } from './target.ts';

const merchantA = merchant('MerchantA');
const merchantB = merchant('MerchantB');
const paymentBody = (amount = 1500) => ({ amount, currency: 'USD' as const, source: 'tok_success', description: 'idempotency acceptance' });
const createPayment = (idempotencyKey: string | undefined, body: unknown = paymentBody(), apiKey = merchantA.apiKey, headers: Record<string, string> = {}) =>
  call('POST', 'payments', { apiKey, idempotencyKey, body, headers });

describe('key missing on a POST → 400 idempotency_key_missing', () => {
  it('POST /payments without Idempotency-Key', async () => {
    expectError(await createPayment(undefined), 400, 'invalid_request_error', 'idempotency_key_missing', 'Idempotency-Key');
  });

  it('POST /payments/{id}/refunds without Idempotency-Key', async () => {
    const payment = await merchantA.client.createPayment(paymentBody());
    const answer = await call('POST', `payments/${payment.id}/refunds`, { apiKey: merchantA.apiKey, body: { amount: 100 } });
    expectError(answer, 400, 'invalid_request_error', 'idempotency_key_missing', 'Idempotency-Key');
  });
});

describe('key malformed (empty, > 255 chars, non-printable) → 400', () => {
  it('longer than 255 characters: idempotency_key_invalid', async () => {
    expectError(await createPayment('k'.repeat(256)), 400, 'invalid_request_error', 'idempotency_key_invalid');
  });

  it('with a non-printable character (a tab): idempotency_key_invalid', async () => {
    expectError(await createPayment('key\twith-tab'), 400, 'invalid_request_error', 'idempotency_key_invalid');
  });

  it('empty (or blank): API Gateway counts a blank required header as missing, so 400 idempotency_key_missing', async () => {
    expectError(await createPayment(''), 400, 'invalid_request_error', 'idempotency_key_missing', 'Idempotency-Key');
    expectError(await createPayment('   '), 400, 'invalid_request_error', 'idempotency_key_missing', 'Idempotency-Key');
  });

  it('255 printable characters are a valid key', async () => {
    expect((await createPayment(newKey().padEnd(255, 'x'))).status).toBe(201);
  });
});

describe('same merchant + key + same body, first finished → the first status and body, byte-identical, plus Idempotent-Replayed: true', () => {
  it('POST /payments', async () => {
    const key = newKey();
    const first = await createPayment(key);
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();

    const replay = await createPayment(key);
    expect(replay.status).toBe(201);
    expect(replay.text).toBe(first.text);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.headers.get('location')).toBe(first.headers.get('location'));
  });

  it('header names are case-insensitive: idempotency-key replays Idempotency-Key', async () => {
    const key = newKey();
    const first = await createPayment(key);
    const replay = await call('POST', 'payments', { apiKey: merchantA.apiKey, body: paymentBody(), headers: { 'idempotency-key': key } });
    expect(replay.status).toBe(first.status);
    expect(replay.text).toBe(first.text);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
  });

  it('POST /payments/{id}/refunds', async () => {
    const payment = await merchantA.client.createPayment(paymentBody(2000));
    await paymentReaching(merchantA, payment.id, ['succeeded']);
    const key = newKey('refund');
    const first = await call('POST', `payments/${payment.id}/refunds`, { apiKey: merchantA.apiKey, idempotencyKey: key, body: { amount: 500 } });
    expect(first.status).toBe(201);
    const replay = await call('POST', `payments/${payment.id}/refunds`, { apiKey: merchantA.apiKey, idempotencyKey: key, body: { amount: 500 } });
    expect(replay.status).toBe(201);
    expect(replay.text).toBe(first.text);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    // Replayed, not refunded twice.
    const settled = await paymentReaching(merchantA, payment.id, ['partially_refunded']);
    expect(settled.amountRefunded).toBe(500);
  });
});

describe('same merchant + key, different body → 422 idempotency_key_reused', () => {
  it('POST /payments', async () => {
    const key = newKey();
    expect((await createPayment(key, paymentBody(1500))).status).toBe(201);
    expectError(await createPayment(key, paymentBody(1600)), 422, 'idempotency_error', 'idempotency_key_reused');
  });

  it('POST /payments/{id}/refunds', async () => {
    const payment = await merchantA.client.createPayment(paymentBody(2000));
    await paymentReaching(merchantA, payment.id, ['succeeded']);
    const key = newKey('refund');
    expect((await call('POST', `payments/${payment.id}/refunds`, { apiKey: merchantA.apiKey, idempotencyKey: key, body: { amount: 100 } })).status).toBe(201);
    const reused = await call('POST', `payments/${payment.id}/refunds`, { apiKey: merchantA.apiKey, idempotencyKey: key, body: { amount: 200 } });
    expectError(reused, 422, 'idempotency_error', 'idempotency_key_reused');
  });
});

describe('same merchant + key on another route → 422 idempotency_key_reused: a key names one request', () => {
  it('the key of a payment, sent to refund it, is refused; the payment still replays byte for byte', async () => {
    const key = newKey();
    const first = await createPayment(key, paymentBody(2000));
    expect(first.status).toBe(201);
    await paymentReaching(merchantA, first.json.id, ['succeeded']);
    const refund = await call('POST', `payments/${first.json.id}/refunds`, { apiKey: merchantA.apiKey, idempotencyKey: key, body: { amount: 100 } });
    expectError(refund, 422, 'idempotency_error', 'idempotency_key_reused');
    const replay = await createPayment(key, paymentBody(2000));
    expect(replay.status).toBe(201);
    expect(replay.text).toBe(first.text);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect((await merchantA.client.getPayment(first.json.id)).amountRefunded).toBe(0);
  });

  it('the key of a refund, sent to create a payment, is refused', async () => {
    const payment = await merchantA.client.createPayment(paymentBody(2000));
    await paymentReaching(merchantA, payment.id, ['succeeded']);
    const key = newKey('refund');
    expect((await call('POST', `payments/${payment.id}/refunds`, { apiKey: merchantA.apiKey, idempotencyKey: key, body: { amount: 100 } })).status).toBe(201);
    expectError(await createPayment(key), 422, 'idempotency_error', 'idempotency_key_reused');
  });
});

describe('same merchant + key while the first is still running → 409 idempotency_key_in_use, Retry-After', () => {
  it('concurrent identical requests: one creates, the others get 409 with Retry-After or the replay — never a second payment', async () => {
    // Whether a request overlaps the first one is up to the network: try a few bursts until one does.
    let inUse: Awaited<ReturnType<typeof createPayment>> | undefined;
    for (let burst = 0; burst < 5 && !inUse; burst++) {
      const key = newKey('burst');
      const answers = await Promise.all(Array.from({ length: 8 }, () => createPayment(key)));
      const created = answers.filter((answer) => answer.status === 201);
      for (const answer of answers) expect([201, 409]).toContain(answer.status);
      expect(created.filter((answer) => answer.headers.get('idempotent-replayed') !== 'true')).toHaveLength(1);
      expect(new Set(created.map((answer) => answer.json.id)).size).toBe(1);
      inUse = answers.find((answer) => answer.status === 409);
    }
    expect(inUse, 'no request of 5 bursts of 8 overlapped the first one').toBeDefined();
    expectError(inUse!, 409, 'idempotency_error', 'idempotency_key_in_use');
    expect(Number(inUse!.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

describe('same key from another merchant → independent: keys are scoped per merchant', () => {
  it('two merchants, one key, one body: two payments', async () => {
    const key = newKey();
    const ofA = await createPayment(key, paymentBody(), merchantA.apiKey);
    const ofB = await createPayment(key, paymentBody(), merchantB.apiKey);
    expect([ofA.status, ofB.status]).toEqual([201, 201]);
    expect(ofB.headers.get('idempotent-replayed')).toBeNull();
    expect(ofA.json.id).not.toBe(ofB.json.id);
  });
});

describe('invalid request (validation failed) → 400, not remembered: the client may fix it and reuse the key', () => {
  it('a 400 for a float amount, then the corrected body with the same key is created', async () => {
    const key = newKey();
    expectError(await createPayment(key, { ...paymentBody(), amount: 10.5 }), 400, 'invalid_request_error', 'parameter_invalid', 'amount');
    const fixed = await createPayment(key, paymentBody());
    expect(fixed.status).toBe(201);
    expect(fixed.headers.get('idempotent-replayed')).toBeNull();
  });

  it('a 400 for a body that is not JSON, then a valid one with the same key', async () => {
    const key = newKey();
    expectError(await createPayment(key, '{"amount": 10'), 400, 'invalid_request_error', 'invalid_json');
    expect((await createPayment(key, paymentBody())).status).toBe(201);
  });
});

describe('server error thrown, or key older than the retention → the payment id derives from (merchant, key), so a late retry cannot create a second payment', () => {
  // A server error cannot be provoked from outside, nor can 24 h pass in a test: what both rows rely
  // on is visible over HTTP — the id is a function of the merchant and the key (CONTRACT "IDs").
  it('the id is pay_ + the first 24 hex of sha256("payment\\0<merchant>\\0<key>")', async () => {
    const key = newKey();
    const answer = await createPayment(key);
    const expected = `pay_${createHash('sha256').update(`payment\0${merchantA.id}\0${key}`).digest('hex').slice(0, 24)}`;
    expect(answer.json.id).toBe(expected);
    // And the payment it names reaches a terminal status once, whatever retries follow.
    await createPayment(key);
    const settled = await paymentReaching(merchantA, expected, TERMINAL_PAYMENT_STATUSES);
    expect(settled.status).toBe('succeeded');
  });
});
