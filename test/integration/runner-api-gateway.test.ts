// The local API Gateway (tools/local-runner/api-gateway/) serving the synthesized template's REST API —
// its routes, keys, usage plans and gateway responses — with every method's integration pointed at
// a fixture function (real worker thread) that can answer what the real handlers never do
// (malformed proxy responses, crashes), so the gateway's side of the contract can be checked.
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAYFLOW_MALFORMED_REQUEST_BODY } from '../../bin/payflow-local.ts';
import { matchesBinaryMediaTypes } from '../../tools/local-runner/api-gateway/binary-media-types.ts';
import { registerApiGatewayReferences } from '../../tools/local-runner/api-gateway/references.ts';
import { startApiGateway, type LocalApiGateway } from '../../tools/local-runner/api-gateway/server.ts';
import { LocalLambdaRuntime } from '../../tools/local-runner/lambda/runtime.ts';
import { LocalReferences } from '../../tools/local-runner/references.ts';
import { resourcesOfType, type CfnTemplate } from '../../tools/local-runner/template.ts';
import { testTemplate } from '../support/aws.ts';
import { fixtureFunction, writeFixtureAssets } from './runner-fixtures.ts';

const identity = { region: 'us-east-1', accountId: '000000000000' };
let runtime: LocalLambdaRuntime;
const gateways: LocalApiGateway[] = [];

async function gatewayFor(template: CfnTemplate, apiKeyValues?: Record<string, string>): Promise<LocalApiGateway> {
  const references = new LocalReferences(template, identity, 'Payflow');
  registerApiGatewayReferences(template, references);
  const echo = runtime.find('echo')!;
  for (const [logicalId] of resourcesOfType(template, 'AWS::Lambda::Function')) references.set(logicalId, echo.functionName, { Arn: echo.arn });
  const restApiId = resourcesOfType(template, 'AWS::ApiGateway::RestApi')[0]![0];
  const gateway = await startApiGateway({
    template,
    resolve: references.resolve,
    invoke: (arn, event) => runtime.invoke(arn, event),
    apiId: String(references.ref(restApiId)),
    ...identity,
    port: 0,
    apiKeyValues,
    malformedRequestBody: PAYFLOW_MALFORMED_REQUEST_BODY,
  });
  gateways.push(gateway);
  return gateway;
}

let gateway: LocalApiGateway;
let keyA: { id: string; value: string };
let probeKey: { id: string; value: string };

beforeAll(async () => {
  runtime = new LocalLambdaRuntime([fixtureFunction(writeFixtureAssets().ok, 'echo', { maxConcurrency: 8 })]);
  gateway = await gatewayFor(testTemplate());
  keyA = gateway.apiKeys.find((key) => key.logicalId.startsWith('ApiMerchantA'))!;
  probeKey = gateway.apiKeys.find((key) => key.logicalId.startsWith('ApiThrottleProbe'))!;
});
afterAll(async () => {
  await Promise.all(gateways.map((g) => g.close()));
  await runtime.stop();
});

const request = (path: string, init: RequestInit & { headers?: Record<string, string> } = {}) =>
  fetch(new URL(path, gateway.url), { ...init, headers: { 'x-api-key': keyA.value, ...init.headers } });

describe('the stage and its keys', () => {
  it('serves the stage of the template at /<stage>/, with one generated 40-character value per API key', () => {
    expect(gateway.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1\/$/);
    expect(gateway.apiKeys.length).toBeGreaterThanOrEqual(3);
    for (const key of gateway.apiKeys) expect(key.value).toMatch(/^[A-Za-z0-9]{40}$/);
    expect(new Set(gateway.apiKeys.map((key) => key.value)).size).toBe(gateway.apiKeys.length);
  });

  it('uses pinned key values when given', async () => {
    const pinned = await gatewayFor(testTemplate(), { [keyA.id]: 'pinned-value-of-merchant-a-0123456789' });
    expect(pinned.apiKeys.find((key) => key.id === keyA.id)?.value).toBe('pinned-value-of-merchant-a-0123456789');
  });

  it('a path outside the stage is 403 {"message":"Forbidden"}, as API Gateway answers for a stage that does not exist', async () => {
    const response = await fetch(new URL('/v2/payments', gateway.url), { headers: { 'x-api-key': keyA.value } });
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({ message: 'Forbidden' });
  });
});

