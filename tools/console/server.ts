/**
 * The console's web server: node:http on loopback, one page (ui/index.html, ui/style.css and ui/app.ts
 * bundled in memory by esbuild at start), and a small JSON API over ConsoleReader. No CDN, no framework.
 *
 * Read-only unless started with `allowActions` (`npm run console -- --allow-actions`): then POST
 * /api/dead-letters/redrive is served. Every POST must carry `X-Payflow-Console: 1` (a page of another
 * origin cannot send it without a CORS preflight, which this server never allows), and requests whose
 * Host is not a loopback name are refused (DNS rebinding).
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { build, stop as stopEsbuild } from 'esbuild';
import { ConsoleReader } from './reader.ts';
import { consoleClients, consoleStack, type StackOutputs } from './stack.ts';

export interface ConsoleOptions {
  stackName?: string;
  /** The stack's outputs as the outputs file has them (secrets are dropped before anything is served). */
  outputs: StackOutputs;
  port?: number;
  host?: string;
  allowActions?: boolean;
}

export interface RunningConsole {
  readonly url: string;
  close(): Promise<void>;
}

const UI_DIR = join(import.meta.dirname, 'ui');
const LOOPBACK_HOST = /^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/;

async function bundle(): Promise<string> {
  const result = await build({ entryPoints: [join(UI_DIR, 'app.ts')], bundle: true, write: false, format: 'iife', target: 'es2022', minify: true, legalComments: 'none' });
  // esbuild's service process would otherwise stay, waking up, for as long as the console runs.
  await stopEsbuild();
  return result.outputFiles[0]!.text;
}

export async function startConsole(options: ConsoleOptions): Promise<RunningConsole> {
  const stack = consoleStack(options.stackName ?? 'Payflow', options.outputs);
  const clients = consoleClients(stack, options.outputs);
  const reader = new ConsoleReader(stack, clients);
  const allowActions = options.allowActions ?? false;
  const assets: Record<string, { type: string; body: string }> = {
    '/': { type: 'text/html; charset=utf-8', body: readFileSync(join(UI_DIR, 'index.html'), 'utf8') },
    '/style.css': { type: 'text/css; charset=utf-8', body: readFileSync(join(UI_DIR, 'style.css'), 'utf8') },
    '/app.js': { type: 'text/javascript; charset=utf-8', body: await bundle() },
  };

  const routes: Array<[string, RegExp, (match: RegExpExecArray, url: URL, request: IncomingMessage) => Promise<unknown>]> = [
    ['GET', /^\/api\/stack$/, async () => ({ stackName: stack.stackName, target: stack.target, region: stack.region, outputs: stack.outputs, merchants: stack.merchants, allowActions })],
    ['GET', /^\/api\/payments$/, async (_, url) => reader.payments({ status: url.searchParams.get('status') || undefined, merchant: url.searchParams.get('merchant') || undefined, token: url.searchParams.get('token') || undefined })],
    ['GET', /^\/api\/payments\/([A-Za-z0-9_-]{1,100})$/, async (match) => (await reader.journey(match[1]!)) ?? notFound(`No payment ${match[1]}`)],
    ['GET', /^\/api\/queues$/, async () => ({ queues: await reader.queues(), history: reader.depthHistory() })],
    ['GET', /^\/api\/dead-letters$/, async () => ({ deadLetters: await reader.deadLetters(), allowActions })],
    ['GET', /^\/api\/health$/, async () => reader.health()],
    [
      'POST',
      /^\/api\/dead-letters\/redrive$/,
      async (_, __, request) => {
        if (!allowActions) throw new HttpError(403, 'The console is read-only: start it with --allow-actions to redrive');
        const body = JSON.parse(await readBody(request)) as { queue?: string; messageId?: string };
        if (!body.queue || !body.messageId) throw new HttpError(400, 'queue and messageId are required');
        return reader.redrive(body.queue, body.messageId);
      },
    ],
  ];

  const server = createServer((request, response) => {
    void (async () => {
      try {
        if (!LOOPBACK_HOST.test(request.headers.host ?? '')) throw new HttpError(421, 'The console answers on loopback names only');
        const url = new URL(request.url ?? '/', 'http://console.invalid');
        const asset = request.method === 'GET' ? assets[url.pathname] : undefined;
        if (asset) return send(response, 200, asset.type, asset.body);
        for (const [method, pattern, handle] of routes) {
          const match = pattern.exec(url.pathname);
          if (!match) continue;
          if (request.method !== method) throw new HttpError(405, `${request.method} is not allowed here`);
          if (method === 'POST' && request.headers['x-payflow-console'] !== '1') throw new HttpError(403, 'Missing X-Payflow-Console header');
          return send(response, 200, 'application/json', JSON.stringify(await handle(match, url, request)));
        }
        throw new HttpError(404, `No page ${url.pathname}`);
      } catch (error) {
        const status = error instanceof HttpError ? error.status : 502;
        const message = error instanceof Error ? `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}` : String(error);
        if (!response.headersSent) send(response, status, 'application/json', JSON.stringify({ error: message }));
        else response.end();
      }
    })();
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolveListen());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
      clients.destroy();
    },
  };
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function notFound(message: string): never {
  throw new HttpError(404, message);
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > 64 * 1024) throw new HttpError(413, 'Body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(response: ServerResponse, status: number, type: string, body: string) {
  response.writeHead(status, {
    'Content-Type': type,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Content-Security-Policy': "default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
  });
  response.end(body);
}
