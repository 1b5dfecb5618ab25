/**
 * A tiny Lambda Invoke API (`POST /2015-03-31/functions/<name or ARN>/invocations`, RequestResponse and
 * Event) in front of the local runtime, so that an operator's tool using @aws-sdk/client-lambda with an
 * endpoint (the outputs' LocalLambdaEndpoint) invokes the stack's functions as it would on AWS: a
 * function error answers 200 with `X-Amz-Function-Error: Unhandled` and the error payload; an unknown
 * function 404 ResourceNotFoundException.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LambdaFunctionError, type LocalLambdaRuntime } from './runtime.ts';

export interface LambdaApiServer {
  readonly endpoint: string;
  close(): Promise<void>;
}

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

export async function startLambdaApiServer(runtime: () => LocalLambdaRuntime | undefined, port = 0): Promise<LambdaApiServer> {
  const server = createServer(async (request, response) => {
    const send = (status: number, body: string, headers: Record<string, string> = {}) => {
      response.writeHead(status, { 'Content-Type': 'application/json', 'x-amzn-RequestId': crypto.randomUUID(), ...headers });
      response.end(body);
    };
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const match = INVOKE_PATH.exec((request.url ?? '').split('?')[0]!);
    const lambdas = runtime();
    if (request.method !== 'POST' || !match || !lambdas) return send(404, JSON.stringify({ Type: 'User', message: 'Unknown operation' }), { 'x-amzn-ErrorType': 'UnknownOperationException' });
    const reference = decodeURIComponent(match[1]!);
    if (!lambdas.find(reference)) return send(404, JSON.stringify({ Type: 'User', message: `Function not found: ${reference}` }), { 'x-amzn-ErrorType': 'ResourceNotFoundException' });
    let event: unknown;
    try {
      event = chunks.length === 0 ? {} : JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return send(400, JSON.stringify({ Type: 'User', message: 'Could not parse request body into json' }), { 'x-amzn-ErrorType': 'InvalidRequestContentException' });
    }
    if (request.headers['x-amz-invocation-type'] === 'Event') {
      lambdas.invoke(reference, event).catch(() => undefined);
      return send(202, '');
    }
    try {
      const result = await lambdas.invoke(reference, event);
      return send(200, result === undefined ? 'null' : JSON.stringify(result), { 'X-Amz-Executed-Version': '$LATEST' });
    } catch (error) {
      if (error instanceof LambdaFunctionError) return send(200, JSON.stringify(error.toPayload()), { 'X-Amz-Function-Error': 'Unhandled', 'X-Amz-Executed-Version': '$LATEST' });
      return send(500, JSON.stringify({ message: String(error) }), { 'x-amzn-ErrorType': 'ServiceException' });
    }
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const { port: bound } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${bound}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