describe('the Lambda proxy event', () => {
  it('GET /payments/{id}: resource, path, path and query parameters, headers as sent, the key id as identity', async () => {
    const response = await request('payments/pay_123?expand=a&expand=b', { headers: { 'X-Custom-Header': 'Value' } });
    expect(response.status).toBe(200);
    const event = (await response.json()) as Record<string, any>;
    expect(event).toMatchObject({
      resource: '/payments/{id}',
      path: '/payments/pay_123',
      httpMethod: 'GET',
      pathParameters: { id: 'pay_123' },
      queryStringParameters: { expand: 'b' },
      multiValueQueryStringParameters: { expand: ['a', 'b'] },
      body: null,
      isBase64Encoded: false,
      requestContext: {
        resourcePath: '/payments/{id}',
        httpMethod: 'GET',
        path: '/v1/payments/pay_123',
        stage: 'v1',
        accountId: '000000000000',
        apiId: gateway.apiId,
        identity: { apiKeyId: keyA.id, apiKey: keyA.value, sourceIp: '127.0.0.1' },
      },
    });
    expect(event.headers['X-Custom-Header']).toBe('Value');
    expect(event.multiValueHeaders['X-Custom-Header']).toEqual(['Value']);
    expect(event.requestContext.requestId).toBe(response.headers.get('x-amzn-requestid'));
    expect(event.requestContext.requestTimeEpoch).toBeGreaterThan(Date.now() - 60_000);
  });

  it('headers and query names like Object.prototype members arrive as plain values', async () => {
    const response = await request('payments/pay_123?constructor=q&toString=r', { headers: Object.fromEntries([['constructor', 'c'], ['hasOwnProperty', 'h']]) });
    expect(response.status).toBe(200);
    const event = (await response.json()) as Record<string, any>;
    expect(event.headers).toMatchObject({ constructor: 'c', hasOwnProperty: 'h' });
    expect(event.multiValueHeaders).toMatchObject({ constructor: ['c'], hasOwnProperty: ['h'] });
    expect(event.multiValueQueryStringParameters).toEqual({ constructor: ['q'], toString: ['r'] });
  });

  it("POST /payments: the body as the client's bytes, base64-encoded, since the API declares every media type binary", async () => {
    const body = '{"amount":1000,"currency":"USD","source":"tok_success"}';
    const event = await (await request('payments', { method: 'POST', body, headers: { 'Idempotency-Key': 'k1', 'content-type': 'application/json' } })).json();
    expect(event).toMatchObject({ resource: '/payments', httpMethod: 'POST', body: Buffer.from(body).toString('base64'), isBase64Encoded: true, pathParameters: null });
  });

  it('a byte that is not UTF-8 reaches the function as sent (so the function can refuse it), whatever the Content-Type, or none', async () => {
    const bytes = Buffer.concat([Buffer.from('{"description":"'), Buffer.from([0xff, 0xe9]), Buffer.from('"}')]);
    const variants: Array<Record<string, string>> = [{ 'content-type': 'application/json' }, { 'content-type': 'application/json; charset=iso-8859-1' }, { 'content-type': 'text/plain' }, {}];
    for (const headers of variants) {
      const event = (await (await request('payments', { method: 'POST', body: bytes, headers: { 'Idempotency-Key': 'k1', ...headers } })).json()) as Record<string, any>;
      expect(event.isBase64Encoded).toBe(true);
      expect(Buffer.from(event.body, 'base64')).toEqual(bytes);
    }
  });

  it('a request without a body has body null and isBase64Encoded false', async () => {
    const event = await (await request('payments', { method: 'POST', headers: { 'Idempotency-Key': 'k1', 'content-type': 'application/json' } })).json();
    expect(event).toMatchObject({ body: null, isBase64Encoded: false });
  });

  it('POST /payments/{id}/refunds: the nested route and its path parameter', async () => {
    const event = await (await request('payments/pay_9/refunds', { method: 'POST', body: '{}', headers: { 'Idempotency-Key': 'k1' } })).json();
    expect(event).toMatchObject({ resource: '/payments/{id}/refunds', pathParameters: { id: 'pay_9' } });
  });
});

