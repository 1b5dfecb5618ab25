/**
 * The template's REST API compiled into what the local front serves: one stage of one RestApi, its
 * routes and methods (AWS::ApiGateway::Resource/Method, their integrations and required parameters),
 * its gateway responses, binary media types and method throttling, its API keys and their usage plans.
 * What the front cannot serve as API Gateway would is refused here, naming the resource.
 */
import { randomBytes } from 'node:crypto';
import type { TemplateValue } from '../intrinsics.ts';
import { resourcesOfType, UnsupportedTemplateError, type CfnTemplate } from '../template.ts';
import { rootResourceId } from './references.ts';
import { buildRouteTree, type RouteNode } from './routes.ts';
import { toThrottle, type Throttle, type UsagePlanLimits } from './throttling.ts';

/**
 * API Gateway's default integration timeout for REST APIs, 29 s (50 ms to 29 s; a Regional or private API may be
 * raised past it by a quota increase): "Integration timeout", Amazon API Gateway quotas for REST APIs,
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-execution-service-limits-table.html
 * (checked 2026-12-01). Past it the gateway answers 504 INTEGRATION_TIMEOUT ("Endpoint request timed out").
 */
const DEFAULT_INTEGRATION_TIMEOUT_MS = 29_000;

export type Resolve = (value: TemplateValue) => TemplateValue;

export interface CompileApiOptions {
  template: CfnTemplate;
  /** Resolves intrinsics to local values: Ref of the RestApi -> `apiId`, of a Stage -> its name, of other API resources -> their logical id, GetAtt RootResourceId -> `rootResourceId(apiId)`. */
  resolve: Resolve;
  /** The id the RestApi gets locally (what `Ref` of it resolves to). */
  apiId: string;
  /** Key values to use instead of generated ones, by key id. */
  apiKeyValues?: Record<string, string>;
}

export interface LocalApiKey {
  /** The key id: what `Ref` of the AWS::ApiGateway::ApiKey resolves to, and what handlers see as `requestContext.identity.apiKeyId`. */
  id: string;
  logicalId: string;
  name?: string;
  value: string;
  enabled: boolean;
}

export interface Integration {
  type: 'AWS_PROXY' | 'MOCK';
  functionArn?: string;
  timeoutMs: number;
  /** MOCK: the response it gives. */
  mock?: { statusCode: number; headers: Record<string, string>; body: string };
}

export interface CompiledMethod {
  httpMethod: string;
  resourcePath: string;
  resourceId: string;
  apiKeyRequired: boolean;
  validateParameters: boolean;
  required: { header: string[]; querystring: string[] };
  integration: Integration;
}

/** A template's AWS::ApiGateway::GatewayResponse. */
export interface GatewayResponseDefinition {
  statusCode?: number;
  templates: Record<string, string>;
  parameters: Record<string, string>;
}

export interface CompiledApi {
  apiId: string;
  stageName: string;
  stageVariables: Record<string, string>;
  root: RouteNode<CompiledMethod>;
  gatewayResponses: Map<string, GatewayResponseDefinition>;
  binaryMediaTypes: string[];
  /** Stage method settings (`"/*\/*"` or `"/payments/POST"`) -> throttle. */
  stageThrottles: Record<string, Throttle>;
  keys: Map<string, LocalApiKey>;
  /** key id -> its usage plan for this stage. */
  planOfKey: Map<string, UsagePlanLimits>;
}

function asString(value: TemplateValue | undefined, where: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new UnsupportedTemplateError(`${where}: expected a string, got ${JSON.stringify(value)}`);
}

/** A fresh 40-character key value, like the ones API Gateway generates. */
function generateKeyValue(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from(randomBytes(40), (byte) => alphabet[byte % alphabet.length]).join('');
}

/** The template's resources of one type with their properties resolved to local values. */
type ResolvedResources = (type: string) => Array<readonly [logicalId: string, properties: Record<string, TemplateValue>]>;

