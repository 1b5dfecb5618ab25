import { beforeAll, describe, expect, it } from 'vitest';
import { GATEWAY_ERRORS, gatewayErrorBody, type GatewayError, type GatewayErrorType } from '../../lib/constructs/payments-api.ts';
import { DEFAULT_MERCHANTS, DEFAULT_TIERS, pascalCase } from '../../lib/payflow-config.ts';
import { API_OPERATIONS } from '../../contract/openapi.ts';
import { logicalIdOf, referencedLogicalId, resourcesOfType, synthesize, type CfnResource, type Synthesized } from './synth.ts';

let synthesized: Synthesized;
let resources: Record<string, CfnResource>;

beforeAll(() => {
  synthesized = synthesize();
  resources = synthesized.json.Resources;
});

const methods = () => resourcesOfType(synthesized.json, 'AWS::ApiGateway::Method');

/** `/payments/{id}/refunds` for an AWS::ApiGateway::Resource logical id, walking up ParentId. */
function pathOf(resourceId: string | undefined): string {
  if (resourceId === undefined) return '';
  const resource = resources[resourceId];
  if (!resource || resource.Type !== 'AWS::ApiGateway::Resource') return '';
  return `${pathOf(referencedLogicalId(resource.Properties?.ParentId))}/${resource.Properties?.PathPart}`;
}

function route(method: string, path: string): CfnResource {
  const found = methods().filter(
    ([, m]) => m.Properties?.HttpMethod === method && pathOf(referencedLogicalId(m.Properties?.ResourceId)) === path,
  );
  expect(found, `${method} ${path}`).toHaveLength(1);
  return found[0]![1];
}

/** The function a Lambda proxy method integrates with. */
function integratedFunction(method: CfnResource): [string, CfnResource] {
  expect(method.Properties?.Integration).toMatchObject({ Type: 'AWS_PROXY', IntegrationHttpMethod: 'POST' });
  const uriParts = method.Properties?.Integration.Uri['Fn::Join'][1] as unknown[];
  const functionId = uriParts.map(referencedLogicalId).find((id) => id && resources[id]?.Type === 'AWS::Lambda::Function');
  return [functionId!, resources[functionId!]!];
}

/** Renders a gateway response template the way API Gateway would, with `messageString` standing for the gateway's quoted message. */
function renderTemplate(template: string, messageString = '"the gateway message"'): unknown {
  return JSON.parse(template.replaceAll('$context.error.messageString', messageString));
}

describe('the REST API', () => {
  it("declares every media type binary, so request bodies reach the handlers base64-encoded as the client's bytes (issue 7)", () => {
    const [, restApi] = resourcesOfType(synthesized.json, 'AWS::ApiGateway::RestApi')[0]!;
    expect(restApi.Properties?.BinaryMediaTypes).toEqual(['*/*']);
    // Request bodies are validated by the handlers, not by a gateway model (which would see base64).
    for (const [, validator] of resourcesOfType(synthesized.json, 'AWS::ApiGateway::RequestValidator')) {
      expect(validator.Properties?.ValidateRequestBody).toBe(false);
    }
  });
});

describe('stage v1', () => {
  it('is the deployment stage, traced, with JSON access logs and error execution logs without bodies', () => {
    const [, stage] = resourcesOfType(synthesized.json, 'AWS::ApiGateway::Stage')[0]!;
    expect(stage.Properties).toMatchObject({ StageName: 'v1', TracingEnabled: true });
    expect(referencedLogicalId(stage.Properties?.AccessLogSetting.DestinationArn)).toBe(
      logicalIdOf(synthesized.json, 'AWS::Logs::LogGroup', 'ApiAccessLogs'),
    );
    const sample = (stage.Properties?.AccessLogSetting.Format as string).replace(/\$context\.[a-zA-Z.]+/g, '429');
    expect(JSON.parse(sample)).toMatchObject({ requestId: '429', apiKeyId: '429', status: 429, resourcePath: '429' });
    expect(stage.Properties?.MethodSettings).toEqual([
      expect.objectContaining({
        HttpMethod: '*',
        ResourcePath: '/*',
        LoggingLevel: 'ERROR',
        DataTraceEnabled: false,
        MetricsEnabled: true,
        ThrottlingRateLimit: expect.any(Number),
        ThrottlingBurstLimit: expect.any(Number),
      }),
    ]);
  });

  it('API Gateway has the account role it needs to write logs', () => {
    synthesized.template.resourceCountIs('AWS::ApiGateway::Account', 1);
  });
});

