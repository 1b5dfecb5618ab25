// The client's retry policy against a real HTTP server on a local socket: each test scripts the
// server's answers, and the assertions read what actually arrived over the wire (no mocked fetch).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { PaymentsApiError, PaymentsClient, PaymentsConnectionError, backoffDelayMs, DEFAULT_RETRY_POLICY, retryAfterMs } from '../../client/payments-client.ts';

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  at: number;
}

type Answer = (response: ServerResponse, request: IncomingMessage) => void;

const json = (status: number, body: unknown, headers: Record<string, string> = {}): Answer => (response) => {
  response.writeHead(status, { 'content-type': 'application/json', 'x-amzn-RequestId': `req-${status}`, ...headers });
  response.end(JSON.stringify(body));
};
const apiError = (status: number, type: string, code: string, extra: Record<string, string> = {}, headers: Record<string, string> = {}) =>
  json(status, { error: { type, code, message: `${code} happened`, ...extra } }, headers);
/** The connection dies before any answer: what a client sees when a load balancer or the network drops it. */
const hangUp: Answer = (_response, request) => request.socket.destroy();

const payment = { id: 'pay_1', object: 'payment', amount: 1000, currency: 'USD', status: 'pending', source: 'tok_success' };

let server: Server | undefined;

/** Serves the scripted answers in order (the last one repeats) and records every request. */
async function scriptedServer(...answers: Answer[]): Promise<{ baseUrl: string; received: Received[] }> {
  const received: Received[] = [];
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      received.push({ method: request.method!, url: request.url!, headers: request.headers, body, at: performance.now() });
      (answers[received.length - 1] ?? answers.at(-1)!)(response, request);
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, received };
}

afterEach(async () => {
  if (!server) return;
  server.closeAllConnections();
  await new Promise((resolve) => server!.close(resolve));
  server = undefined;
});

const fastRetries = { baseDelayMs: 5, maxDelayMs: 50 };

describe('one idempotency key per logical operation', () => {
  it('sends the same generated key on every retry of one createPayment', async () => {
    const { baseUrl, received } = await scriptedServer(apiError(503, 'api_error', 'internal_error'), hangUp, json(201, payment));
    const client = new PaymentsClient({ baseUrl, apiKey: 'key-a', retry: fastRetries });

    const created = await client.createPayment({ amount: 1000, currency: 'USD', source: 'tok_success' });

    expect(created).toEqual(payment);
    expect(received).toHaveLength(3);
    const keys = received.map((request) => request.headers['idempotency-key']);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Set(keys)).toEqual(new Set([keys[0]]));
    for (const request of received) {
      expect(request).toMatchObject({ method: 'POST', url: '/v1/payments', body: '{"amount":1000,"currency":"USD","source":"tok_success"}' });
      expect(request.headers['x-api-key']).toBe('key-a');
      expect(request.headers['content-type']).toBe('application/json');
    }
  });

  it('uses a new key for each logical operation, and a given key verbatim', async () => {
    const { baseUrl, received } = await scriptedServer(json(201, payment));
    const client = new PaymentsClient({ baseUrl, apiKey: 'key-a' });

    await client.createPayment({ amount: 1000, currency: 'USD', source: 'tok_success' });
    await client.createPayment({ amount: 1000, currency: 'USD', source: 'tok_success' });
    await client.createRefund('pay_1', { amount: 10 }, { idempotencyKey: 'refund-order-42' });

    const [first, second, refund] = received.map((request) => request.headers['idempotency-key']);
    expect(first).not.toBe(second);
    expect(refund).toBe('refund-order-42');
    expect(received[2]).toMatchObject({ url: '/v1/payments/pay_1/refunds', body: '{"amount":10}' });
  });
});

