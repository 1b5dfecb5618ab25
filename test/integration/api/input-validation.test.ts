import { randomUUID } from 'node:crypto';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { apiEvent, lambdaContext } from '../../support/api-events.ts';
import { interceptDynamoDb, postPayment, setUpApi, toResponse, validPayment, type ApiUnderTest, type Response } from './helpers.ts';

let api: ApiUnderTest;
let interception: ReturnType<typeof interceptDynamoDb> | undefined;

beforeAll(async () => {
  api = await setUpApi();
});

afterEach(() => {
  interception?.stop();
  interception = undefined;
});

const newKey = () => `key-${randomUUID()}`;

function expectBadRequest(response: Response, code: string, param?: string) {
  expect(response.statusCode, response.rawBody).toBe(400);
  expect(response.headers['Content-Type']).toBe('application/json');
  expect(response.json).toEqual({
    error: { type: 'invalid_request_error', code, message: expect.any(String), ...(param === undefined ? {} : { param }) },
  });
}

describe('malformed or odd bodies are 400 with a clear code, and never reach DynamoDB', () => {
  it.each([
    ['malformed JSON', '{"amount": 100,', 'invalid_json'],
    ['a trailing comma', '{"amount":100,"currency":"USD","source":"tok_success",}', 'invalid_json'],
    ['an empty body', '', 'invalid_json'],
    ['whitespace only', '   \n ', 'invalid_json'],
    ['a JSON array', '[{"amount":100,"currency":"USD","source":"tok_success"}]', 'invalid_json'],
    ['JSON null', 'null', 'invalid_json'],
    ['a JSON number', '2500', 'invalid_json'],
    ['a JSON string', '"hello"', 'invalid_json'],
    ['base64 text sent as if it were JSON', Buffer.from(JSON.stringify(validPayment())).toString('base64'), 'invalid_json'],
    ['a byte-order mark', `\uFEFF${JSON.stringify(validPayment())}`, 'invalid_json'],
  ])('%s', async (_, body, code) => {
    interception = interceptDynamoDb(api.handlerDynamoDb);
    expectBadRequest(await postPayment(api, { key: newKey(), body }), code);
    expect(interception.calls).toEqual([]);
  });

  it('no body at all → invalid_json', async () => {
    expectBadRequest(await postPayment(api, { key: newKey(), body: null }), 'invalid_json');
  });

  it('a body over 16 KB → body_too_large', async () => {
    const body = JSON.stringify(validPayment()).replace('{', `{${' '.repeat(16 * 1024)}`);
    expectBadRequest(await postPayment(api, { key: newKey(), body }), 'body_too_large');
  });

  it('a multi-byte body is measured in bytes, not characters', async () => {
    const body = JSON.stringify(validPayment({ description: 'é'.repeat(400) })).replace('{', `{${' '.repeat(15_500)}`);
    expect(body.length).toBeLessThan(16 * 1024);
    expect(Buffer.byteLength(body)).toBeGreaterThan(16 * 1024);
    expectBadRequest(await postPayment(api, { key: newKey(), body }), 'body_too_large');
  });

  it('a form-encoded body → invalid_json', async () => {
    const response = await postPayment(api, {
      key: newKey(),
      body: 'amount=2500&currency=USD&source=tok_success',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expectBadRequest(response, 'invalid_json');
  });

  it('valid JSON with a non-JSON Content-Type → invalid_json', async () => {
    const response = await postPayment(api, { key: newKey(), headers: { 'Content-Type': 'text/plain' } });
    expectBadRequest(response, 'invalid_json');
  });

  it('a body API Gateway base64-encoded (isBase64Encoded) is decoded', async () => {
    const body = Buffer.from(JSON.stringify(validPayment())).toString('base64');
    const response = await postPayment(api, { key: newKey(), body, isBase64Encoded: true });
    expect(response.statusCode).toBe(201);
  });

  it('an isBase64Encoded body that is not base64, or not UTF-8, → invalid_json', async () => {
    expectBadRequest(await postPayment(api, { key: newKey(), body: '{"amount":1}', isBase64Encoded: true }), 'invalid_json');
    const notUtf8 = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]).toString('base64');
    expectBadRequest(await postPayment(api, { key: newKey(), body: notUtf8, isBase64Encoded: true }), 'invalid_json');
  });
});