describe('the Lambda proxy response', () => {
  it('status, headers and multi-value headers as returned, base64 bodies decoded, and an x-amzn-RequestId', async () => {
    const multi = await request('payments/pay_1', { headers: { 'x-fixture': 'multi' } });
    expect(multi.status).toBe(202);
    expect(multi.headers.get('x-one')).toBe('1');
    expect(multi.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(await multi.text()).toBe('plain');
    expect(multi.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);

    const binary = await request('payments/pay_1', { headers: { 'x-fixture': 'binary' } });
    expect(Buffer.from(await binary.arrayBuffer())).toEqual(Buffer.from([0, 1, 2, 255]));
  });

  it.each(['malformed', 'unknown-field', 'throw'])(
    'a %s answer is the INTEGRATION_FAILURE gateway response of the template (502 bad_gateway)',
    async (fixture) => {
      const response = await request('payments/pay_1', { headers: { 'x-fixture': fixture } });
      expect(response.status).toBe(502);
      expect(await response.json()).toMatchObject({ error: { type: 'api_error', code: 'bad_gateway' } });
      expect(response.headers.get('x-amzn-errortype')).toBe('InternalServerErrorException');
    },
  );
});

/** The test template with other binary media types on its RestApi (none: `[]`). */
function templateWithBinaryMediaTypes(types: string[]): CfnTemplate {
  const template = testTemplate() as CfnTemplate;
  const [, restApi] = resourcesOfType(template, 'AWS::ApiGateway::RestApi')[0]!;
  restApi.Properties = { ...restApi.Properties, BinaryMediaTypes: types };
  if (types.length === 0) delete restApi.Properties.BinaryMediaTypes;
  return template;
}

describe("binary media types, as API Gateway applies the RestApi's BinaryMediaTypes", () => {
  const postTo = (target: LocalApiGateway, headers: Record<string, string>, body: string | Buffer = '{"a":"é"}') =>
    fetch(new URL('payments', target.url), { method: 'POST', body, headers: { 'x-api-key': target.apiKeys.find((key) => key.id === keyA.id)!.value, 'Idempotency-Key': 'k', ...headers } });

  it('the template declares */* (every body reaches the handlers base64-encoded)', () => {
    const [, restApi] = resourcesOfType(testTemplate(), 'AWS::ApiGateway::RestApi')[0]!;
    expect(restApi.Properties?.BinaryMediaTypes).toEqual(['*/*']);
  });

  it('without binary media types a body is UTF-8 text: bytes that are not UTF-8 arrive as U+FFFD (which a function cannot tell from a sent U+FFFD)', async () => {
    const text = await gatewayFor(templateWithBinaryMediaTypes([]), { [keyA.id]: keyA.value });
    const event = await (await postTo(text, { 'content-type': 'application/octet-stream' }, Buffer.from([0x7b, 0xff, 0x7d]))).json();
    expect(event).toMatchObject({ body: '{\uFFFD}', isBase64Encoded: false });
  });

  it("a Content-Type matching a listed type (exactly, or under type/*, any case, parameters ignored) is base64; others, and the Accept header, are not", async () => {
    const some = await gatewayFor(templateWithBinaryMediaTypes(['image/*', 'application/octet-stream']), { [keyA.id]: keyA.value });
    for (const contentType of ['image/png', 'IMAGE/PNG; q=1', 'application/octet-stream', 'Application/Octet-Stream;charset=x']) {
      const event = (await (await postTo(some, { 'content-type': contentType })).json()) as Record<string, any>;
      expect({ contentType, isBase64Encoded: event.isBase64Encoded, body: event.body }).toEqual({ contentType, isBase64Encoded: true, body: Buffer.from('{"a":"é"}').toString('base64') });
    }
    const texts: Array<Record<string, string>> = [{ 'content-type': 'application/json' }, { 'content-type': 'text/plain' }, { 'content-type': 'application/json', accept: 'image/png' }, { 'content-type': 'imagex/png' }];
    for (const headers of texts) {
      const event = (await (await postTo(some, headers)).json()) as Record<string, any>;
      expect({ headers, isBase64Encoded: event.isBase64Encoded, body: event.body }).toEqual({ headers, isBase64Encoded: false, body: '{"a":"é"}' });
    }
  });

  it('a base64 proxy response is decoded only when the first Accept type matches; otherwise its base64 text is sent as it is', async () => {
    const fixture = (target: LocalApiGateway, accept?: string) =>
      fetch(new URL('payments/pay_1', target.url), { headers: { 'x-api-key': target.apiKeys.find((key) => key.id === keyA.id)!.value, 'x-fixture': 'binary', ...(accept ? { accept } : {}) } });
    const base64 = Buffer.from([0, 1, 2, 255]).toString('base64');
    const none = await gatewayFor(templateWithBinaryMediaTypes([]), { [keyA.id]: keyA.value });
    expect(await (await fixture(none, 'application/octet-stream')).text()).toBe(base64);
    const some = await gatewayFor(templateWithBinaryMediaTypes(['application/octet-stream']), { [keyA.id]: keyA.value });
    expect(Buffer.from(await (await fixture(some, 'application/octet-stream')).arrayBuffer())).toEqual(Buffer.from([0, 1, 2, 255]));
    expect(await (await fixture(some, 'text/html, application/octet-stream')).text()).toBe(base64);
    expect(await (await fixture(some, '*/*')).text()).toBe(base64);
  });

  it.each([
    ['application/json', ['*/*'], true],
    [undefined, ['*/*'], true],
    ['image/png', ['image/*'], true],
    ['image/png;q=0.9, text/html', ['image/png'], true],
    ['text/html, image/png', ['image/png'], false],
    ['image/png', ['image/jpeg'], false],
    [undefined, ['image/png'], false],
    ['', ['image/png'], false],
    ['image', ['image/*'], false],
    ['*/*', ['image/png'], false],
  ] as const)('matchesBinaryMediaTypes(%j, %j) is %s', (value, types, expected) => {
    expect(matchesBinaryMediaTypes(value, types)).toBe(expected);
  });
});

describe('limits', () => {
  it('a body over 10 MB is the REQUEST_TOO_LARGE gateway response (413 request_too_large)', async () => {
    const response = await request('payments', { method: 'POST', body: 'x'.repeat(10 * 1024 * 1024 + 1), headers: { 'Idempotency-Key': 'big' } });
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ error: { type: 'invalid_request_error', code: 'request_too_large' } });
  });

  it("a usage plan's token bucket: the trial plan's burst of 2 passes, the next is throttled, a second later one more passes", async () => {
    const probe = (path: string) => fetch(new URL(path, gateway.url), { headers: { 'x-api-key': probeKey.value } });
    const burst = [await probe('payments/a'), await probe('payments/b'), await probe('payments/c')];
    expect(burst.map((response) => response.status)).toEqual([200, 200, 429]);
    expect(burst[2]!.headers.get('retry-after')).toBe('1');
    expect(await burst[2]!.json()).toMatchObject({ error: { type: 'rate_limit_error', code: 'rate_limited' } });
    await expect.poll(async () => (await probe('payments/d')).status, { timeout: 3_000, interval: 250 }).toBe(200);
  });
});

