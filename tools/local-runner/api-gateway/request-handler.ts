/**
 * One request through the stage, in the order API Gateway applies its checks: the body's size, the stage,
 * the route, the API key with its usage plan's throttling and quota, the stage's throttling, the required
 * request parameters, then the integration (a mock answer, or the function through the proxy contract).
 * Each step either passes or raises the gateway error that answers the request.
 */
import type { IncomingMessage } from 'node:http';
import { matchesBinaryMediaTypes } from './binary-media-types.ts';
import { GatewayError, newRequestFacts, noSuchStage, renderGatewayError, type Answer, type RequestFacts } from './gateway-responses.ts';
import { headerPairs, lowerCaseLookup } from './headers.ts';
import { restProxyEvent } from './proxy-event.ts';
import { parseProxyResponse } from './proxy-response.ts';
import { matchRoute, pathSegments } from './routes.ts';
import type { CompiledApi, CompiledMethod, LocalApiKey } from './template.ts';
import { UsageLimits } from './throttling.ts';

/**
 * API Gateway's REST payload limit, 10 MB, not adjustable ("Payload size", Amazon API Gateway quotas for REST
 * APIs, https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-execution-service-limits-table.html,
 * checked 2026-12-01). A smaller body whose proxy event is over Lambda's 6 MB still fails: see invokeProxy.
 */
export const MAX_REQUEST_BYTES = 10 * 1024 * 1024;

export interface RequestHandlerOptions {
  /** Invokes a function by ARN (RequestResponse); rejects when the function fails. */
  invoke(functionArn: string, event: unknown): Promise<unknown>;
  region: string;
  accountId: string;
  /** Runner diagnostics (a failed function). */
  log?: (line: string) => void;
}

/** A request as it arrived, and the answer the gateway gives it. */
export interface Handled {
  facts: RequestFacts;
  answer: Answer;
}

/** The client's address as API Gateway reports it (`sourceIp`). */
export const sourceIpOf = (socket: { remoteAddress?: string }) => socket.remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1';

async function readBody(request: IncomingMessage): Promise<Buffer | 'too-large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    // Keep draining (so the client can read the answer), but stop keeping bytes past the limit.
    if (size > MAX_REQUEST_BYTES) tooLarge = true;
    else chunks.push(chunk as Buffer);
  }
  return tooLarge ? 'too-large' : Buffer.concat(chunks);
}