describe('routes', () => {
  it.each([
    ['POST', '/payments', 'ApiCreatePaymentFunction'],
    ['GET', '/payments/{id}', 'ApiGetPaymentFunction'],
    ['POST', '/payments/{id}/refunds', 'ApiCreateRefundFunction'],
    ['GET', '/payments', 'ApiListPaymentsFunction'],
    ['GET', '/payments/{id}/refunds', 'ApiListRefundsFunction'],
    ['GET', '/refunds/{id}', 'ApiGetRefundFunction'],
    ['GET', '/events', 'WebhooksEventsFunction'],
    ['GET', '/events/{id}', 'WebhooksEventsFunction'],
    ['POST', '/events/{id}/resend', 'WebhooksEventsFunction'],
    ['POST', '/webhook_endpoints', 'WebhooksEndpointsFunction'],
    ['GET', '/webhook_endpoints', 'WebhooksEndpointsFunction'],
    ['GET', '/webhook_endpoints/{id}', 'WebhooksEndpointsFunction'],
    ['POST', '/webhook_endpoints/{id}', 'WebhooksEndpointsFunction'],
    ['DELETE', '/webhook_endpoints/{id}', 'WebhooksEndpointsFunction'],
    ['POST', '/webhook_endpoints/{id}/roll_secret', 'WebhooksEndpointsFunction'],
  ])('%s %s is a Lambda proxy integration of %s', (method, path, functionPrefix) => {
    const [functionId] = integratedFunction(route(method, path));
    expect(functionId.startsWith(functionPrefix), functionId).toBe(true);
  });

  it('no other methods: the deployed methods are exactly the operations of the OpenAPI document', () => {
    expect(methods()).toHaveLength(15);
    const deployed = methods().map(([, m]) => `${m.Properties?.HttpMethod} ${pathOf(referencedLogicalId(m.Properties?.ResourceId))}`);
    expect(deployed.toSorted()).toEqual(API_OPERATIONS.map((operation) => `${operation.method.toUpperCase()} ${operation.path}`).toSorted());
  });

  it('every method requires an API key', () => {
    for (const [logicalId, method] of methods()) {
      if (method.Properties?.HttpMethod === 'OPTIONS') continue;
      expect(method.Properties?.ApiKeyRequired, logicalId).toBe(true);
    }
  });
});

describe('Idempotency-Key on POSTs', () => {
  it('API Gateway requires the header on both POSTs through a parameter validator', () => {
    for (const path of ['/payments', '/payments/{id}/refunds']) {
      const method = route('POST', path);
      expect(method.Properties?.RequestParameters).toEqual({ 'method.request.header.Idempotency-Key': true });
      const validator = resources[referencedLogicalId(method.Properties?.RequestValidatorId)!]!;
      expect(validator).toMatchObject({
        Type: 'AWS::ApiGateway::RequestValidator',
        Properties: { ValidateRequestParameters: true, ValidateRequestBody: false },
      });
    }
  });

  it('GET requires no header', () => {
    const method = route('GET', '/payments/{id}');
    expect(method.Properties?.RequestParameters).toBeUndefined();
    expect(method.Properties?.RequestValidatorId).toBeUndefined();
  });
});

