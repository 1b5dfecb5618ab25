/**
 * A fault outside the code under test: an HTTP proxy in front of DynamoDB Local that a function is
 * pointed at (AWS_ENDPOINT_URL_DYNAMODB). Every request reaches DynamoDB Local; for the operations a
 * test names, the first `times` responses are lost after the request was applied (the socket is
 * destroyed), which is AWS's "applied, response lost" case that a client sees as a network error.
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DynamoDbFaultProxy {
  readonly endpoint: string;
  /** Responses lost so far, by operation (e.g. TransactWriteItems). */
  readonly lost: Map<string, number>;
  close(): Promise<void>;
}

export async function startDynamoDbFaultProxy(target: string, loseResponses: { operation: string; times: number }): Promise<DynamoDbFaultProxy> {
  const lost = new Map<string, number>();
  const upstream = new URL(target);
  const server = createServer((incoming: IncomingMessage, outgoing: ServerResponse) => {
    const operation = String(incoming.headers['x-amz-target'] ?? '').split('.').pop() ?? '';
    const forwarded = request(
      { host: upstream.hostname, port: upstream.port, path: incoming.url, method: incoming.method, headers: incoming.headers },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const count = lost.get(operation) ?? 0;
          if (operation === loseResponses.operation && count < loseResponses.times) {
            lost.set(operation, count + 1);
            outgoing.socket?.destroy();
            return;
          }
          outgoing.writeHead(response.statusCode ?? 500, response.headers);
          outgoing.end(Buffer.concat(chunks));
        });
      },
    );
    forwarded.on('error', () => outgoing.socket?.destroy());
    incoming.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    lost,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