// Issue 7: bytes that are not UTF-8, a charset that is not UTF-8, a key twice in one object.
describe('the body is UTF-8 JSON with each key once: anything else is refused, never reinterpreted', () => {
  /** A body as API Gateway passes it when every media type is binary (the API's setting): the client's bytes, base64-encoded. */
  const asSent = (...parts: Array<string | number[]>) =>
    Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part, 'utf8') : Buffer.from(part)))).toString('base64');
  const prefix = '{"amount":2500,"currency":"USD","source":"tok_success","description":"';

  it.each([
    ['a raw \\xff byte', [0xff]],
    ['a lone continuation byte', [0x80]],
    ['a truncated sequence', [0xc3]],
    ['an overlong encoding of "/"', [0xc0, 0xaf]],
    ['a UTF-8-encoded surrogate', [0xed, 0xa0, 0x80]],
    ['a code point above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
    ['Latin-1 é (0xe9)', [0xe9]],
  ])('%s in the description → invalid_json, nothing stored (not U+FFFD with 201)', async (_, bytes) => {
    interception = interceptDynamoDb(api.handlerDynamoDb);
    const response = await postPayment(api, { key: newKey(), body: asSent(prefix, bytes, '"}'), isBase64Encoded: true });
    expectBadRequest(response, 'invalid_json');
    expect(response.json.error.message).toMatch(/UTF-8/);
    expect(interception.calls).toEqual([]);
  });

  it('valid multi-byte UTF-8 in a base64 body is stored as sent', async () => {
    const description = 'Größe ✓ 😀';
    const response = await postPayment(api, { key: newKey(), body: asSent(prefix, description, '"}'), isBase64Encoded: true });
    expect(response.statusCode, response.rawBody).toBe(201);
    expect(response.json.description).toBe(description);
  });

  it('a byte-order mark in a base64 body is kept, so it is not JSON → invalid_json', async () => {
    const response = await postPayment(api, { key: newKey(), body: asSent([0xef, 0xbb, 0xbf], JSON.stringify(validPayment())), isBase64Encoded: true });
    expectBadRequest(response, 'invalid_json');
  });

  it.each(['application/json; charset=iso-8859-1', 'application/json;charset=ISO-8859-1', 'application/json; charset=latin1', 'application/json; charset=utf-16', 'application/json; charset="windows-1252"', 'application/json; charset=', 'application/json; charset=utf-8; charset=latin1'])(
    'Content-Type %s → 415 unsupported_media_type, nothing stored',
    async (contentType) => {
      interception = interceptDynamoDb(api.handlerDynamoDb);
      for (const body of [asSent(prefix, [0xe9], '"}'), asSent(JSON.stringify(validPayment()))]) {
        const response = await postPayment(api, { key: newKey(), body, isBase64Encoded: true, headers: { 'Content-Type': contentType } });
        expect(response.statusCode, response.rawBody).toBe(415);
        expect(response.headers['Content-Type']).toBe('application/json');
        expect(response.json).toEqual({ error: { type: 'invalid_request_error', code: 'unsupported_media_type', message: expect.any(String) } });
      }
      expect(interception.calls).toEqual([]);
    },
  );

  it.each(['application/json', 'application/json; charset=utf-8', 'application/json; charset=UTF-8', 'application/json;charset=utf8', 'application/json; charset=UTF8', 'application/json; charset="utf-8"', 'APPLICATION/JSON; CHARSET=UTF-8'])(
    'Content-Type %s is accepted',
    async (contentType) => {
      const response = await postPayment(api, { key: newKey(), body: asSent(JSON.stringify(validPayment())), isBase64Encoded: true, headers: { 'Content-Type': contentType } });
      expect(response.statusCode, response.rawBody).toBe(201);
    },
  );

  it('no Content-Type at all is taken as JSON in UTF-8', async () => {
    const event = apiEvent({ method: 'POST', resource: '/v1/payments', apiKeyId: 'merchant-a', headers: { 'Idempotency-Key': newKey() }, body: asSent(JSON.stringify(validPayment())), isBase64Encoded: true });
    expect(toResponse(await api.createPayment(event, lambdaContext())).statusCode).toBe(201);
  });

  it.each([
    ['amount twice: {"amount":1,"amount":1000,…} would charge 1000', '{"amount":1,"amount":1000,"currency":"USD","source":"tok_success"}', 'amount'],
    ['the same key spelled with an escape', '{"amount":1000,"\\u0061mount":1,"currency":"USD","source":"tok_success"}', 'amount'],
    ['currency twice with the same value', '{"amount":1000,"currency":"USD","currency":"USD","source":"tok_success"}', 'currency'],
    ['a metadata key twice', '{"amount":1000,"currency":"USD","source":"tok_success","metadata":{"orderId":"1","orderId":"2"}}', 'metadata.orderId'],
    ['metadata twice', '{"amount":1000,"currency":"USD","source":"tok_success","metadata":{},"metadata":{"a":"b"}}', 'metadata'],
    ['an unknown field twice', '{"amount":1000,"currency":"USD","source":"tok_success","x":1,"x":2}', 'x'],
  ])('%s → invalid_json (param names the key), nothing stored', async (_, body, param) => {
    interception = interceptDynamoDb(api.handlerDynamoDb);
    expectBadRequest(await postPayment(api, { key: newKey(), body }), 'invalid_json', param);
    expectBadRequest(await postPayment(api, { key: newKey(), body: Buffer.from(body).toString('base64'), isBase64Encoded: true }), 'invalid_json', param);
    expect(interception.calls).toEqual([]);
  });

  it('a refused body is not remembered: the key then works with a well-formed body', async () => {
    const key = newKey();
    expectBadRequest(await postPayment(api, { key, body: '{"amount":1,"amount":1000,"currency":"USD","source":"tok_success"}' }), 'invalid_json', 'amount');
    const created = await postPayment(api, { key, body: { amount: 1000, currency: 'USD', source: 'tok_success' } });
    expect(created.statusCode).toBe(201);
    expect(created.json.amount).toBe(1000);
  });
});