describe("a usage plan's quota", () => {
  it('exhausted → 429 quota_exceeded (not rate_limited), with Retry-After the seconds until the quota resets at the next UTC day', async () => {
    const template = testTemplate() as CfnTemplate;
    for (const [, resource] of resourcesOfType(template, 'AWS::ApiGateway::UsagePlan')) {
      if (String(resource.Properties?.UsagePlanName ?? '').endsWith('-trial')) {
        delete resource.Properties!.Throttle;
        resource.Properties!.Quota = { Limit: 2, Period: 'DAY' };
      }
    }
    const quotaGateway = await gatewayFor(template);
    const key = (prefix: string) => quotaGateway.apiKeys.find((candidate) => candidate.logicalId.startsWith(prefix))!.value;
    const probe = () => fetch(new URL('payments/q', quotaGateway.url), { headers: { 'x-api-key': key('ApiThrottleProbe') } });
    const answers = [await probe(), await probe(), await probe(), await probe()];
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 429, 429]);
    expect(await answers[2]!.json()).toMatchObject({ error: { type: 'rate_limit_error', code: 'quota_exceeded' } });
    const now = new Date();
    const untilMidnight = (Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1) - now.getTime()) / 1000;
    const retryAfter = Number(answers[3]!.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(Math.abs(retryAfter - untilMidnight)).toBeLessThanOrEqual(5);
    // Another key's quota is its own.
    expect((await fetch(new URL('payments/q', quotaGateway.url), { headers: { 'x-api-key': key('ApiMerchantA') } })).status).toBe(200);
  });
});

