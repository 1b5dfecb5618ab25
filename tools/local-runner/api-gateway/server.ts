/**
 * The REST API of a synthesized template, served over HTTP as API Gateway serves a stage: the template
 * compiled (template.ts), each request answered in API Gateway's order (request-handler.ts), with the
 * gateway's own headers on every answer. Requests Node's HTTP parser refuses before any of that (a control
 * character in a header, raw non-ASCII in the path, headers over 16 KB) are answered too
 * (malformed-requests.ts), never with Node's empty 400.
 */
import { randomBytes } from 'node:crypto';
import { createServer, STATUS_CODES, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { GatewayError, newRequestFacts, noSuchStage, renderGatewayError, type Answer, type RequestFacts } from './gateway-responses.ts';
import { defaultMalformedRequestBody, malformedRequest, unknownMethodRequestLine, type MalformedRequestBody } from './malformed-requests.ts';
import { createRequestHandler, sourceIpOf } from './request-handler.ts';
import { compileApi, type CompileApiOptions, type LocalApiKey } from './template.ts';

export interface ApiGatewayOptions extends CompileApiOptions {
  /** Invokes a function by ARN (RequestResponse); rejects when the function fails. */
  invoke(functionArn: string, event: unknown): Promise<unknown>;
  region: string;
  accountId: string;
  port?: number;
  host?: string;
  /** One line per request (an access log). */
  log?: (line: string) => void;
  /** The body of the answer to a request the HTTP parser refused (default `{"message": ...}`). */
  malformedRequestBody?: MalformedRequestBody;
}

export interface LocalApiGateway {
  /** `http://<host>:<port>/<stage>/` */
  readonly url: string;
  readonly port: number;
  readonly apiId: string;
  readonly stageName: string;
  readonly apiKeys: readonly LocalApiKey[];
  close(): Promise<void>;
}

const HOP_BY_HOP_HEADERS = new Set(['content-length', 'connection', 'transfer-encoding', 'keep-alive']);

function traceId(): string {
  return `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`;
}

/** The headers of an answer: the integration's (or gateway response's) minus framing, plus the gateway's own. */
function answerHeaders(facts: RequestFacts, headers: Array<[string, string]>, body: Buffer): Map<string, string[]> {
  // The gateway owns framing headers; everything else the integration set is passed on.
  const passed = headers.filter(([name]) => !HOP_BY_HOP_HEADERS.has(name.toLowerCase()));
  if (!passed.some(([name]) => name.toLowerCase() === 'content-type')) passed.push(['Content-Type', 'application/json']);
  passed.push(['x-amzn-RequestId', facts.requestId], ['x-amz-apigw-id', facts.extendedRequestId], ['X-Amzn-Trace-Id', traceId()]);
  passed.push(['Content-Length', String(body.length)]);
  const grouped = new Map<string, string[]>();
  for (const [name, value] of passed) grouped.set(name, [...(grouped.get(name) ?? []), value]);
  return grouped;
}

/** Starts the local front for the template's REST API. */
export async function startApiGateway(options: ApiGatewayOptions): Promise<LocalApiGateway> {
  const api = compileApi(options);
  const host = options.host ?? '127.0.0.1';
  const handle = createRequestHandler(api, options);
  const malformedRequestBody = options.malformedRequestBody ?? defaultMalformedRequestBody;

  const writeResponse = (response: ServerResponse, facts: RequestFacts, { status, headers, body }: Answer) => {
    response.writeHead(status, Object.fromEntries(answerHeaders(facts, headers, body)));
    response.end(body);
    options.log?.(`${facts.httpMethod} /${facts.stage}${facts.path} ${status} ${facts.requestId}`);
  };

  /** Writes a whole HTTP/1.1 answer to a socket whose request Node's parser refused, then closes it. */
  const writeRawResponse = (socket: Duplex, facts: RequestFacts, { status, headers, body }: Answer) => {
    answeredRaw.add(socket);
    const lines = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`, `Date: ${new Date().toUTCString()}`, 'Connection: close'];
    for (const [name, values] of answerHeaders(facts, headers, body)) for (const value of values) lines.push(`${name}: ${value}`);
    // Keep reading what the client is still sending: closing with unread bytes makes the kernel reset the
    // connection, and a reset discards the answer before the client reads it (as for an oversized header).
    socket.on('data', () => undefined);
    socket.resume();
    socket.end(Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]));
    setTimeout(() => socket.destroy(), 5_000).unref();
    options.log?.(`${facts.httpMethod} /${facts.stage}${facts.path} ${status} ${facts.requestId} (refused by the HTTP parser)`);
  };

  /** The answer to a request Node's HTTP parser refused: the caller's error shape, or a missing method's gateway response. */
  const answerClientError = (error: Error & { code?: string; rawPacket?: Buffer }, socket: Duplex): Answer & { facts: RequestFacts } => {
    const requestLine = error.code === 'HPE_INVALID_METHOD' ? unknownMethodRequestLine(error.rawPacket) : undefined;
    const url = requestLine ? new URL(requestLine.target, 'http://localhost') : undefined;
    const stagePrefix = `/${api.stageName}`;
    const facts = newRequestFacts(api, {
      httpMethod: requestLine?.method ?? '-',
      path: url ? (url.pathname.startsWith(`${stagePrefix}/`) ? url.pathname.slice(stagePrefix.length) : url.pathname) : '-',
      sourceIp: sourceIpOf(socket as Socket),
      headers: {},
      query: {},
    });
    if (url) {
      if (url.pathname !== stagePrefix && !url.pathname.startsWith(`${stagePrefix}/`)) return { facts, ...noSuchStage() };
      // No resource has a method of that name: API Gateway's answer to any method the API lacks.
      return { facts, ...renderGatewayError(api, facts, new GatewayError('MISSING_AUTHENTICATION_TOKEN')) };
    }
    const refused = malformedRequest(error.code);
    return { facts, status: refused.status, headers: [], body: Buffer.from(malformedRequestBody(refused), 'utf8') };
  };

  /** The response under way on each socket, so that a parse error on a later request does not write into it. */
  const responseOnSocket = new WeakMap<Duplex, ServerResponse>();
  /** Sockets whose later bytes were refused while a request on them was being answered: closed after that answer. */
  const closingAfterAnswer = new WeakSet<Duplex>();
  /**
   * Sockets answered by writeRawResponse. The parser refuses again each chunk of what the client is still sending
   * (e.g. the body behind oversized headers); destroying the socket then would reset the answer away.
   */
  const answeredRaw = new WeakSet<Duplex>();

  const server = createServer((request, response) => {
    responseOnSocket.set(request.socket, response);
    const codings = request.headers['transfer-encoding'];
    if (codings !== undefined && !/(^|,)\s*chunked\s*$/i.test(codings)) {
      // A request body framed by a transfer coding other than chunked has no length a server can read (RFC 9112
      // §6.3: answer 400 and close). Node would read it until the client closed, and the client waits for an answer.
      const facts = newRequestFacts(api, { httpMethod: request.method ?? '-', path: '-', sourceIp: sourceIpOf(request.socket), headers: {}, query: {} });
      response.shouldKeepAlive = false;
      closingAfterAnswer.add(request.socket);
      request.resume();
      writeResponse(response, facts, { status: 400, headers: [], body: Buffer.from(malformedRequestBody(malformedRequest(undefined)), 'utf8') });
      return;
    }
    handle(request)
      .then(({ facts, answer }) => writeResponse(response, facts, answer))
      .catch((error: unknown) => {
        options.log?.(`local API Gateway error: ${error instanceof Error ? error.stack : String(error)}`);
        if (!response.headersSent) {
          response.writeHead(500, { 'Content-Type': 'application/json' });
          response.end('{"message":"Internal server error"}');
        }
      });
  });
  server.on('clientError', (error: Error & { code?: string; rawPacket?: Buffer }, socket: Duplex) => {
    // As Node itself: nothing to answer on a connection the client reset.
    if (error.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    if (answeredRaw.has(socket)) return;
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    // Bytes the parser refused after a whole request that is still being answered: bytes after a request
    // with `Connection: close` (a body longer than its Content-Length), or garbage pipelined behind it. The
    // gateway answers the request it has, then closes the connection (Node would destroy it and lose that
    // answer). Later bytes are drained unread, so that closing does not reset the connection under the answer.
    const underWay = responseOnSocket.get(socket);
    // Already answered, and closing: what the parser says about the bytes after that answer needs no other.
    if (underWay?.writableEnded && closingAfterAnswer.has(socket)) {
      socket.end();
      return;
    }
    if (underWay && !underWay.writableEnded) {
      if (closingAfterAnswer.has(socket)) return;
      closingAfterAnswer.add(socket);
      if (!underWay.headersSent) underWay.shouldKeepAlive = false;
      else underWay.once('finish', () => socket.end());
      socket.on('data', () => undefined);
      socket.resume();
      options.log?.(`local API Gateway: bytes after a request on the same connection refused (${error.code ?? error.message}); answering the request, then closing`);
      return;
    }
    try {
      const { facts, ...answer } = answerClientError(error, socket);
      writeRawResponse(socket, facts, answer);
    } catch (failure) {
      options.log?.(`local API Gateway error: ${failure instanceof Error ? failure.stack : String(failure)}`);
      socket.destroy();
    }
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolveListen();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}/${api.stageName}/`,
    port,
    apiId: api.apiId,
    stageName: api.stageName,
    apiKeys: [...api.keys.values()],
    async close() {
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}
