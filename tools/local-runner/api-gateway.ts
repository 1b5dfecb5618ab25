/**
 * The REST API of a synthesized template, served over HTTP as API Gateway serves a stage: routes from
 * AWS::ApiGateway::Resource/Method, API keys and usage plans (token-bucket throttling, quotas), required
 * request parameters (RequestValidator + Method RequestParameters), Lambda proxy integrations (the REST
 * proxy event, the proxy response contract, the RestApi's binary media types) and the gateway's own errors
 * rendered from the template's AWS::ApiGateway::GatewayResponse resources, in the order API Gateway
 * applies them. Requests Node's HTTP parser refuses before any of that (a control character in a header,
 * raw non-ASCII in the path, headers over 16 KB) are answered in the API's error shape too.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { TemplateValue } from './intrinsics.ts';
import { resourcesOfType, UnsupportedTemplateError, type CfnTemplate } from './template.ts';

/** API Gateway's payload limit. */
export const MAX_REQUEST_BYTES = 10 * 1024 * 1024;
/** API Gateway's default (and, for REST APIs, usual maximum) integration timeout. */
const DEFAULT_INTEGRATION_TIMEOUT_MS = 29_000;

export type Resolve = (value: TemplateValue) => TemplateValue;

export interface ApiGatewayOptions {
  template: CfnTemplate;
  /** Resolves intrinsics to local values: Ref of the RestApi -> `apiId`, of a Stage -> its name, of other API resources -> their logical id, GetAtt RootResourceId -> `rootResourceId(apiId)`. */
  resolve: Resolve;
  /** Invokes a function by ARN (RequestResponse); rejects when the function fails. */
  invoke(functionArn: string, event: unknown): Promise<unknown>;
  /** The id the RestApi gets locally (what `Ref` of it resolves to). */
  apiId: string;
  region: string;
  accountId: string;
  port?: number;
  host?: string;
  /** Key values to use instead of generated ones, by key id. */
  apiKeyValues?: Record<string, string>;
  /** One line per request (an access log). */
  log?: (line: string) => void;
}

export interface LocalApiKey {
  /** The key id: what `Ref` of the AWS::ApiGateway::ApiKey resolves to, and what handlers see as `requestContext.identity.apiKeyId`. */
  id: string;
  logicalId: string;
  name?: string;
  value: string;
  enabled: boolean;
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

export const rootResourceId = (apiId: string) => `${apiId}-root`;

/**
 * What Ref/GetAtt of the template's API Gateway resources mean locally: a RestApi is its local id
 * (GetAtt RootResourceId its root), a Stage its name, any other API resource its logical id (an
 * ApiKey's id is then what handlers see as the merchant identity).
 */
export function registerApiGatewayReferences(template: CfnTemplate, references: { set(logicalId: string, ref: TemplateValue, attributes?: Record<string, TemplateValue>): void }): void {
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    if (!resource.Type.startsWith('AWS::ApiGateway::')) continue;
    if (resource.Type === 'AWS::ApiGateway::RestApi') {
      references.set(logicalId, localApiId(logicalId), { RootResourceId: rootResourceId(localApiId(logicalId)) });
    } else if (resource.Type === 'AWS::ApiGateway::Stage') {
      references.set(logicalId, String(resource.Properties?.StageName));
    } else {
      references.set(logicalId, logicalId);
    }
  }
}

/** A stable, API-Gateway-looking id (10 lower-case alphanumerics) for a logical id. */
export function localApiId(logicalId: string): string {
  const digest = createHash('sha256').update(logicalId).digest();
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from(digest.subarray(0, 10), (byte) => alphabet[byte % alphabet.length]).join('');
}

/** A fresh 40-character key value, like the ones API Gateway generates. */
function generateKeyValue(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from(randomBytes(40), (byte) => alphabet[byte % alphabet.length]).join('');
}

// ---------------------------------------------------------------------------------------------
// Gateway responses

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

type ResponseTypeName = keyof typeof RESPONSE_TYPES;

interface GatewayResponseDefinition {
  statusCode?: number;
  templates: Record<string, string>;
  parameters: Record<string, string>;
}

