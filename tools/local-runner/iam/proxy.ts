/**
 * An authorizing HTTP proxy in front of an emulator (DynamoDB Local, fauxqs, the local Step Functions API, the local KMS):
 * it reads the access key id out of the SigV4 `Authorization` header, finds the principal it was issued to
 * (a function's execution role, a state machine's role), asks the authorizer about every action and resource
 * the request names, and either forwards the request untouched or answers what AWS answers:
 * `AccessDeniedException` with the message naming the assumed role, the action and the resource.
 * Requests signed with a key issued to nobody (the runner's own clients, the acceptance suite's) pass:
 * they stand for the account's administrator.
 */
import { randomUUID } from 'node:crypto';
import { Agent, createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FaultInjector } from '../faults/plan.ts';
import { serveWithFault } from '../faults/serve.ts';
import type { IamAuthorizer, LocalPrincipal } from './authorizer.ts';
import { accessRequests, parseTarget, type JsonService, type ResourceNames } from './requests.ts';

export interface AuthorizingProxy {
  readonly endpoint: string;
  close(): Promise<void>;
}

/** The access key id of a SigV4-signed request. */
export function accessKeyIdOf(authorization: string | undefined): string | undefined {
  return /Credential=([^/,\s]+)\//.exec(authorization ?? '')?.[1];
}

/** AWS's AccessDeniedException, as each JSON-protocol service answers it (status, headers, body). */
function accessDenied(service: JsonService, message: string): { status: number; headers: Record<string, string>; body: string } {
  const type = 'AccessDeniedException';
  if (service === 'sqs') {
    // SQS's JSON protocol: the query-compatible code AccessDenied rides in x-amzn-query-error.
    return {
      status: 403,
      headers: { 'Content-Type': 'application/x-amz-json-1.0', 'x-amzn-query-error': 'AccessDenied;Sender' },
      body: JSON.stringify({ __type: `com.amazon.coral.service#${type}`, message }),
    };
  }
  const messageKey = service === 'states' || service === 'kms' ? 'message' : 'Message';
  return {
    status: 400,
    headers: { 'Content-Type': 'application/x-amz-json-1.0', 'x-amzn-ErrorType': type },
    body: JSON.stringify({ __type: `com.amazon.coral.service#${type}`, [messageKey]: message }),
  };
}

function parseBody(body: Buffer): Record<string, unknown> {
  try {
    return body.length ? (JSON.parse(body.toString('utf8')) as Record<string, unknown>) : {};
  } catch {
    return {}; // The service answers a malformed body itself.
  }
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function startAuthorizingProxy(options: {
  upstream: string;
  authorizer: IamAuthorizer;
  principals: ReadonlyMap<string, LocalPrincipal>;
  names: ResourceNames;
  host?: string;
  /** Called once the upstream has answered a forwarded request (its `X-Amz-Target` operation, e.g. `PutItem`). */
  onAnswered?: (operation: string) => void;
  /** Faults to inject into the calls it forwards (faults/plan.ts). */
  faults?: FaultInjector;
}): Promise<AuthorizingProxy> {
  const upstream = new URL(options.upstream);
  const agent = new Agent({ keepAlive: true });
  /** Forwards the request; `answered` (when given) takes the upstream answer instead of the caller. */
  const forward = (request: IncomingMessage, body: Buffer, response: ServerResponse, answered?: (answer: IncomingMessage) => void) => {
    const outgoing = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: request.method, path: request.url, headers: request.headers, agent },
      (answer) => {
        if (answered) return answered(answer);
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
        const operation = parseTarget(request.headers['x-amz-target'] as string | undefined)?.operation;
        if (options.onAnswered && operation) answer.once('end', () => options.onAnswered!(operation));
      },
    );
    outgoing.on('error', (error) => {
      if (!response.headersSent) response.writeHead(502, { 'Content-Type': 'text/plain' });
      response.end(`local IAM proxy: ${error.message}`);
    });
    outgoing.end(body);
  };
  const server = createServer((request, response) => {
    void (async () => {
      const body = await readBody(request);
      const principal = options.principals.get(accessKeyIdOf(request.headers.authorization) ?? '');
      const target = parseTarget(request.headers['x-amz-target'] as string | undefined);
      if (principal && target) {
        const denial = await options.authorizer.authorize(principal, accessRequests(target.service, target.operation, parseBody(body), options.names));
        if (denial) {
          const { status, headers, body: text } = accessDenied(target.service, denial.message);
          response.writeHead(status, { ...headers, 'Content-Length': Buffer.byteLength(text), 'x-amzn-RequestId': randomUUID() });
          response.end(text);
          return;
        }
      }
      const fault = target && options.faults?.decide({
        service: target.service,
        operation: target.operation,
        ...(principal ? { caller: { session: principal.sessionName, role: principal.role.logicalId, environment: principal.environment } } : {}),
        body: parseBody(body),
        rawBody: body,
      });
      if (fault) serveWithFault(fault, { service: target.service, response, forward: (answered) => forward(request, body, response, answered), environment: principal?.environment, faults: options.faults! });
      else forward(request, body, response);
    })().catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(500, { 'Content-Type': 'application/x-amz-json-1.0' });
      response.end(JSON.stringify({ __type: 'InternalFailure', message: error instanceof Error ? error.message : String(error) }));
    });
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((done, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => done());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://${host}:${port}`,
    async close() {
      agent.destroy();
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}