describe('what is retried', () => {
  it('retries a network error (connection dropped without an answer)', async () => {
    const { baseUrl, received } = await scriptedServer(hangUp, hangUp, json(200, payment));
    const client = new PaymentsClient({ baseUrl, apiKey: 'k', retry: fastRetries });
    await expect(client.getPayment('pay_1')).resolves.toEqual(payment);
    expect(received).toHaveLength(3);
  });

  it.each([409, 429, 500, 502, 503, 504])('retries HTTP %i', async (status) => {
    const { baseUrl, received } = await scriptedServer(apiError(status, 'api_error', 'whatever'), json(201, payment));
    const client = new PaymentsClient({ baseUrl, apiKey: 'k', retry: fastRetries });
    const response = await client.send('POST', 'payments', { body: {}, idempotencyKey: 'k1' });
    expect(response).toMatchObject({ status: 201, attempts: 2 });
    expect(received).toHaveLength(2);
  });

  it.each([
    [400, 'invalid_request_error', 'parameter_invalid', 'amount'],
    [403, 'authentication_error', 'invalid_api_key', undefined],
    [404, 'invalid_request_error', 'resource_not_found', undefined],
    [422, 'idempotency_error', 'idempotency_key_reused', undefined],
    [422, 'invalid_request_error', 'refund_exceeds_refundable', 'amount'],
  ])('does not retry HTTP %i %s/%s: throws a typed PaymentsApiError at once', async (status, type, code, param) => {
    const { baseUrl, received } = await scriptedServer(apiError(status, type, code, param ? { param } : {}));
    const client = new PaymentsClient({ baseUrl, apiKey: 'k', retry: fastRetries });

    const error = await client.createPayment({ amount: 1, currency: 'USD', source: 'tok_success' }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(PaymentsApiError);
    expect(error).toMatchObject({ status, type, code, param, requestId: `req-${status}`, attempts: 1, message: `${code} happened` });
    expect(received).toHaveLength(1);
  });

  it('gives up after maxRetries and throws the last answer', async () => {
    const { baseUrl, received } = await scriptedServer(apiError(502, 'api_error', 'bad_gateway'));
    const client = new PaymentsClient({ baseUrl, apiKey: 'k', retry: { ...fastRetries, maxRetries: 3 } });
    await expect(client.getPayment('pay_1')).rejects.toMatchObject({ name: 'PaymentsApiError', status: 502, code: 'bad_gateway', attempts: 4 });
    expect(received).toHaveLength(4);
  });

  it('gives up on a server that never answers with a PaymentsConnectionError', async () => {
    const { baseUrl, received } = await scriptedServer(hangUp);
    const client = new PaymentsClient({ baseUrl, apiKey: 'k', retry: { ...fastRetries, maxRetries: 2 } });
    const error = await client.getPayment('pay_1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PaymentsConnectionError);
    expect(error).toMatchObject({ attempts: 3 });
    expect(received).toHaveLength(3);
  });

  it('reads an error answer that is not in the error shape (e.g. from a proxy) by its status', async () => {
    const { baseUrl } = await scriptedServer((response) => {
      response.writeHead(400, { 'content-type': 'text/html' });
      response.end('<html>bad</html>');
    });
    const client = new PaymentsClient({ baseUrl, apiKey: 'k' });
    await expect(client.getPayment('pay_1')).rejects.toMatchObject({ status: 400, type: 'invalid_request_error', code: 'http_400' });
  });
});

describe('when retries happen', () => {
  it('backs off exponentially: with the jitter at its top the pauses are base, 2x base, 4x base', async () => {
    const { baseUrl, received } = await scriptedServer(apiError(503, 'api_error', 'x'), apiError(503, 'api_error', 'x'), apiError(503, 'api_error', 'x'), json(200, payment));
    const client = new PaymentsClient({ baseUrl, apiKey: 'k', retry: { baseDelayMs: 80, maxDelayMs: 10_000 }, random: () => 0.999 });
    await client.getPayment('pay_1');
    const pauses = received.slice(1).map((request, index) => request.at - received[index]!.at);
    expect(pauses[0]).toBeGreaterThanOrEqual(75);
    expect(pauses[1]).toBeGreaterThanOrEqual(155);
    expect(pauses[2]).toBeGreaterThanOrEqual(315);
  });

  it('full jitter: pauses are random between 0 and the cap, and the cap never exceeds maxDelayMs', () => {
    const policy = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 100, maxDelayMs: 1_000 };
    expect(backoffDelayMs(0, policy, () => 0)).toBe(0);
    expect(backoffDelayMs(0, policy, () => 0.5)).toBe(50);
    expect(backoffDelayMs(3, policy, () => 0.5)).toBe(400);
    expect(backoffDelayMs(10, policy, () => 0.999)).toBeLessThan(1_000);
  });

  it('waits at least Retry-After, even when the jitter would retry at once', async () => {
    const { baseUrl, received } = await scriptedServer(apiError(409, 'idempotency_error', 'idempotency_key_in_use', {}, { 'Retry-After': '1' }), json(201, payment));
    const client = new PaymentsClient({ baseUrl, apiKey: 'k', retry: fastRetries, random: () => 0 });
    await client.createPayment({ amount: 1000, currency: 'USD', source: 'tok_success' });
    expect(received[1]!.at - received[0]!.at).toBeGreaterThanOrEqual(990);
  });

  it('does not wait for a Retry-After longer than maxRetryAfterMs: it throws that answer', async () => {
    const { baseUrl, received } = await scriptedServer(apiError(429, 'rate_limit_error', 'rate_limited', {}, { 'Retry-After': '120' }));
    const client = new PaymentsClient({ baseUrl, apiKey: 'k', retry: { ...fastRetries, maxRetryAfterMs: 5_000 } });
    await expect(client.getPayment('pay_1')).rejects.toMatchObject({ status: 429, code: 'rate_limited' });
    expect(received).toHaveLength(1);
  });

  it('never retries 429 quota_exceeded, even with a short Retry-After: the quota is used up until it resets', async () => {
    const { baseUrl, received } = await scriptedServer(apiError(429, 'rate_limit_error', 'quota_exceeded', {}, { 'Retry-After': '2' }), json(200, payment));
    const client = new PaymentsClient({ baseUrl, apiKey: 'k', retry: fastRetries });
    const error = await client.getPayment('pay_1').catch((caught: unknown) => caught);
    expect(error).toMatchObject({ status: 429, code: 'quota_exceeded', attempts: 1 });
    expect(retryAfterMs((error as PaymentsApiError).headers)).toBe(2000);
    expect(received).toHaveLength(1);
  });

  it('parses Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2026-11-22T00:00:00Z');
    expect(retryAfterMs(new Headers({ 'Retry-After': '2' }), now)).toBe(2000);
    expect(retryAfterMs(new Headers({ 'Retry-After': 'Sun, 22 Nov 2026 00:00:03 GMT' }), now)).toBe(3000);
    expect(retryAfterMs(new Headers({ 'Retry-After': 'soon' }), now)).toBeUndefined();
    expect(retryAfterMs(new Headers(), now)).toBeUndefined();
  });
});

describe('answers', () => {
  it('reports a replay (Idempotent-Replayed: true) and keeps the body as received', async () => {
    const { baseUrl } = await scriptedServer(json(201, payment, { 'Idempotent-Replayed': 'true' }));
    const client = new PaymentsClient({ baseUrl, apiKey: 'k' });
    const response = await client.send('POST', 'payments', { body: {}, idempotencyKey: 'k1' });
    expect(response).toMatchObject({ status: 201, replayed: true, body: payment, text: JSON.stringify(payment), requestId: 'req-201' });
  });
});
