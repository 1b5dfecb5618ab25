// Issue 7: a body is UTF-8 JSON with each key once; anything else is refused over HTTP, end to end
// (on AWS the API's binaryMediaTypes */* passes the client's bytes to the handlers).
import { describe, expect, it } from 'vitest';
import { call, expectError, merchant, newKey } from './target.ts';

const merchantA = merchant('MerchantA');
const post = (body: unknown, headers: Record<string, string> = {}) =>
  call('POST', 'payments', { apiKey: merchantA.apiKey, idempotencyKey: newKey(), body, headers });

describe('bytes that are not UTF-8 → 400 invalid_json (never stored as U+FFFD)', () => {
  it.each([
    ['a raw 0xff byte', [0xff]],
    ['Latin-1 é (0xe9)', [0xe9]],
    ['an overlong encoding', [0xc0, 0xaf]],
  ])('%s in the description', async (_, bytes) => {
    const body = Buffer.concat([Buffer.from('{"amount":700,"currency":"USD","source":"tok_success","description":"'), Buffer.from(bytes), Buffer.from('"}')]);
    expectError(await post(new Uint8Array(body)), 400, 'invalid_request_error', 'invalid_json');
  });

  it('valid UTF-8 is stored and read back as sent', async () => {
    const description = 'Größe ✓ 😀';
    const created = await post(new Uint8Array(Buffer.from(JSON.stringify({ amount: 700, currency: 'USD', source: 'tok_success', description }))));
    expect(created.status, created.text).toBe(201);
    expect((await merchantA.client.getPayment(created.json.id)).description).toBe(description);
  });
});

describe('a charset other than UTF-8 → 415 unsupported_media_type', () => {
  it.each(['application/json; charset=iso-8859-1', 'application/json; charset=windows-1252'])('%s', async (contentType) => {
    const body = Buffer.concat([Buffer.from('{"amount":700,"currency":"USD","source":"tok_success","description":"caf'), Buffer.from([0xe9]), Buffer.from('"}')]);
    expectError(await post(new Uint8Array(body), { 'content-type': contentType }), 415, 'invalid_request_error', 'unsupported_media_type');
  });

  it.each(['application/json; charset=utf-8', 'application/json; charset=UTF8'])('%s is accepted', async (contentType) => {
    expect((await post({ amount: 700, currency: 'USD', source: 'tok_success' }, { 'content-type': contentType })).status).toBe(201);
  });
});

describe('a key twice in one object → 400 invalid_json', () => {
  it('{"amount":1,"amount":1000,…} charges nothing', async () => {
    const answer = await post('{"amount":1,"amount":1000,"currency":"USD","source":"tok_success"}');
    expectError(answer, 400, 'invalid_request_error', 'invalid_json', 'amount');
  });

  it('a metadata key twice', async () => {
    const answer = await post('{"amount":700,"currency":"USD","source":"tok_success","metadata":{"order":"1","order":"2"}}');
    expectError(answer, 400, 'invalid_request_error', 'invalid_json', 'metadata.order');
  });
});