interface RequestFacts {
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

function lowerCaseLookup(headers: Record<string, string>, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === wanted) return value;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// The compiled API

interface Integration {
  type: 'AWS_PROXY' | 'MOCK';
  functionArn?: string;
  timeoutMs: number;
  /** MOCK: the response it gives. */
  mock?: { statusCode: number; headers: Record<string, string>; body: string };
}

interface CompiledMethod {
  httpMethod: string;
  resourcePath: string;
  resourceId: string;
  apiKeyRequired: boolean;
  validateParameters: boolean;
  required: { header: string[]; querystring: string[] };
  integration: Integration;
}

interface RouteNode {
  id: string;
  resourcePath: string;
  literal: Map<string, RouteNode>;
  variable?: { name: string; node: RouteNode };
  greedy?: { name: string; node: RouteNode };
  methods: Map<string, CompiledMethod>;
}

interface TokenBucket {
  tokens: number;
  updatedAt: number;
  readonly rate: number;
  readonly burst: number;
}

function takeToken(bucket: TokenBucket, now: number): boolean {
  const refill = Number.isFinite(bucket.rate) ? ((now - bucket.updatedAt) / 1000) * bucket.rate : bucket.burst;
  bucket.tokens = Math.min(bucket.burst, bucket.tokens + refill);
  bucket.updatedAt = now;
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}

interface Throttle {
  rate: number;
  burst: number;
}

interface CompiledUsagePlan {
  id: string;
  throttle?: Throttle;
  /** `"/payments/POST"` -> throttle, per API stage. */
  methodThrottles: Record<string, Throttle>;
  quota?: { limit: number; period: 'DAY' | 'WEEK' | 'MONTH' };
}

interface CompiledApi {
  apiId: string;
  stageName: string;
  stageVariables: Record<string, string>;
  root: RouteNode;
  gatewayResponses: Map<string, GatewayResponseDefinition>;
  binaryMediaTypes: string[];
  /** Stage method settings (`"/*\/*"` or `"/payments/POST"`) -> throttle. */
  stageThrottles: Record<string, Throttle>;
  keys: Map<string, LocalApiKey>;
  /** key id -> its usage plan for this stage. */
  planOfKey: Map<string, CompiledUsagePlan>;
}

function asString(value: TemplateValue | undefined, where: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new UnsupportedTemplateError(`${where}: expected a string, got ${JSON.stringify(value)}`);
}

function toThrottle(value: TemplateValue | undefined): Throttle | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const { RateLimit, BurstLimit } = value as { RateLimit?: number; BurstLimit?: number };
  if (RateLimit === undefined && BurstLimit === undefined) return undefined;
  return { rate: Number(RateLimit ?? Number.POSITIVE_INFINITY), burst: Number(BurstLimit ?? Number.POSITIVE_INFINITY) };
}