describe('fields are validated strictly, with param naming the field path', () => {
  it.each([
    ['an unknown field', 'parameter_unknown', 'capture', validPayment({ capture: false })],
    ['__proto__ as a field', 'parameter_unknown', '__proto__', JSON.stringify(validPayment()).replace('{', '{"__proto__":{"admin":true},')],
    ['a missing amount', 'parameter_missing', 'amount', { currency: 'USD', source: 'tok_success' }],
    ['a missing currency', 'parameter_missing', 'currency', { amount: 100, source: 'tok_success' }],
    ['a missing source', 'parameter_missing', 'source', { amount: 100, currency: 'USD' }],
    ['a float amount', 'parameter_invalid', 'amount', validPayment({ amount: 25.5 })],
    ['an amount as a string', 'parameter_invalid', 'amount', validPayment({ amount: '2500' })],
    ['a negative amount', 'parameter_invalid', 'amount', validPayment({ amount: -1 })],
    ['a zero amount', 'parameter_invalid', 'amount', validPayment({ amount: 0 })],
    ['an amount over 99 999 999', 'parameter_invalid', 'amount', validPayment({ amount: 100_000_000 })],
    ['an amount of 1e400 (Infinity)', 'parameter_invalid', 'amount', JSON.stringify(validPayment()).replace('2500', '1e400')],
    ['a null amount', 'parameter_invalid', 'amount', validPayment({ amount: null })],
    ['a lower-case currency', 'parameter_invalid', 'currency', validPayment({ currency: 'usd' })],
    ['an unknown currency', 'parameter_invalid', 'currency', validPayment({ currency: 'XYZ' })],
    ['a card number as source', 'parameter_invalid', 'source', validPayment({ source: '4242424242424242' })],
    ['a source over 64 characters', 'parameter_invalid', 'source', validPayment({ source: `tok_${'a'.repeat(61)}` })],
    ['a description over 500 characters', 'parameter_invalid', 'description', validPayment({ description: 'd'.repeat(501) })],
    ['21 metadata pairs', 'parameter_invalid', 'metadata', validPayment({ metadata: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, 'v'])) })],
    ['a metadata key over 40 characters', 'parameter_invalid', `metadata.${'k'.repeat(41)}`, validPayment({ metadata: { ['k'.repeat(41)]: 'v' } })],
    ['a metadata value that is not a string', 'parameter_invalid', 'metadata.tier', validPayment({ metadata: { tier: 3 } })],
    ['a metadata value over 500 characters', 'parameter_invalid', 'metadata.note', validPayment({ metadata: { note: 'n'.repeat(501) } })],
    ['metadata as an array', 'parameter_invalid', 'metadata', validPayment({ metadata: ['a'] })],
    ['a lone surrogate in the description', 'parameter_invalid', 'description', '{"amount":100,"currency":"USD","source":"tok_success","description":"a\\ud800"}'],
    ['a lone surrogate in a metadata key', 'parameter_invalid', 'metadata.\udc00', '{"amount":100,"currency":"USD","source":"tok_success","metadata":{"\\udc00":"v"}}'],
    ['a lone surrogate in a metadata value', 'parameter_invalid', 'metadata.note', '{"amount":100,"currency":"USD","source":"tok_success","metadata":{"note":"\\ud800"}}'],
  ])('%s → %s (param %s)', async (_, code, param, body) => {
    interception = interceptDynamoDb(api.handlerDynamoDb);
    expectBadRequest(await postPayment(api, { key: newKey(), body }), code, param);
    expect(interception.calls).toEqual([]);
  });

  it('the message explains the rule and never echoes the body', async () => {
    const response = await postPayment(api, { key: newKey(), body: validPayment({ source: 'tok_SECRET_VALUE' }) });
    expect(response.json.error.message).toMatch(/tok_/);
    expect(response.rawBody).not.toContain('SECRET_VALUE');
  });
});

