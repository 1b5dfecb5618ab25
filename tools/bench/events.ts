/**
 * What the bench hands the bundled handlers it runs in-process: the REST proxy event API Gateway would
 * build (by the local runner's own builder, as its front builds it) and a Lambda context.
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { restProxyEvent } from '../local-runner/api-gateway/proxy-event.ts';

/** A JSON POST to `resource` (a route without path parameters) by the merchant of API key `apiKeyId`. */
export function postEvent(request: { resource: string; headers: Record<string, string>; body: unknown; apiKeyId: string }): APIGatewayProxyEvent {
  return restProxyEvent({
    resource: request.resource,
    resourceId: 'res',
    httpMethod: 'POST',
    path: request.resource,
    rawHeaders: Object.entries(request.headers).flat(),
    query: [],
    pathParameters: {},
    stageVariables: {},
    body: JSON.stringify(request.body),
    isBase64Encoded: false,
    stage: 'v1',
    apiId: 'benchapi',
    accountId: '000000000000',
    region: 'us-east-1',
    requestId: randomUUID(),
    extendedRequestId: 'bench',
    startedAt: new Date(),
    protocol: 'HTTP/1.1',
    sourceIp: '127.0.0.1',
    apiKey: { id: request.apiKeyId, value: 'redacted' },
  });
}

/** A Lambda context whose remaining time counts down from `remainingMs` (default 10 s, the functions' timeout). */
export function lambdaContext(options: { remainingMs?: number; functionName?: string } = {}): Context {
  const functionName = options.functionName ?? 'payflow-local';
  const deadline = Date.now() + (options.remainingMs ?? 10_000);
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
