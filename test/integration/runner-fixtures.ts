import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LocalFunction } from '../../tools/local-runner/lambda/runtime.ts';

/**
 * A tiny bundled function (an ESM index.mjs, as cdk.out holds them) whose behaviour each invocation
 * picks with `event.action`: enough to see what the local Lambda runtime gives a handler and how it
 * ends invocations that fail, hang or crash.
 */
const FIXTURE_SOURCE = `
let invocations = 0;
export const handler = async (event, context) => {
  invocations += 1;
  if (event.requestContext) return proxyResponse(event);
  switch (event.action) {
    case 'context':
      return {
        functionName: context.functionName,
        functionVersion: context.functionVersion,
        invokedFunctionArn: context.invokedFunctionArn,
        memoryLimitInMB: context.memoryLimitInMB,
        awsRequestId: context.awsRequestId,
        logGroupName: context.logGroupName,
        remainingMs: context.getRemainingTimeInMillis(),
        value: process.env.FIXTURE_VALUE ?? null,
        executionEnv: process.env.AWS_EXECUTION_ENV ?? null,
        envFunctionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
        region: process.env.AWS_REGION,
        invocations,
      };
    case 'hang':
      return new Promise(() => {});
    case 'spin':
      for (;;) {}
    case 'throw': {
      const error = new Error('card_declined');
      error.name = 'PaymentDeclined';
      throw error;
    }
    case 'exit':
      process.exit(3);
    case 'sleep':
      await new Promise((resolve) => setTimeout(resolve, event.ms));
      return { invocations };
    case 'undefined':
      return undefined;
    case 'large':
      return 'x'.repeat(event.bytes);
    case 'log':
      console.log('a line from the handler');
      return null;
    default:
      return { invocations, echo: event };
  }
};
`;

/** As an API Gateway proxy integration: the x-fixture header picks the response. */
const PROXY_SOURCE = `
function proxyResponse(event) {
  switch (event.headers?.['x-fixture']) {
    case 'malformed':
      return { statusCode: 200, body: { not: 'a string' } };
    case 'unknown-field':
      return { statusCode: 200, body: '', cookies: ['a=1'] };
    case 'throw':
      throw new TypeError('handler bug');
    case 'huge':
      return { statusCode: 200, body: 'x'.repeat(Number(event.headers['x-bytes'])) };
    case 'slow':
      return new Promise((resolve) => setTimeout(() => resolve({ statusCode: 200, body: '' }), 1500));
    case 'binary':
      return { statusCode: 200, headers: { 'Content-Type': 'application/octet-stream' }, body: Buffer.from([0, 1, 2, 255]).toString('base64'), isBase64Encoded: true };
    case 'multi':
      return { statusCode: 202, headers: { 'X-One': '1' }, multiValueHeaders: { 'Set-Cookie': ['a=1', 'b=2'] }, body: 'plain' };
    default:
      return { statusCode: 200, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(event) };
  }
}
`;

const BROKEN_SOURCE = `import './does-not-exist.mjs';\nexport const handler = async () => 'never';\n`;

/** A bundle whose import takes FIXTURE_INIT_MS (a slow init), then answers the time its function has left. */
const SLOW_INIT_SOURCE = `await new Promise((resolve) => setTimeout(resolve, Number(process.env.FIXTURE_INIT_MS ?? 0)));
export const handler = async (event, context) => ({ remainingMs: context.getRemainingTimeInMillis() });
`;

export function writeFixtureAssets(): { ok: string; broken: string; slowInit: string } {
  const dir = mkdtempSync(join(tmpdir(), 'payflow-runner-fixture-'));
  const assets = { ok: join(dir, 'asset.ok'), broken: join(dir, 'asset.broken'), slowInit: join(dir, 'asset.slow-init') };
  for (const asset of Object.values(assets)) mkdirSync(asset);
  writeFileSync(join(assets.ok, 'index.mjs'), FIXTURE_SOURCE + PROXY_SOURCE);
  writeFileSync(join(assets.broken, 'index.mjs'), BROKEN_SOURCE);
  writeFileSync(join(assets.slowInit, 'index.mjs'), SLOW_INIT_SOURCE);
  return { ok: join(assets.ok, 'index.mjs'), broken: join(assets.broken, 'index.mjs'), slowInit: join(assets.slowInit, 'index.mjs') };
}

export function fixtureFunction(entryFile: string, name: string, overrides: Partial<LocalFunction> = {}): LocalFunction {
  return {
    logicalId: name,
    functionName: name,
    arn: `arn:aws:lambda:us-east-1:000000000000:function:${name}`,
    entryFile,
    handlerExport: 'handler',
    timeoutSeconds: 5,
    memoryMb: 256,
    environment: { AWS_REGION: 'us-east-1' },
    maxConcurrency: 4,
    ...overrides,
  };
}