describe('property: arbitrary bodies and headers never produce a 5xx from create-payment', () => {
  const headerName = fc.oneof(
    fc.constantFrom('Idempotency-Key', 'idempotency-key', 'IDEMPOTENCY-KEY', 'Content-Type', 'content-type', 'X-Other', 'constructor', '__proto__', 'toString'),
    fc.string({ maxLength: 20 }),
  );
  const headerValue = fc.oneof(fc.string({ maxLength: 300 }), fc.uuid(), fc.constantFrom('application/json', 'text/plain', ''));
  const plausibleBody = fc.record(
    {
      amount: fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constant(null), fc.integer({ min: 1, max: 99_999_999 })),
      currency: fc.oneof(fc.constantFrom('USD', 'EUR', 'JPY', 'usd', 'XXX'), fc.string()),
      source: fc.oneof(fc.constantFrom('tok_success', 'tok_decline'), fc.string()),
      description: fc.oneof(fc.string({ maxLength: 600, unit: 'binary' }), fc.jsonValue()),
      metadata: fc.oneof(fc.dictionary(fc.string({ maxLength: 45 }), fc.string({ maxLength: 20 }), { maxKeys: 25 }), fc.jsonValue()),
      extra: fc.jsonValue(),
    },
    { requiredKeys: [] },
  );
  const body = fc.oneof(
    plausibleBody.map((value) => JSON.stringify(value)),
    fc.jsonValue().map((value) => JSON.stringify(value)),
    fc.string({ maxLength: 200 }),
    fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
    fc.constant(null),
  );

  it('holds for 300 generated requests', async () => {
    await fc.assert(
      fc.asyncProperty(
        body,
        fc.dictionary(headerName, headerValue, { maxKeys: 5 }),
        fc.boolean(),
        fc.option(fc.string({ maxLength: 40 }), { nil: null }),
        async (requestBody, headers, isBase64Encoded, apiKeyId) => {
          const event = apiEvent({ method: 'POST', resource: '/v1/payments', headers, body: requestBody, isBase64Encoded, apiKeyId });
          const response = toResponse(await api.createPayment(event, lambdaContext()));
          expect(response.statusCode).toBeLessThan(500);
          expect(response.headers['Content-Type']).toBe('application/json');
          if (response.statusCode >= 400) {
            expect(Object.keys(response.json.error).sort()).toEqual(
              expect.arrayContaining(['code', 'message', 'type']),
            );
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('property: any valid body is accepted, stored and read back unchanged', () => {
  it.each(['constructor', 'toString', 'hasOwnProperty', 'valueOf', 'prototype'])('a metadata key named %s is stored and read back', async (key) => {
    const body = validPayment({ metadata: { [key]: 'v' } });
    const created = await postPayment(api, { key: newKey(), body });
    expect(created.statusCode, created.rawBody).toBe(201);
    expect(created.json.metadata).toEqual({ [key]: 'v' });
    const event = apiEvent({ method: 'GET', resource: '/v1/payments/{id}', pathParameters: { id: created.json.id }, apiKeyId: 'merchant-a' });
    expect(toResponse(await api.getPayment(event, lambdaContext())).json).toEqual(created.json);
  });

  const validBody = fc.record(
    {
      amount: fc.integer({ min: 1, max: 99_999_999 }),
      currency: fc.constantFrom('USD', 'EUR', 'JPY', 'GBP', 'BHD', 'KRW'),
      source: fc.stringMatching(/^tok_[a-z0-9_]{1,60}$/),
      description: fc.string({ maxLength: 500, unit: 'grapheme' }).filter((d) => d.length <= 500),
      metadata: fc.dictionary(
        fc.string({ minLength: 1, maxLength: 40 }).filter((k) => k !== '__proto__'),
        fc.string({ maxLength: 500 }),
        { maxKeys: 20 },
      ),
    },
    { requiredKeys: ['amount', 'currency', 'source'] },
  ).filter((body) => Buffer.byteLength(JSON.stringify(body)) <= 16 * 1024);

  it('holds for 40 generated payments', async () => {
    await fc.assert(
      fc.asyncProperty(validBody, async (body) => {
        const created = await postPayment(api, { key: newKey(), body });
        expect(created.statusCode, created.rawBody).toBe(201);
        expect(created.json).toMatchObject(body);
        const event = apiEvent({ method: 'GET', resource: '/v1/payments/{id}', pathParameters: { id: created.json.id }, apiKeyId: 'merchant-a' });
        const fetched = toResponse(await api.getPayment(event, lambdaContext()));
        expect(fetched.json).toEqual(created.json);
      }),
      { numRuns: 40 },
    );
  });
});