function compileApi(options: ApiGatewayOptions): CompiledApi {
  const { template, resolve, apiId } = options;
  const restApis = resourcesOfType(template, 'AWS::ApiGateway::RestApi');
  if (restApis.length !== 1) throw new UnsupportedTemplateError(`The local front serves exactly one AWS::ApiGateway::RestApi; the template has ${restApis.length}`);
  const [restApiLogicalId, restApi] = restApis[0]!;
  const restApiProps = (resolve((restApi.Properties ?? {}) as TemplateValue) ?? {}) as Record<string, TemplateValue>;
  if (restApiProps.Body !== undefined || restApiProps.BodyS3Location !== undefined) {
    throw new UnsupportedTemplateError(`${restApiLogicalId}: RestApi defined by an OpenAPI Body is not supported locally`);
  }
  const belongs = (props: Record<string, TemplateValue>) => props.RestApiId === apiId;
  const resolvedOfType = (type: string) =>
    resourcesOfType(template, type).map(([logicalId, resource]) => [logicalId, resolve((resource.Properties ?? {}) as TemplateValue) as Record<string, TemplateValue>] as const);

  const stages = resolvedOfType('AWS::ApiGateway::Stage').filter(([, props]) => belongs(props));
  if (stages.length !== 1) throw new UnsupportedTemplateError(`The local front serves exactly one stage of ${restApiLogicalId}; the template has ${stages.length}`);
  const [, stage] = stages[0]!;
  const stageName = asString(stage.StageName, 'Stage.StageName');
  const stageVariables = Object.fromEntries(Object.entries((stage.Variables ?? {}) as Record<string, TemplateValue>).map(([k, v]) => [k, String(v)]));
  const stageThrottles: Record<string, Throttle> = {};
  for (const setting of (stage.MethodSettings ?? []) as Array<Record<string, TemplateValue>>) {
    const throttle = toThrottle({ RateLimit: setting.ThrottlingRateLimit, BurstLimit: setting.ThrottlingBurstLimit } as TemplateValue);
    if (!throttle) continue;
    // MethodSettings encode the resource path's inner slashes as ~1 (`/~1payments~1{id}`); `/*` means every resource.
    const resourcePath = String(setting.ResourcePath ?? '/*').replaceAll('~1', '/').replace(/^\/\//, '/');
    stageThrottles[`${resourcePath}/${setting.HttpMethod ?? '*'}`] = throttle;
  }

  // Routes
  const root: RouteNode = { id: rootResourceId(apiId), resourcePath: '/', literal: new Map(), methods: new Map() };
  const nodes = new Map<string, RouteNode>([[root.id, root]]);
  const resources = resolvedOfType('AWS::ApiGateway::Resource').filter(([, props]) => belongs(props));
  const pending = new Map(resources);
  while (pending.size > 0) {
    let progressed = false;
    for (const [logicalId, props] of pending) {
      const parent = nodes.get(asString(props.ParentId, `${logicalId}.ParentId`));
      if (!parent) continue;
      const part = asString(props.PathPart, `${logicalId}.PathPart`);
      const node: RouteNode = {
        id: logicalId,
        resourcePath: `${parent.resourcePath === '/' ? '' : parent.resourcePath}/${part}`,
        literal: new Map(),
        methods: new Map(),
      };
      const variable = /^\{([^}+]+)(\+)?\}$/.exec(part);
      if (variable?.[2]) parent.greedy = { name: variable[1]!, node };
      else if (variable) parent.variable = { name: variable[1]!, node };
      else parent.literal.set(part, node);
      nodes.set(logicalId, node);
      pending.delete(logicalId);
      progressed = true;
    }
    if (!progressed) throw new UnsupportedTemplateError(`API resources with unknown parents: ${[...pending.keys()].join(', ')}`);
  }

  const validators = new Map(
    resolvedOfType('AWS::ApiGateway::RequestValidator')
      .filter(([, props]) => belongs(props))
      .map(([logicalId, props]) => [logicalId, { parameters: props.ValidateRequestParameters === true, body: props.ValidateRequestBody === true }]),
  );

  for (const [logicalId, props] of resolvedOfType('AWS::ApiGateway::Method').filter(([, p]) => belongs(p))) {
    const node = nodes.get(asString(props.ResourceId, `${logicalId}.ResourceId`));
    if (!node) throw new UnsupportedTemplateError(`${logicalId}: unknown ResourceId ${String(props.ResourceId)}`);
    const httpMethod = asString(props.HttpMethod, `${logicalId}.HttpMethod`).toUpperCase();
    const authorization = props.AuthorizationType ?? 'NONE';
    if (authorization !== 'NONE') throw new UnsupportedTemplateError(`${logicalId}: AuthorizationType ${String(authorization)} is not supported locally (only API keys)`);
    const validator = props.RequestValidatorId === undefined ? undefined : validators.get(String(props.RequestValidatorId));
    if (validator?.body && props.RequestModels && Object.keys(props.RequestModels as object).length > 0) {
      throw new UnsupportedTemplateError(`${logicalId}: request body validation against models is not supported locally`);
    }
    const required = { header: [] as string[], querystring: [] as string[] };
    for (const [parameter, isRequired] of Object.entries((props.RequestParameters ?? {}) as Record<string, TemplateValue>)) {
      const match = /^method\.request\.(header|querystring|path)\.(.+)$/.exec(parameter);
      if (!match) throw new UnsupportedTemplateError(`${logicalId}: request parameter ${parameter} is not understood`);
      if (isRequired === true && match[1] !== 'path') required[match[1] as 'header' | 'querystring'].push(match[2]!);
    }
    node.methods.set(httpMethod, {
      httpMethod,
      resourcePath: node.resourcePath,
      resourceId: node.id,
      apiKeyRequired: props.ApiKeyRequired === true,
      validateParameters: validator?.parameters ?? false,
      required,
      integration: compileIntegration(logicalId, (props.Integration ?? {}) as Record<string, TemplateValue>),
    });
  }

  const gatewayResponses = new Map<string, GatewayResponseDefinition>();
  for (const [, props] of resolvedOfType('AWS::ApiGateway::GatewayResponse').filter(([, p]) => belongs(p))) {
    gatewayResponses.set(asString(props.ResponseType, 'GatewayResponse.ResponseType'), {
      statusCode: props.StatusCode === undefined ? undefined : Number(props.StatusCode),
      templates: (props.ResponseTemplates ?? {}) as Record<string, string>,
      parameters: (props.ResponseParameters ?? {}) as Record<string, string>,
    });
  }

  // Keys and usage plans
  const keys = new Map<string, LocalApiKey>();
  for (const [logicalId, resource] of resourcesOfType(template, 'AWS::ApiGateway::ApiKey')) {
    const props = resolve((resource.Properties ?? {}) as TemplateValue) as Record<string, TemplateValue>;
    const id = asString(resolve({ Ref: logicalId }), `Ref ${logicalId}`);
    const value = options.apiKeyValues?.[id] ?? (typeof props.Value === 'string' ? props.Value : generateKeyValue());
    keys.set(id, { id, logicalId, name: typeof props.Name === 'string' ? props.Name : undefined, value, enabled: props.Enabled === true || props.Enabled === 'true' });
  }
  const plans = new Map<string, CompiledUsagePlan>();
  for (const [logicalId, props] of resolvedOfType('AWS::ApiGateway::UsagePlan')) {
    const apiStage = ((props.ApiStages ?? []) as Array<Record<string, TemplateValue>>).find((s) => s.ApiId === apiId && s.Stage === stageName);
    if (!apiStage) continue;
    const methodThrottles: Record<string, Throttle> = {};
    for (const [path, throttle] of Object.entries((apiStage.Throttle ?? {}) as Record<string, TemplateValue>)) {
      const compiled = toThrottle(throttle);
      if (compiled) methodThrottles[path] = compiled;
    }
    const quota = props.Quota as { Limit?: number; Period?: string } | undefined;
    plans.set(logicalId, {
      id: logicalId,
      throttle: toThrottle(props.Throttle),
      methodThrottles,
      quota: quota?.Limit ? { limit: Number(quota.Limit), period: (quota.Period ?? 'DAY') as 'DAY' | 'WEEK' | 'MONTH' } : undefined,
    });
  }
  const planOfKey = new Map<string, CompiledUsagePlan>();
  for (const [, props] of resolvedOfType('AWS::ApiGateway::UsagePlanKey')) {
    const plan = plans.get(String(props.UsagePlanId));
    if (plan && props.KeyType === 'API_KEY') planOfKey.set(String(props.KeyId), plan);
  }

  return {
    apiId,
    stageName,
    stageVariables,
    root,
    gatewayResponses,
    // CloudFormation takes `image/png`; the console and PATCH operations spell it `image~1png`.
    binaryMediaTypes: ((restApiProps.BinaryMediaTypes ?? []) as string[]).map((type) => String(type).replaceAll('~1', '/').trim().toLowerCase()),
    stageThrottles,
    keys,
    planOfKey,
  };
}

