import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';

export interface ApiRequest {
  method: 'GET' | 'POST';
  /** The route template, e.g. `/v1/payments/{id}`. */
  resource: string;
  pathParameters?: Record<string, string>;
  headers?: Record<string, string>;
  /** A string is sent as is; anything else is JSON-encoded; `null` means no body. */
  body?: unknown;
  isBase64Encoded?: boolean;
  /** The API key API Gateway authenticated; `null` leaves identity.apiKeyId unset. */
  apiKeyId?: string | null;
}

/** An API Gateway REST proxy event as the gateway builds it (headers also in multiValueHeaders). */
export function apiEvent(request: ApiRequest): APIGatewayProxyEvent {
  const path = request.resource.replace(/\{(\w+)\}/g, (_, name: string) => request.pathParameters?.[name] ?? '');
  const headers = request.headers ?? {};
  const body = request.body === undefined || request.body === null
    ? null
    : typeof request.body === 'string' ? request.body : JSON.stringify(request.body);
  const requestId = randomUUID();
  return {
    resource: request.resource,
    path,
    httpMethod: request.method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])),
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: request.pathParameters ?? null,
    stageVariables: null,
    body,
    isBase64Encoded: request.isBase64Encoded ?? false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'testapi',
      authorizer: null,
      httpMethod: request.method,
      path: `/v1${path}`,
      protocol: 'HTTP/1.1',
      requestId,
      requestTimeEpoch: Date.now(),
      resourceId: 'res',
      resourcePath: request.resource,
      stage: 'v1',
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: request.apiKeyId ? 'redacted' : null,
        apiKeyId: request.apiKeyId === undefined ? 'merchant-test' : request.apiKeyId,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: '127.0.0.1',
        user: null,
        userAgent: 'vitest',
        userArn: null,
      },
    },
  } as APIGatewayProxyEvent;
}

/** A Lambda context whose remaining time counts down from `remainingMs` (default 10 s, the functions' timeout). */
export function lambdaContext(options: { remainingMs?: number; functionName?: string } = {}): Context {
  const functionName = options.functionName ?? 'payflow-test';
  const deadline = Date.now() + (options.remainingMs ?? 10_000);
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'test',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