/** Answers requests to the stage of `api`. Errors other than gateway errors are the caller's (an internal failure). */
export function createRequestHandler(api: CompiledApi, options: RequestHandlerOptions): (request: IncomingMessage) => Promise<Handled> {
  const keysByValue = new Map([...api.keys.values()].map((key) => [key.value, key]));
  const limits = new UsageLimits(api.stageThrottles);

  /** The method the path and HTTP method select; fills in the facts' resource path and path parameters. */
  const route = (facts: RequestFacts): { method: CompiledMethod; pathParameters: Record<string, string> } => {
    const match = matchRoute(api.root, pathSegments(facts.path));
    const method = match && (match.node.methods.get(facts.httpMethod) ?? match.node.methods.get('ANY'));
    if (!match || !method) throw new GatewayError('MISSING_AUTHENTICATION_TOKEN');
    facts.resourcePath = method.resourcePath;
    facts.pathParameters = match.pathParameters;
    return { method, pathParameters: match.pathParameters };
  };

  /** The API key (when the method requires one) and its usage plan's limits, then the stage's throttling. */
  const admit = (method: CompiledMethod, facts: RequestFacts, startedAt: Date): LocalApiKey | undefined => {
    const methodKey = `${method.resourcePath}/${method.httpMethod}`;
    let apiKey: LocalApiKey | undefined;
    if (method.apiKeyRequired) {
      const presented = lowerCaseLookup(facts.headers, 'x-api-key');
      apiKey = presented === undefined ? undefined : keysByValue.get(presented);
      const plan = apiKey && api.planOfKey.get(apiKey.id);
      if (!apiKey || !apiKey.enabled || !plan) throw new GatewayError('INVALID_API_KEY');
      const refused = limits.admitKey(apiKey.id, plan, methodKey, startedAt);
      if (refused) throw new GatewayError(refused);
    }
    if (limits.admitStage(methodKey)) throw new GatewayError('THROTTLED');
    return apiKey;
  };

  /** The method's required headers and query string parameters, when its validator checks parameters. */
  const validateParameters = (method: CompiledMethod, facts: RequestFacts): void => {
    if (!method.validateParameters) return;
    const missing = [
      ...method.required.header.filter((name) => !lowerCaseLookup(facts.headers, name)?.trim()),
      ...method.required.querystring.filter((name) => !facts.query[name]?.trim()),
    ];
    if (missing.length > 0) throw new GatewayError('BAD_REQUEST_PARAMETERS', `Missing required request parameters: [${missing.join(', ')}]`);
  };

  /** The Lambda proxy integration: the event, the invocation within the integration timeout, the proxy response. */
  const invokeProxy = async (
    request: IncomingMessage,
    facts: RequestFacts,
    call: { method: CompiledMethod; pathParameters: Record<string, string>; query: Array<[string, string]>; apiKey?: LocalApiKey; body: Buffer; startedAt: Date },
  ): Promise<Answer> => {
    const { method, body } = call;
    // The request's Content-Type decides how its body reaches the function: matching a binary media
    // type, base64-encoded as the client's bytes; otherwise as UTF-8 text (bytes that are not UTF-8 become
    // U+FFFD). The Accept header decides the other direction (a base64 proxy response decoded or not).
    const accept = lowerCaseLookup(facts.headers, 'accept');
    const binary = matchesBinaryMediaTypes(lowerCaseLookup(facts.headers, 'content-type'), api.binaryMediaTypes);
    const event = restProxyEvent({
      resource: method.resourcePath,
      resourceId: method.resourceId,
      httpMethod: method.httpMethod === 'ANY' ? facts.httpMethod : method.httpMethod,
      path: facts.path,
      rawHeaders: request.rawHeaders,
      query: call.query,
      pathParameters: call.pathParameters,
      stageVariables: api.stageVariables,
      body: body.length === 0 ? null : binary ? body.toString('base64') : body.toString('utf8'),
      isBase64Encoded: binary && body.length > 0,
      stage: api.stageName,
      apiId: api.apiId,
      accountId: options.accountId,
      region: options.region,
      requestId: facts.requestId,
      extendedRequestId: facts.extendedRequestId,
      startedAt: call.startedAt,
      protocol: `HTTP/${request.httpVersion}`,
      sourceIp: facts.sourceIp,
      ...(call.apiKey ? { apiKey: { id: call.apiKey.id, value: call.apiKey.value } } : {}),
    });

    let timer: NodeJS.Timeout | undefined;
    try {
      const result = await Promise.race([
        options.invoke(method.integration.functionArn!, event),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new GatewayError('INTEGRATION_TIMEOUT')), method.integration.timeoutMs);
        }),
      ]);
      const proxy = parseProxyResponse(result, matchesBinaryMediaTypes(accept, api.binaryMediaTypes));
      return { status: proxy.statusCode, headers: proxy.headers, body: proxy.body };
    } catch (error) {
      if (error instanceof GatewayError) throw error;
      // Lambda refused the event (over its 6 MB request limit, limits/lambda.ts): API Gateway answers 413 with its
      // REQUEST_TOO_LARGE response ({"message": "Request Too Long"} by default), as observed behind a REST API
      // (https://github.com/koki-develop/lgtm-generator/issues/10, read 2026-12-01).
      if (error instanceof Error && error.name === 'RequestEntityTooLargeException') {
        options.log?.(`${facts.requestId} Lambda invocation refused: ${error.message}`);
        throw new GatewayError('REQUEST_TOO_LARGE');
      }
      options.log?.(`${facts.requestId} Lambda execution failed due to customer function error: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
      throw new GatewayError('INTEGRATION_FAILURE');
    } finally {
      clearTimeout(timer);
    }
  };

  return async (request) => {
    const startedAt = new Date();
    const url = new URL(request.url ?? '/', 'http://localhost');
    const stagePrefix = `/${api.stageName}`;
    const inStage = url.pathname === stagePrefix || url.pathname.startsWith(`${stagePrefix}/`);
    const facts = newRequestFacts(api, {
      httpMethod: request.method ?? 'GET',
      path: inStage ? url.pathname.slice(stagePrefix.length) || '/' : url.pathname,
      sourceIp: sourceIpOf(request.socket),
      headers: Object.fromEntries(headerPairs(request.rawHeaders)),
      query: Object.fromEntries(url.searchParams),
    });
    try {
      const body = await readBody(request);
      if (body === 'too-large') throw new GatewayError('REQUEST_TOO_LARGE');
      if (!inStage) return { facts, answer: noSuchStage() };
      const { method, pathParameters } = route(facts);
      const apiKey = admit(method, facts, startedAt);
      validateParameters(method, facts);
      if (method.integration.type === 'MOCK') {
        const mock = method.integration.mock!;
        return { facts, answer: { status: mock.statusCode, headers: Object.entries(mock.headers), body: Buffer.from(mock.body, 'utf8') } };
      }
      return { facts, answer: await invokeProxy(request, facts, { method, pathParameters, query: [...url.searchParams], apiKey, body, startedAt }) };
    } catch (error) {
      if (error instanceof GatewayError) return { facts, answer: renderGatewayError(api, facts, error) };
      throw error;
    }
  };
}