function compileIntegration(methodId: string, integration: Record<string, TemplateValue>): Integration {
  const timeoutMs = Number(integration.TimeoutInMillis ?? DEFAULT_INTEGRATION_TIMEOUT_MS);
  if (integration.Type === 'AWS_PROXY') {
    const uri = asString(integration.Uri, `${methodId}.Integration.Uri`);
    const match = /:lambda:path\/\d{4}-\d{2}-\d{2}\/functions\/(.+)\/invocations$/.exec(uri);
    if (!match) throw new UnsupportedTemplateError(`${methodId}: AWS_PROXY integration ${uri} is not a Lambda function`);
    return { type: 'AWS_PROXY', functionArn: match[1]!, timeoutMs };
  }
  if (integration.Type === 'MOCK') {
    const response = ((integration.IntegrationResponses ?? []) as Array<Record<string, TemplateValue>>)[0] ?? {};
    const statusCode = Number(response.StatusCode ?? 200);
    const headers: Record<string, string> = {};
    for (const [name, expression] of Object.entries((response.ResponseParameters ?? {}) as Record<string, string>)) {
      const header = /^method\.response\.header\.(.+)$/.exec(name)?.[1];
      if (header && expression.startsWith("'")) headers[header] = expression.slice(1, -1);
    }
    const templates = (response.ResponseTemplates ?? {}) as Record<string, string>;
    return { type: 'MOCK', timeoutMs, mock: { statusCode, headers, body: templates['application/json'] ?? Object.values(templates)[0] ?? '' } };
  }
  throw new UnsupportedTemplateError(`${methodId}: integration type ${String(integration.Type)} is not supported locally (AWS_PROXY to Lambda, MOCK)`);
}

interface RouteMatch {
  node: RouteNode;
  pathParameters: Record<string, string>;
}

/** Most specific route first, as API Gateway matches: literal segments, then `{var}`, then `{proxy+}`. */
function matchRoute(node: RouteNode, segments: string[], parameters: Record<string, string> = {}): RouteMatch | undefined {
  if (segments.length === 0) return { node, pathParameters: parameters };
  const [head, ...rest] = segments as [string, ...string[]];
  const literal = node.literal.get(head);
  const viaLiteral = literal && matchRoute(literal, rest, parameters);
  if (viaLiteral) return viaLiteral;
  if (node.variable && head !== '') {
    const viaVariable = matchRoute(node.variable.node, rest, { ...parameters, [node.variable.name]: head });
    if (viaVariable) return viaVariable;
  }
  if (node.greedy) return { node: node.greedy.node, pathParameters: { ...parameters, [node.greedy.name]: segments.join('/') } };
  return undefined;
}

function quotaWindowStart(period: 'DAY' | 'WEEK' | 'MONTH', now: Date): number {
  const day = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  if (period === 'DAY') return day;
  if (period === 'WEEK') return day - ((now.getUTCDay() + 6) % 7) * 86_400_000;
  return Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
}

/**
 * Whether a request's Content-Type or Accept value matches one of the RestApi's binary media types,
 * as API Gateway decides it: the first media type of the value (parameters dropped, any case) equals
 * a binary media type or falls under a `type/*` one; `*\/*` makes every request match, with or without
 * the header (then every body reaches the integration base64-encoded).
 */
export function matchesBinaryMediaTypes(value: string | undefined, binaryMediaTypes: readonly string[]): boolean {
  if (binaryMediaTypes.includes('*/*')) return true;
  const mediaType = value?.split(',')[0]?.split(';')[0]?.trim().toLowerCase();
  const slash = mediaType?.indexOf('/') ?? -1;
  if (!mediaType || slash <= 0 || slash === mediaType.length - 1) return false;
  const wildcard = `${mediaType.slice(0, slash)}/*`;
  return binaryMediaTypes.some((binary) => binary === mediaType || binary === wildcard);
}

// ---------------------------------------------------------------------------------------------
// The server

class GatewayError extends Error {
  constructor(
    readonly type: ResponseTypeName,
    message?: string,
  ) {
    super(message ?? RESPONSE_TYPES[type].message);
  }
}

const HOP_BY_HOP_HEADERS = new Set(['content-length', 'connection', 'transfer-encoding', 'keep-alive']);

/**
 * What the front answers for a request Node's HTTP parser refuses before it is a request at all (server
 * 'clientError'): the API's error shape `{"error":{"type","code","message"}}`, never Node's empty 400/431.
 * On AWS the edge in front of API Gateway refuses such requests in its own format, so no gateway response
 * of the template applies; the codes are the API's (README "Errors").
 */
