import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { apiEvent, lambdaContext } from '../../support/api-events.ts';
import { paymentIdFor } from '../../../lambdas/domain/ids.ts';
import { getPaymentById, postPayment, setUpApi, toResponse, type ApiUnderTest } from './helpers.ts';

let api: ApiUnderTest;
beforeAll(async () => {
  api = await setUpApi();
});

describe('GET /v1/payments/{id}', () => {
  it('returns 200 and the merchant\'s own payment, exactly as created', async () => {
    const created = await postPayment(api, { merchant: 'merchant-a', key: randomUUID() });
    const fetched = await getPaymentById(api, created.json.id, 'merchant-a');
    expect(fetched.statusCode).toBe(200);
    expect(fetched.headers['Content-Type']).toBe('application/json');
    expect(fetched.json).toEqual(created.json);
  });

  it('another merchant\'s payment is 404 resource_not_found, indistinguishable from an unknown id', async () => {
    const created = await postPayment(api, { merchant: 'merchant-a', key: randomUUID() });
    const foreign = await getPaymentById(api, created.json.id, 'merchant-b');
    const unknown = await getPaymentById(api, paymentIdFor('merchant-b', randomUUID()), 'merchant-b');
    for (const response of [foreign, unknown]) {
      expect(response.statusCode).toBe(404);
      expect(response.json).toEqual({ error: { type: 'invalid_request_error', code: 'resource_not_found', message: 'No such payment.' } });
    }
    expect(foreign.rawBody).toBe(unknown.rawBody);
  });

  it.each(['pay_nothex000000000000000000', 're_0123456789abcdef01234567', '../etc/passwd', 'PAYMENT#x', ''])('a malformed id %j is 404', async (id) => {
    const response = await getPaymentById(api, id);
    expect(response.statusCode).toBe(404);
    expect(response.json.error.code).toBe('resource_not_found');
  });

  it('without an API key identity is 403 invalid_api_key', async () => {
    const event = apiEvent({ method: 'GET', resource: '/v1/payments/{id}', pathParameters: { id: paymentIdFor('m', 'k') }, apiKeyId: null });
    const response = toResponse(await api.getPayment(event, lambdaContext()));
    expect(response.statusCode).toBe(403);
    expect(response.json.error).toEqual({ type: 'authentication_error', code: 'invalid_api_key', message: expect.any(String) });
  });
});
