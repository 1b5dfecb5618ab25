import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { restProxyEvent } from '../../tools/local-runner/api-gateway/proxy-event.ts';

export interface ApiRequest {
  method: 'GET' | 'POST';
  /** The route template, e.g. `/v1/payments/{id}`. */
  resource: string;
  pathParameters?: Record<string, string>;
  headers?: Record<string, string>;
  /** A string is sent as is; anything else is JSON-encoded; `null` means no body. */
  body?: unknown;
  isBase64Encoded?: boolean;
  /** Query string parameters, in order (a name may repeat). */
  query?: Array<[string, string]>;
  /** The API key API Gateway authenticated; `null` leaves identity.apiKeyId unset. */
  apiKeyId?: string | null;
  /** Leave the key out of the stack's list (a revoked or unknown key) instead of making it its own merchant's. */
  unlistedKey?: boolean;
}

/**
 * Lists an API key as the stack does (`MERCHANT_API_KEYS`: key id -> merchant pairs in every API function's
 * environment). By default a test's key id is its own merchant's only key; `merchantId` gives a merchant a second key.
 */
export function registerApiKey(apiKeyId: string, merchantId = apiKeyId): void {
  const pairs = new Map(JSON.parse(process.env.MERCHANT_API_KEYS ?? '[]') as Array<[string, string]>);
  if (pairs.get(apiKeyId) === merchantId) return;
  pairs.set(apiKeyId, merchantId);
  process.env.MERCHANT_API_KEYS = JSON.stringify([...pairs]);
}

/** Takes an API key out of the stack's list, as a revocation does. */
export function unregisterApiKey(apiKeyId: string): void {
  const pairs = new Map(JSON.parse(process.env.MERCHANT_API_KEYS ?? '[]') as Array<[string, string]>);
  pairs.delete(apiKeyId);
  process.env.MERCHANT_API_KEYS = JSON.stringify([...pairs]);
}

/** The REST proxy event the gateway (and the local runner, whose builder this is) gives the function. */
export function apiEvent(request: ApiRequest): APIGatewayProxyEvent {
  const path = request.resource.replace(/\{(\w+)\}/g, (_, name: string) => request.pathParameters?.[name] ?? '');
  const apiKeyId = request.apiKeyId === undefined ? 'merchant-test' : request.apiKeyId;
  if (apiKeyId && !JSON.parse(process.env.MERCHANT_API_KEYS ?? '[]').some(([id]: [string]) => id === apiKeyId) && !request.unlistedKey) registerApiKey(apiKeyId);
  return restProxyEvent({
    resource: request.resource,
    resourceId: 'res',
    httpMethod: request.method,
    path,
    rawHeaders: Object.entries(request.headers ?? {}).flat(),
    query: request.query ?? [],
    pathParameters: request.pathParameters ?? {},
    stageVariables: {},
    body: request.body === undefined || request.body === null ? null : typeof request.body === 'string' ? request.body : JSON.stringify(request.body),
    isBase64Encoded: request.isBase64Encoded ?? false,
    stage: 'v1',
    apiId: 'testapi',
    accountId: '000000000000',
    region: 'us-east-1',
    requestId: randomUUID(),
    extendedRequestId: 'test',
    startedAt: new Date(),
    protocol: 'HTTP/1.1',
    sourceIp: '127.0.0.1',
    ...(apiKeyId ? { apiKey: { id: apiKeyId, value: 'redacted' } } : {}),
  });
}

/** The bench's Lambda context builder: one for the tests and the bench (the bench may not import test code). */
export { lambdaContext } from '../../tools/bench/events.ts';