export const MALFORMED_REQUEST_ERRORS = {
  BAD_REQUEST: { status: 400, code: 'bad_request', message: 'The request is not valid HTTP: its request line or a header has characters HTTP does not allow.' },
  REQUEST_HEADER_FIELDS_TOO_LARGE: { status: 431, code: 'request_header_fields_too_large', message: 'The request headers are larger than 16 KB.' },
  REQUEST_TIMEOUT: { status: 408, code: 'request_timeout', message: 'The request was not received in time.' },
} as const;

type MalformedRequestError = keyof typeof MALFORMED_REQUEST_ERRORS;

function malformedRequestError(code: string | undefined): MalformedRequestError {
  if (code === 'HPE_HEADER_OVERFLOW') return 'REQUEST_HEADER_FIELDS_TOO_LARGE';
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'REQUEST_TIMEOUT';
  return 'BAD_REQUEST';
}

/**
 * The method and path of a request line whose only fault is its method (a token HTTP allows but Node's
 * parser does not know, like `FOO` or `get`): API Gateway takes such a request and answers it as a
 * method the API does not have.
 */
function unknownMethodRequestLine(rawPacket: Buffer | undefined): { method: string; target: string } | undefined {
  const line = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\/[\x21-\x7e]*) HTTP\/1\.[01]\r?\n/.exec(rawPacket?.toString('latin1') ?? '');
  return line ? { method: line[1]!, target: line[2]! } : undefined;
}

const PROXY_RESPONSE_KEYS = new Set(['statusCode', 'headers', 'multiValueHeaders', 'body', 'isBase64Encoded']);

interface ProxyResponse {
  statusCode: number;
  headers: Array<[string, string]>;
  body: Buffer;
}

/**
 * Validates a Lambda proxy response as API Gateway does (REST: no unknown keys, integer status, string
 * body). A base64 body (`isBase64Encoded`) is decoded to bytes only when the request's Accept matches a
 * binary media type (`binaryAccepted`); otherwise API Gateway sends the base64 text as it is.
 */
function parseProxyResponse(result: unknown, binaryAccepted: boolean): ProxyResponse {
  if (!result || typeof result !== 'object' || Array.isArray(result)) throw new GatewayError('INTEGRATION_FAILURE');
  const response = result as Record<string, unknown>;
  if (Object.keys(response).some((key) => !PROXY_RESPONSE_KEYS.has(key))) throw new GatewayError('INTEGRATION_FAILURE');
  const statusCode = typeof response.statusCode === 'string' ? Number(response.statusCode) : response.statusCode;
  if (typeof statusCode !== 'number' || !Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599) throw new GatewayError('INTEGRATION_FAILURE');
  if (response.body !== undefined && response.body !== null && typeof response.body !== 'string') throw new GatewayError('INTEGRATION_FAILURE');
  const headers: Array<[string, string]> = [];
  const seen = new Set<string>();
  for (const [name, values] of Object.entries((response.multiValueHeaders ?? {}) as Record<string, unknown>)) {
    if (!Array.isArray(values)) throw new GatewayError('INTEGRATION_FAILURE');
    for (const value of values) headers.push([name, String(value)]);
    seen.add(name.toLowerCase());
  }
  for (const [name, value] of Object.entries((response.headers ?? {}) as Record<string, unknown>)) {
    if (value === null || typeof value === 'object') throw new GatewayError('INTEGRATION_FAILURE');
    if (!seen.has(name.toLowerCase())) headers.push([name, String(value)]);
  }
  const text = (response.body as string | undefined) ?? '';
  const body = response.isBase64Encoded === true && binaryAccepted ? Buffer.from(text, 'base64') : Buffer.from(text, 'utf8');
  return { statusCode, headers, body };
}

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

/** What a REST proxy event is built from: the matched method and the request as it arrived. */
export interface ProxyRequest {
  resource: string;
  resourceId: string;
  httpMethod: string;
  /** The path inside the stage, e.g. `/payments/pay_1`. */
  path: string;
  /** Header names and values in arrival order, as node's `IncomingMessage.rawHeaders`. */
  rawHeaders: readonly string[];
  query: ReadonlyArray<readonly [string, string]>;
  pathParameters: Record<string, string>;
  stageVariables: Record<string, string>;
  body: string | null;
  isBase64Encoded: boolean;
  stage: string;
  apiId: string;
  accountId: string;
  region: string;
  requestId: string;
  extendedRequestId: string;
  startedAt: Date;
  protocol: string;
  sourceIp: string;
  /** The API key the gateway authenticated, when the method requires one. */
  apiKey?: { id: string; value: string };
}