describe('function environment and grants', () => {
  const env = (fn: CfnResource) => fn.Properties?.Environment?.Variables as Record<string, unknown>;
  const tableId = (prefix: string) => logicalIdOf(synthesized.json, 'AWS::DynamoDB::Table', prefix);
  /** Actions a function's role may take on a table (statements naming its ARN). */
  function tableActions(functionId: string, tablePrefix: string): string[] {
    const roleId = referencedLogicalId(resources[functionId]!.Properties?.Role);
    const table = tableId(tablePrefix);
    return resourcesOfType(synthesized.json, 'AWS::IAM::Policy')
      .filter(([, policy]) => policy.Properties?.Roles.some((r: unknown) => referencedLogicalId(r) === roleId))
      .flatMap(([, policy]) => policy.Properties?.PolicyDocument.Statement as Array<{ Action: string | string[]; Resource: unknown }>)
      .filter((statement) => JSON.stringify(statement.Resource).includes(`"${table}"`))
      .flatMap((statement) => [statement.Action].flat());
  }

  // Exactly the item actions each handler calls (the local twin's iam:report shows them used, iam:mutations that each is needed).
  const POST_GRANTS: Record<string, { payments: string[] }> = {
    '/payments': { payments: ['dynamodb:GetItem', 'dynamodb:PutItem'] },
    '/payments/{id}/refunds': { payments: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'] },
  };
  it.each(Object.keys(POST_GRANTS))('POST %s: exactly the item actions it calls on both tables, the idempotency TTL', (path) => {
    const [functionId, fn] = integratedFunction(route('POST', path));
    expect(env(fn)).toMatchObject({
      PAYMENTS_TABLE_NAME: { Ref: tableId('DataPaymentsTable') },
      IDEMPOTENCY_TABLE_NAME: { Ref: tableId('DataIdempotencyTable') },
      IDEMPOTENCY_TTL_SECONDS: '86400',
    });
    expect(tableActions(functionId, 'DataPaymentsTable').sort()).toEqual(POST_GRANTS[path]!.payments);
    expect(tableActions(functionId, 'DataIdempotencyTable').sort()).toEqual(['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
  });

  it('GET /payments/{id}: reads the payments table only', () => {
    const [functionId, fn] = integratedFunction(route('GET', '/payments/{id}'));
    expect(env(fn).PAYMENTS_TABLE_NAME).toEqual({ Ref: tableId('DataPaymentsTable') });
    expect(env(fn).IDEMPOTENCY_TABLE_NAME).toBeUndefined();
    expect(tableActions(functionId, 'DataPaymentsTable')).toEqual(['dynamodb:GetItem']);
    expect(tableActions(functionId, 'DataIdempotencyTable')).toEqual([]);
  });

  // The lists read only: the lookup index by Query (on the index ARN alone), the items by GetItem / BatchGetItem.
  it.each([
    ['/payments', ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Query']],
    ['/payments/{id}/refunds', ['dynamodb:GetItem', 'dynamodb:Query']],
    ['/refunds/{id}', ['dynamodb:GetItem', 'dynamodb:Query']],
  ])('GET %s: reads the payments table only, with %j', (path, actions) => {
    const [functionId, fn] = integratedFunction(route('GET', path));
    expect(env(fn).IDEMPOTENCY_TABLE_NAME).toBeUndefined();
    expect(tableActions(functionId, 'DataPaymentsTable').sort()).toEqual(actions);
    expect(tableActions(functionId, 'DataIdempotencyTable')).toEqual([]);
  });
});

describe('merchants, API keys and usage plans', () => {
  const plans = () => resourcesOfType(synthesized.json, 'AWS::ApiGateway::UsagePlan');

  it('one usage plan per tier, throttled as the tier says, on stage v1 of this API', () => {
    expect(plans()).toHaveLength(Object.keys(DEFAULT_TIERS).length);
    const apiId = logicalIdOf(synthesized.json, 'AWS::ApiGateway::RestApi', 'ApiRestApi');
    const stageId = logicalIdOf(synthesized.json, 'AWS::ApiGateway::Stage', 'ApiRestApiDeploymentStagev1');
    for (const [tierName, tier] of Object.entries(DEFAULT_TIERS)) {
      const planId = logicalIdOf(synthesized.json, 'AWS::ApiGateway::UsagePlan', `ApiRestApi${pascalCase(tierName)}UsagePlan`);
      const plan = resources[planId]!.Properties!;
      expect(plan.Throttle, tierName).toEqual({ RateLimit: tier.rateLimit, BurstLimit: tier.burstLimit });
      expect(plan.Quota, tierName).toBeUndefined();
      expect(plan.ApiStages).toEqual([expect.objectContaining({ ApiId: { Ref: apiId }, Stage: { Ref: stageId } })]);
    }
  });

  it.each(DEFAULT_MERCHANTS)('merchant $id has an enabled key attached to the $tier plan, and only to it', (merchant) => {
    const keyId = logicalIdOf(synthesized.json, 'AWS::ApiGateway::ApiKey', `Api${pascalCase(merchant.id)}ApiKey`);
    expect(resources[keyId]!.Properties?.Enabled).toBe(true);
    const attachments = resourcesOfType(synthesized.json, 'AWS::ApiGateway::UsagePlanKey').filter(
      ([, attachment]) => referencedLogicalId(attachment.Properties?.KeyId) === keyId,
    );
    expect(attachments).toHaveLength(1);
    const planId = referencedLogicalId(attachments[0]![1].Properties?.UsagePlanId)!;
    expect(planId.startsWith(`ApiRestApi${pascalCase(merchant.tier)}UsagePlan`), planId).toBe(true);
    expect(attachments[0]![1].Properties?.KeyType).toBe('API_KEY');
  });
});

describe('gateway responses: API Gateway\'s own errors in the API error shape', () => {
  const responses = () =>
    new Map(
      resourcesOfType(synthesized.json, 'AWS::ApiGateway::GatewayResponse').map(([, response]) => [
        response.Properties?.ResponseType as string,
        response.Properties!,
      ]),
    );

  it.each(Object.entries(GATEWAY_ERRORS) as Array<[GatewayErrorType, GatewayError]>)('%s', (type, error) => {
    const response = responses().get(type);
    expect(response, type).toBeDefined();
    expect(response!.StatusCode).toBe(error.keepsGatewayStatus ? undefined : String(error.status));
    const body = renderTemplate(response!.ResponseTemplates['application/json']);
    expect(body).toEqual({
      error: {
        type: error.type,
        code: error.code,
        message: error.gatewayMessage ? 'the gateway message' : error.message,
        ...(error.param ? { param: error.param } : {}),
      },
    });
    for (const [name, value] of Object.entries(error.headers ?? {})) {
      expect(response!.ResponseParameters?.[`gatewayresponse.header.${name}`]).toBe(`'${value}'`);
    }
  });

  it.each([
    ['BAD_REQUEST_PARAMETERS', '400', 'invalid_request_error', 'idempotency_key_missing', 'Idempotency-Key'],
    ['BAD_REQUEST_BODY', '400', 'invalid_request_error', 'invalid_request', undefined],
    ['INVALID_API_KEY', '403', 'authentication_error', 'invalid_api_key', undefined],
    ['MISSING_AUTHENTICATION_TOKEN', '404', 'invalid_request_error', 'resource_not_found', undefined],
    ['ACCESS_DENIED', '403', 'authentication_error', 'access_denied', undefined],
    ['THROTTLED', '429', 'rate_limit_error', 'rate_limited', undefined],
    ['QUOTA_EXCEEDED', '429', 'rate_limit_error', 'quota_exceeded', undefined],
    ['REQUEST_TOO_LARGE', '413', 'invalid_request_error', 'request_too_large', undefined],
    ['UNSUPPORTED_MEDIA_TYPE', '415', 'invalid_request_error', 'unsupported_media_type', undefined],
    ['INTEGRATION_TIMEOUT', '504', 'api_error', 'gateway_timeout', undefined],
    ['INTEGRATION_FAILURE', '502', 'api_error', 'bad_gateway', undefined],
    ['API_CONFIGURATION_ERROR', '500', 'api_error', 'internal_error', undefined],
  ])('%s answers %s %s/%s', (type, status, errorType, code, param) => {
    const response = responses().get(type)!;
    expect(response.StatusCode).toBe(status);
    const body = renderTemplate(response.ResponseTemplates['application/json']) as { error: Record<string, unknown> };
    expect(body.error).toMatchObject({ type: errorType, code });
    expect(body.error.param).toBe(param);
  });

  it('DEFAULT_4XX and DEFAULT_5XX keep the status API Gateway chose and carry its message', () => {
    for (const type of ['DEFAULT_4XX', 'DEFAULT_5XX']) expect(responses().get(type)!.StatusCode).toBeUndefined();
    const body = renderTemplate(responses().get('DEFAULT_4XX')!.ResponseTemplates['application/json'], '"Unauthorized"');
    expect(body).toEqual({ error: { type: 'invalid_request_error', code: 'invalid_request', message: 'Unauthorized' } });
  });

  it('THROTTLED tells the client when to retry', () => {
    expect(responses().get('THROTTLED')!.ResponseParameters).toEqual({ 'gatewayresponse.header.Retry-After': "'1'" });
  });

  it('gatewayErrorBody (what the local runner sends) is the rendered template', () => {
    for (const type of Object.keys(GATEWAY_ERRORS) as GatewayErrorType[]) {
      if ((GATEWAY_ERRORS[type] as GatewayError).gatewayMessage) continue;
      const rendered = renderTemplate(responses().get(type)!.ResponseTemplates['application/json']);
      expect(JSON.parse(gatewayErrorBody(type)), type).toEqual(rendered);
    }
  });
});