/** Sends raw bytes to the gateway and reads the whole answer (it closes the connection after a refused request). */
function rawRequest(bytes: Buffer | string): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(gateway.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', ...rest] = text.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: rest.join('\r\n\r\n') });
    });
    // Written, not ended: a client's FIN makes Node drop a request still being answered.
    socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  });
}

// Issue 9: what Node's HTTP parser refuses before the request handler still answers in the error shape.
describe('requests the HTTP parser refuses are answered in the error shape, with a request id', () => {
  // Built when a test runs (the key exists only after beforeAll); the refused ones never get as far as the key.
  const get = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: localhost\r\nx-api-key: ${keyA?.value ?? 'none'}\r\n${extra}\r\n`;
  const expectShape = (answer: Awaited<ReturnType<typeof rawRequest>>, status: number, code: string) => {
    expect({ status: answer.status, body: JSON.parse(answer.body) }).toEqual({
      status,
      body: { error: { type: 'invalid_request_error', code, message: expect.any(String) } },
    });
    expect(answer.headers['content-type']).toBe('application/json');
    expect(answer.headers['x-amzn-requestid']).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number(answer.headers['content-length'])).toBe(Buffer.byteLength(answer.body));
  };

  it.each([
    ['a NUL in a header value', get('/v1/payments/pay_1', 'X-Note: a\0b\r\n')],
    ['a bare CR in a header value', get('/v1/payments/pay_1', 'X-Note: a\rb\r\n')],
    ['a DEL in a header value', get('/v1/payments/pay_1', 'X-Note: a\x7fb\r\n')],
    ['a raw non-ASCII byte in the path', get('/v1/payments/pay_\xe9')],
    ['a space in the path', get('/v1/pay ments')],
    ['bytes that are not HTTP at all', '\x16\x03\x01\x02\x00hello\r\n\r\n'],
  ])('%s → 400 bad_request', async (_, bytes) => {
    expectShape(await rawRequest(bytes), 400, 'bad_request');
  });

  it('headers over 16 KB → 431 request_header_fields_too_large', async () => {
    expectShape(await rawRequest(get('/v1/payments/pay_1', `X-Big: ${'a'.repeat(17 * 1024)}\r\n`)), 431, 'request_header_fields_too_large');
  });

  it('headers over 16 KB followed by a 118 KB body: the 431 arrives whole, the connection is not reset (fuzz seed 777001)', async () => {
    // The parser refuses each further chunk of the body again; the socket must keep draining, not be destroyed.
    const head = (first: number, second: number) =>
      `POST /v1/payments HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nX-Big: ${'h'.repeat(first)}\r\nX-Other: ${'o'.repeat(second)}\r\nContent-Length: 118000\r\n\r\n`;
    for (const [first, second] of [[9000, 9000], [16000, 1000], [30000, 1], [9000, 9000], [16000, 1000], [30000, 1]] as const) {
      expectShape(await rawRequest(Buffer.concat([Buffer.from(head(first, second), 'latin1'), randomBytes(118_000)])), 431, 'request_header_fields_too_large');
    }
  });

  it.each(['FOO', 'get', 'BREW'])('an unknown method (%s) is a method the API lacks: the MISSING_AUTHENTICATION_TOKEN gateway response (404 resource_not_found)', async (method) => {
    const answer = await rawRequest(`${method} /v1/payments HTTP/1.1\r\nHost: localhost\r\nx-api-key: ${keyA.value}\r\n\r\n`);
    expectShape(answer, 404, 'resource_not_found');
    expect(answer.headers['x-amzn-errortype']).toBe('MissingAuthenticationTokenException');
  });

  it('an unknown method outside the stage is 403 {"message":"Forbidden"}, as for any method there', async () => {
    const answer = await rawRequest('FOO /v2/payments HTTP/1.1\r\nHost: localhost\r\n\r\n');
    expect(answer.status).toBe(403);
    expect(JSON.parse(answer.body)).toEqual({ message: 'Forbidden' });
  });

  it('a well-formed request on the same kind of raw connection is served as usual', async () => {
    const answer = await rawRequest(get('/v1/payments/pay_1', 'Connection: close\r\n'));
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ resource: '/payments/{id}' });
  });

  it('a refused request after a served one on a kept-alive connection: the first answer is whole, the second in the error shape', async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(gateway.port, '127.0.0.1');
      const chunks: Buffer[] = [];
      socket.on('data', (chunk) => chunks.push(chunk));
      socket.on('error', reject);
      socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
      socket.write(get('/v1/payments/pay_1'));
      socket.once('data', () => socket.write(Buffer.from(get('/v1/payments/pay_2', 'X-Note: a\0b\r\n'), 'latin1')));
    });
    // The second status line follows the first body directly (no newline after a JSON body).
    const statuses = [...answer.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((match) => Number(match[1]));
    expect(statuses).toEqual([200, 400]);
    expect(answer).toContain('"code":"bad_request"');
  });

  // Issue 10's fuzzing found these closed unanswered: Node's parser refuses the bytes after a whole request while
  // that request is still being answered, and the gateway used to destroy the connection under the answer.
  it('a body longer than its Content-Length with Connection: close: the request its Content-Length frames is answered, then the connection closes', async () => {
    const body = '{"amount":1000,"currency":"USD","source":"tok_success"}';
    const head = `POST /v1/payments HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nx-api-key: ${keyA.value}\r\nIdempotency-Key: k1\r\nContent-Type: application/json\r\nContent-Length: ${body.length - 1}\r\n\r\n`;
    const answer = await rawRequest(head + body);
    expect(answer.status).toBe(200);
    expect(answer.headers.connection).toBe('close');
    expect(Buffer.from((JSON.parse(answer.body) as { body: string }).body, 'base64').toString()).toBe(body.slice(0, -1));
  });

  it('garbage pipelined behind a request in the same packet: the request is answered whole, then the connection closes', async () => {
    const answer = await rawRequest(`${get('/v1/payments/pay_1')}\x16\x03\x01 not http\r\n\r\n`);
    expect(answer.status).toBe(200);
    expect(answer.headers.connection).toBe('close');
    expect(JSON.parse(answer.body)).toMatchObject({ resource: '/payments/{id}' });
  });

  it.each(['identity', 'gzip', 'chunked, identity'])('Transfer-Encoding: %s (not chunked last), with the client still sending → 400 bad_request at once, then the connection closes', async (codings) => {
    const answer = await rawRequest(`OPTIONS /v1/payments HTTP/1.1\r\nHost: localhost\r\nx-api-key: ${keyA.value}\r\nTransfer-Encoding: ${codings}\r\n\r\n`);
    expectShape(answer, 400, 'bad_request');
    expect(answer.headers.connection).toBe('close');
  });

  it.each([
    ['HEAD with a body', 'HEAD', 'payments/pay_1', Buffer.from('{"amount":1000}')],
    ['DELETE with a 120 KB body', 'DELETE', 'payments/pay_1', Buffer.alloc(120 * 1024, 'x')],
    ['GET with a body', 'GET', 'payments/pay_1', Buffer.from('{"a":1}')],
  ])('%s, Content-Length one byte short, is answered', async (_, method, path, body) => {
    const head = `${method} /v1/${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nx-api-key: ${keyA.value}\r\nContent-Length: ${body.length - 1}\r\n\r\n`;
    const answer = await rawRequest(Buffer.concat([Buffer.from(head, 'latin1'), body]));
    expect(answer.status).toBeGreaterThanOrEqual(200);
    expect(answer.status).toBeLessThan(500);
    expect(answer.headers['x-amzn-requestid']).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('gateway responses come from the template', () => {
  it('a type without its own response falls back to DEFAULT_4XX, keeping its status and rendering $context.error.messageString', async () => {
    const template = testTemplate() as CfnTemplate;
    for (const [logicalId, resource] of resourcesOfType(template, 'AWS::ApiGateway::GatewayResponse')) {
      if (resource.Properties?.ResponseType === 'INVALID_API_KEY') delete template.Resources[logicalId];
    }
    const fallback = await gatewayFor(template);
    const response = await fetch(new URL('payments/pay_1', fallback.url), { headers: { 'x-api-key': 'wrong' } });
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({ error: { type: 'invalid_request_error', code: 'invalid_request', message: 'Forbidden' } });
  });
});