/** The Lambda proxy integration event of a REST API (payload 1.0), as API Gateway builds it: empty maps are null. */
export function restProxyEvent(request: ProxyRequest): APIGatewayProxyEvent {
  const [headers, multiValueHeaders] = grouped(headerPairs(request.rawHeaders));
  const [query, multiValueQuery] = grouped(request.query);
  const orNull = <T extends object>(map: T) => (Object.keys(map).length > 0 ? map : null);
  return {
    resource: request.resource,
    path: request.path,
    httpMethod: request.httpMethod,
    headers: orNull(headers),
    multiValueHeaders: orNull(multiValueHeaders),
    queryStringParameters: orNull(query),
    multiValueQueryStringParameters: orNull(multiValueQuery),
    pathParameters: orNull(request.pathParameters),
    stageVariables: orNull(request.stageVariables),
    requestContext: {
      resourceId: request.resourceId,
      resourcePath: request.resource,
      httpMethod: request.httpMethod,
      extendedRequestId: request.extendedRequestId,
      requestTime: requestTime(request.startedAt),
      path: `/${request.stage}${request.path === '/' ? '/' : request.path}`,
      accountId: request.accountId,
      protocol: request.protocol,
      stage: request.stage,
      domainPrefix: request.apiId,
      requestTimeEpoch: request.startedAt.getTime(),
      requestId: request.requestId,
      identity: {
        cognitoIdentityPoolId: null,
        accountId: null,
        cognitoIdentityId: null,
        caller: null,
        sourceIp: request.sourceIp,
        principalOrgId: null,
        accessKey: null,
        cognitoAuthenticationType: null,
        cognitoAuthenticationProvider: null,
        userArn: null,
        userAgent: lowerCaseLookup(headers, 'user-agent') ?? null,
        user: null,
        apiKey: request.apiKey?.value,
        apiKeyId: request.apiKey?.id,
      },
      domainName: lowerCaseLookup(headers, 'host') ?? `${request.apiId}.execute-api.${request.region}.amazonaws.com`,
      apiId: request.apiId,
    },
    body: request.body,
    isBase64Encoded: request.isBase64Encoded,
  } as APIGatewayProxyEvent;
}

/** Node's flat `rawHeaders` as name/value pairs. */
function headerPairs(rawHeaders: readonly string[]): Array<[string, string]> {
  return Array.from({ length: rawHeaders.length / 2 }, (_, i) => [rawHeaders[2 * i]!, rawHeaders[2 * i + 1]!]);
}

/**
 * The last value of each name and all of its values, as own properties: a client's header named
 * `constructor` or `__proto__` must not reach Object.prototype.
 */
function grouped(pairs: Iterable<readonly [string, string]>): [Record<string, string>, Record<string, string[]>] {
  const values = new Map<string, string[]>();
  for (const [name, value] of pairs) values.set(name, [...(values.get(name) ?? []), value]);
  return [Object.fromEntries([...values].map(([name, all]) => [name, all.at(-1)!])), Object.fromEntries(values)];
}

function requestTime(date: Date): string {
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(date.getUTCDate())}/${months[date.getUTCMonth()]}/${date.getUTCFullYear()}:${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
}

function traceId(): string {
  return `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`;
}