/** The REST API of the template (exactly one, with one stage) as the local front serves it. */
export function compileApi(options: CompileApiOptions): CompiledApi {
  const { template, resolve, apiId } = options;
  const restApis = resourcesOfType(template, 'AWS::ApiGateway::RestApi');
  if (restApis.length !== 1) throw new UnsupportedTemplateError(`The local front serves exactly one AWS::ApiGateway::RestApi; the template has ${restApis.length}`);
  const [restApiLogicalId, restApi] = restApis[0]!;
  const restApiProps = (resolve((restApi.Properties ?? {}) as TemplateValue) ?? {}) as Record<string, TemplateValue>;
  if (restApiProps.Body !== undefined || restApiProps.BodyS3Location !== undefined) {
    throw new UnsupportedTemplateError(`${restApiLogicalId}: RestApi defined by an OpenAPI Body is not supported locally`);
  }
  const resolvedOfType: ResolvedResources = (type) =>
    resourcesOfType(template, type).map(([logicalId, resource]) => [logicalId, resolve((resource.Properties ?? {}) as TemplateValue) as Record<string, TemplateValue>] as const);
  // The resources of this API (its id is what `RestApiId` resolves to).
  const ofApi: ResolvedResources = (type) => resolvedOfType(type).filter(([, props]) => props.RestApiId === apiId);

  const stage = compileStage(restApiLogicalId, ofApi);
  const root = compileRoutes(apiId, ofApi);
  const gatewayResponses = compileGatewayResponses(ofApi);
  const { keys, planOfKey } = compileKeysAndPlans(options, resolvedOfType, stage.stageName);
  return {
    apiId,
    ...stage,
    root,
    gatewayResponses,
    // CloudFormation takes `image/png`; the console and PATCH operations spell it `image~1png`.
    binaryMediaTypes: ((restApiProps.BinaryMediaTypes ?? []) as string[]).map((type) => String(type).replaceAll('~1', '/').trim().toLowerCase()),
    keys,
    planOfKey,
  };
}

/** The API's one stage: its name, variables and method throttling. */
function compileStage(restApiLogicalId: string, ofApi: ResolvedResources): Pick<CompiledApi, 'stageName' | 'stageVariables' | 'stageThrottles'> {
  const stages = ofApi('AWS::ApiGateway::Stage');
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
  return { stageName, stageVariables, stageThrottles };
}

/** The resource tree with each resource's methods. */
function compileRoutes(apiId: string, ofApi: ResolvedResources): RouteNode<CompiledMethod> {
  const resources = ofApi('AWS::ApiGateway::Resource').map(([logicalId, props]) => ({
    logicalId,
    parentId: asString(props.ParentId, `${logicalId}.ParentId`),
    pathPart: asString(props.PathPart, `${logicalId}.PathPart`),
  }));
  const nodes = buildRouteTree<CompiledMethod>(rootResourceId(apiId), resources);

  const validators = new Map(
    ofApi('AWS::ApiGateway::RequestValidator').map(([logicalId, props]) => [logicalId, { parameters: props.ValidateRequestParameters === true, body: props.ValidateRequestBody === true }]),
  );

  for (const [logicalId, props] of ofApi('AWS::ApiGateway::Method')) {
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
  return nodes.get(rootResourceId(apiId))!;
}

function compileGatewayResponses(ofApi: ResolvedResources): Map<string, GatewayResponseDefinition> {
  const gatewayResponses = new Map<string, GatewayResponseDefinition>();
  for (const [, props] of ofApi('AWS::ApiGateway::GatewayResponse')) {
    gatewayResponses.set(asString(props.ResponseType, 'GatewayResponse.ResponseType'), {
      statusCode: props.StatusCode === undefined ? undefined : Number(props.StatusCode),
      templates: (props.ResponseTemplates ?? {}) as Record<string, string>,
      parameters: (props.ResponseParameters ?? {}) as Record<string, string>,
    });
  }
  return gatewayResponses;
}

/** Every API key of the template (values generated unless given or set), and the usage plan of each on this stage. */
function compileKeysAndPlans(options: CompileApiOptions, resolvedOfType: ResolvedResources, stageName: string): Pick<CompiledApi, 'keys' | 'planOfKey'> {
  const { template, resolve, apiId } = options;
  const keys = new Map<string, LocalApiKey>();
  for (const [logicalId, resource] of resourcesOfType(template, 'AWS::ApiGateway::ApiKey')) {
    const props = resolve((resource.Properties ?? {}) as TemplateValue) as Record<string, TemplateValue>;
    const id = asString(resolve({ Ref: logicalId }), `Ref ${logicalId}`);
    const value = options.apiKeyValues?.[id] ?? (typeof props.Value === 'string' ? props.Value : generateKeyValue());
    keys.set(id, { id, logicalId, name: typeof props.Name === 'string' ? props.Name : undefined, value, enabled: props.Enabled === true || props.Enabled === 'true' });
  }
  const plans = new Map<string, UsagePlanLimits>();
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
      throttle: toThrottle(props.Throttle),
      methodThrottles,
      quota: quota?.Limit ? { limit: Number(quota.Limit), period: (quota.Period ?? 'DAY') as 'DAY' | 'WEEK' | 'MONTH' } : undefined,
    });
  }
  const planOfKey = new Map<string, UsagePlanLimits>();
  for (const [, props] of resolvedOfType('AWS::ApiGateway::UsagePlanKey')) {
    const plan = plans.get(String(props.UsagePlanId));
    if (plan && props.KeyType === 'API_KEY') planOfKey.set(String(props.KeyId), plan);
  }
  return { keys, planOfKey };
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
