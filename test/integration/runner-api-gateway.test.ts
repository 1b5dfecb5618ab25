// The local API Gateway (lib/local/api-gateway.ts) serving the synthesized template's REST API —
// its routes, keys, usage plans and gateway responses — with every method's integration pointed at
// a fixture function (real worker thread) that can answer what the real handlers never do
// (malformed proxy responses, crashes), so the gateway's side of the contract can be checked.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerApiGatewayReferences, startApiGateway, type LocalApiGateway } from '../../lib/local/api-gateway.ts';
import { LocalLambdaRuntime } from '../../lib/local/lambda-runtime.ts';
import { LocalReferences } from '../../lib/local/references.ts';
import { resourcesOfType, type CfnTemplate } from '../../lib/local/template.ts';
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

  it('POST /payments: the body as sent, a string', async () => {
    const body = '{"amount":1000,"currency":"USD","source":"tok_success"}';
    const event = await (await request('payments', { method: 'POST', body, headers: { 'Idempotency-Key': 'k1', 'content-type': 'application/json' } })).json();
    expect(event).toMatchObject({ resource: '/payments', httpMethod: 'POST', body, isBase64Encoded: false, pathParameters: null });
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