/** Starts the local front for the template's REST API. */
export async function startApiGateway(options: ApiGatewayOptions): Promise<LocalApiGateway> {
  const api = compileApi(options);
  const host = options.host ?? '127.0.0.1';
  const keysByValue = new Map([...api.keys.values()].map((key) => [key.value, key]));
  const keyBuckets = new Map<string, TokenBucket>();
  const stageBuckets = new Map<string, TokenBucket>();
  const quotaUsage = new Map<string, { windowStart: number; used: number }>();

  const bucket = (buckets: Map<string, TokenBucket>, id: string, throttle: Throttle): TokenBucket => {
    let found = buckets.get(id);
    if (!found) {
      found = { tokens: throttle.burst, updatedAt: Date.now(), rate: throttle.rate, burst: throttle.burst };
      buckets.set(id, found);
    }
    return found;
  };

  const sendGatewayError = (response: ServerResponse, facts: RequestFacts, error: GatewayError) => {
    const { status, headers, body } = renderGatewayError(facts, error);
    writeResponse(response, facts, status, headers, body);
  };

  /** A gateway error as the template's GatewayResponse (or the DEFAULT_4XX/5XX one, or API Gateway's default) renders it. */
  const renderGatewayError = (facts: RequestFacts, error: GatewayError): { status: number; headers: Array<[string, string]>; body: Buffer } => {
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
    }
    return { status, headers: Object.entries(headers), body: Buffer.from(body, 'utf8') };
  };

  /** The headers of an answer: the integration's (or gateway response's) minus framing, plus the gateway's own. */
  const answerHeaders = (facts: RequestFacts, headers: Array<[string, string]>, body: Buffer): Map<string, string[]> => {
    // The gateway owns framing headers; everything else the integration set is passed on.
    const passed = headers.filter(([name]) => !HOP_BY_HOP_HEADERS.has(name.toLowerCase()));
    if (!passed.some(([name]) => name.toLowerCase() === 'content-type')) passed.push(['Content-Type', 'application/json']);
    passed.push(['x-amzn-RequestId', facts.requestId], ['x-amz-apigw-id', facts.extendedRequestId], ['X-Amzn-Trace-Id', traceId()]);
    passed.push(['Content-Length', String(body.length)]);
    const grouped = new Map<string, string[]>();
    for (const [name, value] of passed) grouped.set(name, [...(grouped.get(name) ?? []), value]);
    return grouped;
  };

  const writeResponse = (response: ServerResponse, facts: RequestFacts, status: number, headers: Array<[string, string]>, body: Buffer) => {
    response.writeHead(status, Object.fromEntries(answerHeaders(facts, headers, body)));
    response.end(body);
    options.log?.(`${facts.httpMethod} /${facts.stage}${facts.path} ${status} ${facts.requestId}`);
  };

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const startedAt = new Date();
    const url = new URL(request.url ?? '/', 'http://localhost');
    const headers = Object.fromEntries(headerPairs(request.rawHeaders));
    const query = Object.fromEntries(url.searchParams);
    const requestId = randomUUID();
    const stagePrefix = `/${api.stageName}`;
    const inStage = url.pathname === stagePrefix || url.pathname.startsWith(`${stagePrefix}/`);
    const path = inStage ? url.pathname.slice(stagePrefix.length) || '/' : url.pathname;
    const facts: RequestFacts = {
      requestId,
      extendedRequestId: randomBytes(8).toString('base64url').slice(0, 11) + '=',
      stage: api.stageName,
      apiId: api.apiId,
      httpMethod: request.method ?? 'GET',
      path,
      sourceIp: request.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1',
      headers,
      query,
      pathParameters: {},
      stageVariables: api.stageVariables,
    };

    const body = await readBody(request);
    if (body === 'too-large') return sendGatewayError(response, facts, new GatewayError('REQUEST_TOO_LARGE'));
    if (!inStage) {
      // No such stage: API Gateway answers before any of the API's own gateway responses apply.
      const text = Buffer.from('{"message":"Forbidden"}');
      return writeResponse(response, facts, 403, [['x-amzn-ErrorType', 'ForbiddenException']], text);
    }

    const segments = path === '/' ? [] : path.slice(1).split('/').map((segment) => {
      try {
        return decodeURIComponent(segment);
      } catch {
        return segment;
      }
    });
    const match = matchRoute(api.root, segments);
    const method = match && (match.node.methods.get(facts.httpMethod) ?? match.node.methods.get('ANY'));
    if (!match || !method) return sendGatewayError(response, facts, new GatewayError('MISSING_AUTHENTICATION_TOKEN'));
    facts.resourcePath = method.resourcePath;
    facts.pathParameters = match.pathParameters;

    // API key, then usage plan throttling and quota.
    let apiKey: LocalApiKey | undefined;
    const presented = lowerCaseLookup(headers, 'x-api-key');
    if (method.apiKeyRequired) {
      apiKey = presented === undefined ? undefined : keysByValue.get(presented);
      const plan = apiKey && api.planOfKey.get(apiKey.id);
      if (!apiKey || !apiKey.enabled || !plan) return sendGatewayError(response, facts, new GatewayError('INVALID_API_KEY'));
      const methodKey = `${method.resourcePath}/${method.httpMethod}`;
      const methodThrottle = plan.methodThrottles[methodKey];
      if (methodThrottle && !takeToken(bucket(keyBuckets, `${apiKey.id} ${methodKey}`, methodThrottle), Date.now())) {
        return sendGatewayError(response, facts, new GatewayError('THROTTLED'));
      }
      if (!methodThrottle && plan.throttle && !takeToken(bucket(keyBuckets, apiKey.id, plan.throttle), Date.now())) {
        return sendGatewayError(response, facts, new GatewayError('THROTTLED'));
      }
      if (plan.quota) {
        const windowStart = quotaWindowStart(plan.quota.period, startedAt);
        const usage = quotaUsage.get(apiKey.id);
        const used = usage && usage.windowStart === windowStart ? usage.used : 0;
        if (used >= plan.quota.limit) return sendGatewayError(response, facts, new GatewayError('QUOTA_EXCEEDED'));
        quotaUsage.set(apiKey.id, { windowStart, used: used + 1 });
      }
    }
    const stageThrottle = api.stageThrottles[`${method.resourcePath}/${method.httpMethod}`] ?? api.stageThrottles['/*/*'];
    if (stageThrottle && !takeToken(bucket(stageBuckets, `${method.resourcePath}/${method.httpMethod}`, stageThrottle), Date.now())) {
      return sendGatewayError(response, facts, new GatewayError('THROTTLED'));
    }

    if (method.validateParameters) {
      const missing = [
        ...method.required.header.filter((name) => !lowerCaseLookup(headers, name)?.trim()),
        ...method.required.querystring.filter((name) => !query[name]?.trim()),
      ];
      if (missing.length > 0) {
        return sendGatewayError(response, facts, new GatewayError('BAD_REQUEST_PARAMETERS', `Missing required request parameters: [${missing.join(', ')}]`));
      }
    }

    if (method.integration.type === 'MOCK') {
      const mock = method.integration.mock!;
      return writeResponse(response, facts, mock.statusCode, Object.entries(mock.headers), Buffer.from(mock.body, 'utf8'));
    }

    // The request's Content-Type decides how its body reaches the function: matching a binary media
    // type, base64-encoded as the client's bytes; otherwise as UTF-8 text (bytes that are not UTF-8 become
    // U+FFFD). The Accept header decides the other direction (a base64 proxy response decoded or not).
    const accept = lowerCaseLookup(headers, 'accept');
    const binary = matchesBinaryMediaTypes(lowerCaseLookup(headers, 'content-type'), api.binaryMediaTypes);
    const event = restProxyEvent({
      resource: method.resourcePath,
      resourceId: method.resourceId,
      httpMethod: method.httpMethod === 'ANY' ? facts.httpMethod : method.httpMethod,
      path,
      rawHeaders: request.rawHeaders,
      query: [...url.searchParams],
      pathParameters: match.pathParameters,
      stageVariables: api.stageVariables,
      body: body.length === 0 ? null : binary ? body.toString('base64') : body.toString('utf8'),
      isBase64Encoded: binary && body.length > 0,
      stage: api.stageName,
      apiId: api.apiId,
      accountId: options.accountId,
      region: options.region,
      requestId,
      extendedRequestId: facts.extendedRequestId,
      startedAt,
      protocol: `HTTP/${request.httpVersion}`,
      sourceIp: facts.sourceIp,
      ...(apiKey ? { apiKey: { id: apiKey.id, value: apiKey.value } } : {}),
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
      return writeResponse(response, facts, proxy.statusCode, proxy.headers, proxy.body);
    } catch (error) {
      if (!(error instanceof GatewayError)) {
        options.log?.(`${facts.requestId} Lambda execution failed due to customer function error: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
      }
      return sendGatewayError(response, facts, error instanceof GatewayError ? error : new GatewayError('INTEGRATION_FAILURE'));
    } finally {
      clearTimeout(timer);
    }
  };

  /** Writes a whole HTTP/1.1 answer to a socket whose request Node's parser refused, then closes it. */
  const writeRawResponse = (socket: Duplex, facts: RequestFacts, status: number, headers: Array<[string, string]>, body: Buffer) => {
    const lines = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`, `Date: ${new Date().toUTCString()}`, 'Connection: close'];
    for (const [name, values] of answerHeaders(facts, headers, body)) for (const value of values) lines.push(`${name}: ${value}`);
    socket.end(Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]));
    options.log?.(`${facts.httpMethod} /${facts.stage}${facts.path} ${status} ${facts.requestId} (refused by the HTTP parser)`);
  };

  /** The answer to a request Node's HTTP parser refused: the API's error shape, or a missing method's gateway response. */
  const answerClientError = (error: Error & { code?: string; rawPacket?: Buffer }, socket: Duplex) => {
    const requestLine = error.code === 'HPE_INVALID_METHOD' ? unknownMethodRequestLine(error.rawPacket) : undefined;
    const url = requestLine ? new URL(requestLine.target, 'http://localhost') : undefined;
    const stagePrefix = `/${api.stageName}`;
    const facts: RequestFacts = {
      requestId: randomUUID(),
      extendedRequestId: randomBytes(8).toString('base64url').slice(0, 11) + '=',
      stage: api.stageName,
      apiId: api.apiId,
      httpMethod: requestLine?.method ?? '-',
      path: url ? (url.pathname.startsWith(`${stagePrefix}/`) ? url.pathname.slice(stagePrefix.length) : url.pathname) : '-',
      sourceIp: (socket as Socket).remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1',
      headers: {},
      query: {},
      pathParameters: {},
      stageVariables: api.stageVariables,
    };
    if (url) {
      if (url.pathname !== stagePrefix && !url.pathname.startsWith(`${stagePrefix}/`)) {
        return writeRawResponse(socket, facts, 403, [['x-amzn-ErrorType', 'ForbiddenException']], Buffer.from('{"message":"Forbidden"}'));
      }
      // No resource has a method of that name: API Gateway's answer to any method the API lacks.
      const { status, headers, body } = renderGatewayError(facts, new GatewayError('MISSING_AUTHENTICATION_TOKEN'));
      return writeRawResponse(socket, facts, status, headers, body);
    }
    const { status, code, message } = MALFORMED_REQUEST_ERRORS[malformedRequestError(error.code)];
    const body = Buffer.from(JSON.stringify({ error: { type: 'invalid_request_error', code, message } }), 'utf8');
    return writeRawResponse(socket, facts, status, [], body);
  };

  /** The response under way on each socket, so that a parse error on a later request does not write into it. */
  const responseOnSocket = new WeakMap<Duplex, ServerResponse>();

  const server = createServer((request, response) => {
    responseOnSocket.set(request.socket, response);
    handle(request, response).catch((error: unknown) => {
      options.log?.(`local API Gateway error: ${error instanceof Error ? error.stack : String(error)}`);
      if (!response.headersSent) {
        response.writeHead(500, { 'Content-Type': 'application/json' });
        response.end('{"message":"Internal server error"}');
      }
    });
  });
  server.on('clientError', (error: Error & { code?: string; rawPacket?: Buffer }, socket: Duplex) => {
    // As Node itself: nothing to answer on a connection the client reset, or that is already answering.
    const underWay = responseOnSocket.get(socket);
    if (error.code === 'ECONNRESET' || !socket.writable || (underWay && !underWay.writableEnded)) {
      socket.destroy();
      return;
    }
    try {
      answerClientError(error, socket);
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
