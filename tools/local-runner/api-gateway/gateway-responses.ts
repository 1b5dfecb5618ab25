/**
 * The gateway's own answers: the errors API Gateway raises before or instead of the integration, rendered
 * from the template's AWS::ApiGateway::GatewayResponse resources (the type's own, else DEFAULT_4XX/5XX,
 * else API Gateway's default), with their `$context` references and header mappings.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { lowerCaseLookup } from './headers.ts';
import type { CompiledApi } from './template.ts';

interface GatewayResponseType {
  status: number;
  /** `$context.error.message` as API Gateway words it. */
  message: string;
  errorType: string;
}

/** The response types the local front raises, with API Gateway's default status codes, messages and x-amzn-ErrorType. */
const RESPONSE_TYPES = {
  MISSING_AUTHENTICATION_TOKEN: { status: 403, message: 'Missing Authentication Token', errorType: 'MissingAuthenticationTokenException' },
  INVALID_API_KEY: { status: 403, message: 'Forbidden', errorType: 'ForbiddenException' },
  THROTTLED: { status: 429, message: 'Too Many Requests', errorType: 'TooManyRequestsException' },
  QUOTA_EXCEEDED: { status: 429, message: 'Limit Exceeded', errorType: 'LimitExceededException' },
  BAD_REQUEST_PARAMETERS: { status: 400, message: 'Missing required request parameters', errorType: 'BadRequestException' },
  BAD_REQUEST_BODY: { status: 400, message: 'Invalid request body', errorType: 'BadRequestException' },
  REQUEST_TOO_LARGE: { status: 413, message: 'Request Too Long', errorType: 'RequestTooLongException' },
  // A function error or a malformed proxy response: API Gateway answers 502 unless the response is customized.
  INTEGRATION_FAILURE: { status: 502, message: 'Internal server error', errorType: 'InternalServerErrorException' },
  INTEGRATION_TIMEOUT: { status: 504, message: 'Endpoint request timed out', errorType: 'InternalServerErrorException' },
  API_CONFIGURATION_ERROR: { status: 500, message: 'Internal server error', errorType: 'InternalServerErrorException' },
} as const satisfies Record<string, GatewayResponseType>;

export type ResponseTypeName = keyof typeof RESPONSE_TYPES;

/** What the gateway knows of a request: what its responses and its access log render. */
export interface RequestFacts {
  requestId: string;
  extendedRequestId: string;
  stage: string;
  apiId: string;
  httpMethod: string;
  path: string;
  resourcePath?: string;
  sourceIp: string;
  headers: Record<string, string>;
  query: Record<string, string>;
  pathParameters: Record<string, string>;
  stageVariables: Record<string, string>;
}

/** The facts of a request that just arrived at the stage of `api`: fresh request ids, no route yet. */
export function newRequestFacts(api: CompiledApi, request: Pick<RequestFacts, 'httpMethod' | 'path' | 'sourceIp' | 'headers' | 'query'>): RequestFacts {
  return {
    requestId: randomUUID(),
    extendedRequestId: randomBytes(8).toString('base64url').slice(0, 11) + '=',
    stage: api.stageName,
    apiId: api.apiId,
    ...request,
    pathParameters: {},
    stageVariables: api.stageVariables,
  };
}

/** Renders the `$context...` / `$stageVariables...` references of a gateway response template (no VTL directives). */
function renderTemplate(template: string, facts: RequestFacts, type: ResponseTypeName, message: string): string {
  const values: Record<string, string> = {
    'context.error.messageString': JSON.stringify(message),
    'context.error.message': message,
    'context.error.responseType': type,
    'context.requestId': facts.requestId,
    'context.extendedRequestId': facts.extendedRequestId,
    'context.stage': facts.stage,
    'context.apiId': facts.apiId,
    'context.httpMethod': facts.httpMethod,
    'context.path': `/${facts.stage}${facts.path}`,
    'context.resourcePath': facts.resourcePath ?? '',
    'context.identity.sourceIp': facts.sourceIp,
  };
  // `$context.x` or `${context.x}` (the braces only as a pair: a `}` after `$context.x` is the template's own).
  return template.replace(/\$(?:\{((?:context|stageVariables)(?:\.\w+)+)\}|((?:context|stageVariables)(?:\.\w+)+))/g, (_whole, braced: string | undefined, bare: string | undefined) => {
    const name = (braced ?? bare)!;
    if (name.startsWith('stageVariables.')) return facts.stageVariables[name.slice('stageVariables.'.length)] ?? '';
    return values[name] ?? '';
  });
}

/** The value of a gateway response header mapping: `'literal'` or `method.request.(header|querystring|path).name`. */
function mappedValue(expression: string, facts: RequestFacts): string | undefined {
  if (expression.startsWith("'") && expression.endsWith("'")) return expression.slice(1, -1);
  const match = /^method\.request\.(header|querystring|path)\.(.+)$/.exec(expression);
  if (!match) return undefined;
  const [, where, name] = match;
  if (where === 'header') return lowerCaseLookup(facts.headers, name!);
  if (where === 'querystring') return facts.query[name!];
  return facts.pathParameters[name!];
}

/** An error the gateway answers itself, by its response type. */
export class GatewayError extends Error {
  constructor(
    readonly type: ResponseTypeName,
    message?: string,
    /**
     * QUOTA_EXCEEDED: the seconds until the key's quota resets. A Retry-After header the template maps
     * gets this value instead of its literal, which is all API Gateway itself can send (a gateway response
     * maps only literals and request values); the runner knows when the window ends, so says it exactly.
     */
    readonly retryAfterSeconds?: number,
  ) {
    super(message ?? RESPONSE_TYPES[type].message);
  }
}

/** A whole answer: status, headers in order, the body's bytes. */
export interface Answer {
  status: number;
  headers: Array<[string, string]>;
  body: Buffer;
}

/** A gateway error as the template's GatewayResponse (or the DEFAULT_4XX/5XX one, or API Gateway's default) renders it. */
export function renderGatewayError(api: Pick<CompiledApi, 'gatewayResponses'>, facts: RequestFacts, error: GatewayError): Answer {
  const type = error.type;
  const defaults: GatewayResponseType = RESPONSE_TYPES[type];
  const specific = api.gatewayResponses.get(type);
  const fallback = api.gatewayResponses.get(defaults.status >= 500 ? 'DEFAULT_5XX' : 'DEFAULT_4XX');
  const definition = specific ?? fallback;
  const status = specific?.statusCode ?? defaults.status;
  const template = definition?.templates['application/json'] ?? Object.values(definition?.templates ?? {})[0] ?? '{"message":$context.error.messageString}';
  const body = renderTemplate(template, facts, type, error.message);
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    'x-amzn-ErrorType': defaults.errorType,
  };
  for (const [name, expression] of Object.entries(definition?.parameters ?? {})) {
    const header = /^gatewayresponse\.header\.(.+)$/.exec(name)?.[1];
    const value = header && mappedValue(expression, facts);
    if (header && value !== undefined) headers[header] = value;
    if (header?.toLowerCase() === 'retry-after' && error.retryAfterSeconds !== undefined) headers[header] = String(error.retryAfterSeconds);
  }
  return { status, headers: Object.entries(headers), body: Buffer.from(body, 'utf8') };
}

/** A path outside the stage: API Gateway answers before any of the API's own gateway responses apply. */
export function noSuchStage(): Answer {
  return { status: 403, headers: [['x-amzn-ErrorType', 'ForbiddenException']], body: Buffer.from('{"message":"Forbidden"}') };
}
