// API Gateway's own answers (keys, throttling, unknown routes) in the API's error shape (DESIGN §2).
import { describe, expect, it } from 'vitest';
import { call, expectError, merchant, newKey } from './target.ts';

const merchantA = merchant('MerchantA');

describe('API keys', () => {
  it('no x-api-key → 403 authentication_error invalid_api_key', async () => {
    expectError(await call('GET', 'payments/pay_000000000000000000000000'), 403, 'authentication_error', 'invalid_api_key');
    expectError(
      await call('POST', 'payments', { idempotencyKey: newKey(), body: { amount: 100, currency: 'USD', source: 'tok_success' } }),
      403,
      'authentication_error',
      'invalid_api_key',
    );
  });

  it('an unknown key → 403 authentication_error invalid_api_key', async () => {
    expectError(await call('GET', 'payments/pay_000000000000000000000000', { apiKey: 'not-a-key-of-this-api-0123456789abcdef' }), 403, 'authentication_error', 'invalid_api_key');
  });
});

describe('unknown routes', () => {
  it.each([
    ['GET', 'nope'],
    ['GET', 'payments/pay_1/nope'],
    ['DELETE', 'payments/pay_1'],
    ['PUT', 'payments'],
  ])('%s /%s → 404 resource_not_found', async (method, path) => {
    expectError(await call(method, path, { apiKey: merchantA.apiKey }), 404, 'invalid_request_error', 'resource_not_found');
  });
});

describe('request ids', () => {
  it('every answer carries x-amzn-RequestId, a different one each time', async () => {
    const answers = [
      await call('GET', 'payments/pay_000000000000000000000000', { apiKey: merchantA.apiKey }),
      await call('GET', 'nope', { apiKey: merchantA.apiKey }),
      await call('POST', 'payments', { apiKey: merchantA.apiKey, idempotencyKey: newKey(), body: { amount: 100, currency: 'USD', source: 'tok_success' } }),
    ];
    const ids = answers.map((answer) => answer.headers.get('x-amzn-requestid'));
    for (const id of ids) expect(id).toBeTruthy();
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('throttling: each key is limited by its usage plan', () => {
  it("a burst over the throttle-probe merchant's trial plan → 429 rate_limit_error rate_limited, with Retry-After", async () => {
    const probe = merchant('ThrottleProbe');
    const answers = await Promise.all(Array.from({ length: 12 }, () => call('GET', 'payments/pay_000000000000000000000000', { apiKey: probe.apiKey })));
    const throttled = answers.filter((answer) => answer.status === 429);
    expect(throttled.length).toBeGreaterThan(0);
    for (const answer of throttled) {
      expectError(answer, 429, 'rate_limit_error', 'rate_limited');
      expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    // The others got through to the API (and found nothing).
    for (const answer of answers.filter((a) => a.status !== 429)) expect(answer.status).toBe(404);
  });

  it("another merchant's plan is not affected by that burst", async () => {
    const answers = await Promise.all(Array.from({ length: 5 }, () => call('GET', 'payments/pay_000000000000000000000000', { apiKey: merchantA.apiKey })));
    expect(answers.map((answer) => answer.status)).toEqual([404, 404, 404, 404, 404]);
  });
});

describe('request size', () => {
  it('a body over the API limit is a 4xx in the error shape, never a 5xx', async () => {
    const answer = await call('POST', 'payments', {
      apiKey: merchantA.apiKey,
      idempotencyKey: newKey(),
      body: { amount: 100, currency: 'USD', source: 'tok_success', description: 'x'.repeat(64 * 1024) },
    });
    expect(answer.status).toBeGreaterThanOrEqual(400);
    expect(answer.status).toBeLessThan(500);
    expect(answer.json).toMatchObject({ error: { type: 'invalid_request_error', code: expect.any(String), message: expect.any(String) } });
  });
});
