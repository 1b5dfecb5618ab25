/**
 * A local webhook receiver: an HTTP server on 127.0.0.1 that keeps every request it gets (path, headers,
 * the raw body as received) and answers with the status `respond` chooses (200 by default). Used by
 * `npm run webhooks:listen` and by the acceptance suite's webhook tests.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedDelivery {
  path: string;
  headers: IncomingHttpHeaders;
  rawBody: Buffer;
  /** The event id, when the body is JSON with one. */
  eventId?: string;
  receivedAt: number;
  /** The status answered. */
  status: number;
}

export interface WebhookReceiver {
  /** `http://127.0.0.1:<port>` (no trailing slash). */
  url: string;
  deliveries: ReceivedDelivery[];
  /** Resolves with the first delivery (already received or to come) that `match` accepts. */
  waitFor(match: (delivery: ReceivedDelivery) => boolean, timeoutMs: number): Promise<ReceivedDelivery>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(options: { port?: number; respond?: (delivery: Omit<ReceivedDelivery, 'status'>) => number; onDelivery?: (delivery: ReceivedDelivery) => void } = {}): Promise<WebhookReceiver> {
  const deliveries: ReceivedDelivery[] = [];
  const waiters = new Set<{ match: (delivery: ReceivedDelivery) => boolean; resolve: (delivery: ReceivedDelivery) => void }>();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const rawBody = Buffer.concat(chunks);
      let eventId: string | undefined;
      try {
        const id = (JSON.parse(rawBody.toString('utf8')) as { id?: unknown }).id;
        if (typeof id === 'string') eventId = id;
      } catch {
        // Not JSON: kept as received.
      }
      const received = { path: request.url ?? '/', headers: request.headers, rawBody, eventId, receivedAt: Date.now() };
      const status = options.respond?.(received) ?? 200;
      const delivery = { ...received, status };
      deliveries.push(delivery);
      response.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'not now');
      options.onDelivery?.(delivery);
      for (const waiter of waiters) {
        if (waiter.match(delivery)) {
          waiters.delete(waiter);
          waiter.resolve(delivery);
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    deliveries,
    waitFor(match, timeoutMs) {
      const found = deliveries.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const waiter = { match, resolve: (delivery: ReceivedDelivery) => { clearTimeout(timer); resolve(delivery); } };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`no matching webhook delivery within ${timeoutMs} ms (${deliveries.length} received)`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
