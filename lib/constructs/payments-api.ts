import { Stack, Validations } from 'aws-cdk-lib';
import {
  AccessLogField,
  AccessLogFormat,
  ApiKey,
  AuthorizationType,
  EndpointType,
  LambdaIntegration,
  LogGroupLogDestination,
  Method,
  MethodLoggingLevel,
  Period,
  ResponseType,
  RestApi,
  type IApiKey,
  type IResource,
  type RequestValidator,
  type UsagePlan,
} from 'aws-cdk-lib/aws-apigateway';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { GATEWAY_ERRORS, type GatewayError, type GatewayErrorType } from '../api-errors.ts';
import { pascalCase, type Merchant, type Tier } from '../payflow-config.ts';
import { PayflowFunction } from './payflow-function.ts';

export { GATEWAY_ERRORS, gatewayErrorBody, type GatewayError, type GatewayErrorType } from '../api-errors.ts';

export const API_STAGE_NAME = 'v1';
import { IDEMPOTENCY_KEY_HEADER } from '../../contract/headers.ts';
/** The API's binary media types: all of them (see PaymentsApi). */
export const ALL_MEDIA_TYPES = '*/*';
/** Stage-wide ceiling over all merchants together; each merchant's own limit is its usage plan's. */
export const STAGE_THROTTLE = { rateLimit: 1000, burstLimit: 2000 } as const;

export interface PaymentsApiProps {
  readonly paymentsTable: ITable;
  readonly idempotencyTable: ITable;
  readonly idempotencyTtlSeconds: number;
  readonly merchants: readonly Merchant[];
  readonly tiers: Readonly<Record<string, Tier>>;
}

/**
 * The public REST API (stage `v1`): `POST /payments`, `GET /payments/{id}`, `POST /payments/{id}/refunds`,
 * each a Lambda proxy integration. Merchants authenticate with API keys (the key id is the merchant
 * identity the handlers see); each key belongs to its tier's usage plan, which throttles it. API Gateway's
 * own errors answer in the API's error shape (GATEWAY_ERRORS).
 */
export class PaymentsApi extends Construct {
  readonly restApi: RestApi;
  readonly accessLogGroup: LogGroup;
  readonly createPaymentFunction: PayflowFunction;
  readonly getPaymentFunction: PayflowFunction;
  readonly createRefundFunction: PayflowFunction;
  /** Merchant id -> its API key. */
  readonly apiKeys: Readonly<Record<string, IApiKey>>;
  /** Tier name -> its usage plan. */
  readonly usagePlans: Readonly<Record<string, UsagePlan>>;

  constructor(scope: Construct, id: string, props: PaymentsApiProps) {
    super(scope, id);

    const api = { POWERTOOLS_SERVICE_NAME: 'payments-api' };
    const idempotentWrites = {
      paymentsTable: props.paymentsTable.tableName,
      idempotencyTable: props.idempotencyTable.tableName,
      idempotencyTtlSeconds: String(props.idempotencyTtlSeconds),
    };
    this.createPaymentFunction = new PayflowFunction(this, 'CreatePaymentFunction', {
      handlerPath: 'api/create-payment.ts',
      description: 'POST /v1/payments',
      environment: api,
      settings: idempotentWrites,
    });
    this.getPaymentFunction = new PayflowFunction(this, 'GetPaymentFunction', {
      handlerPath: 'api/get-payment.ts',
      description: 'GET /v1/payments/{id}',
      environment: api,
      settings: { paymentsTable: props.paymentsTable.tableName },
    });
    this.createRefundFunction = new PayflowFunction(this, 'CreateRefundFunction', {
      handlerPath: 'api/create-refund.ts',
      description: 'POST /v1/payments/{id}/refunds',
      environment: api,
      settings: idempotentWrites,
    });
    // Exactly what each handler calls (README "IAM"): a conditional PutItem creates a payment; GetItem reads one back
    // when the condition failed without returning the old item (DynamoDB returns it, so GetItem is a fallback
    // kept on purpose); a refund is reserved by one transaction of an Update (the payment) and a Put (the refund).
    this.createPaymentFunction.grantTableActions(props.paymentsTable, ['dynamodb:PutItem', 'dynamodb:GetItem']);
    this.getPaymentFunction.grantTableActions(props.paymentsTable, ['dynamodb:GetItem']);
    this.createRefundFunction.grantTableActions(props.paymentsTable, ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
    // Powertools' DynamoDB persistence layer: PutItem (in progress), UpdateItem (completed), DeleteItem (a failed
    // call forgets its key) and GetItem (reading a record when a conflict did not return it: kept on purpose).
    for (const fn of [this.createPaymentFunction, this.createRefundFunction]) {
      fn.grantTableActions(props.idempotencyTable, ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem']);
    }

    this.accessLogGroup = new LogGroup(this, 'AccessLogs', { retention: RetentionDays.THREE_MONTHS });
    this.restApi = new RestApi(this, 'RestApi', {
      restApiName: `${Stack.of(this).stackName}-payments`,
      description: 'Payflow payments API',
      endpointConfiguration: { types: [EndpointType.REGIONAL] },
      // Every request body reaches the handlers base64-encoded, as the client's bytes: a text body would
      // arrive already decoded, bytes that are not UTF-8 silently replaced by U+FFFD, and the handlers
      // could not refuse them (400 invalid_json). Responses are unaffected: the handlers return text
      // (isBase64Encoded false), which API Gateway passes through whatever the Accept header.
      binaryMediaTypes: [ALL_MEDIA_TYPES],
      // The account-level role API Gateway needs to write access and execution logs.
      cloudWatchRole: true,
      deployOptions: {
        stageName: API_STAGE_NAME,
        accessLogDestination: new LogGroupLogDestination(this.accessLogGroup),
        accessLogFormat: accessLogFormat(),
        tracingEnabled: true,
        metricsEnabled: true,
        loggingLevel: MethodLoggingLevel.ERROR,
        // Request and response bodies carry payment details: never log them.
        dataTraceEnabled: false,
        throttlingRateLimit: STAGE_THROTTLE.rateLimit,
        throttlingBurstLimit: STAGE_THROTTLE.burstLimit,
      },
      defaultMethodOptions: { apiKeyRequired: true, authorizationType: AuthorizationType.NONE },
    });

    for (const [type, error] of Object.entries(GATEWAY_ERRORS) as Array<[GatewayErrorType, GatewayError]>) {
      this.restApi.addGatewayResponse(pascalCase(type.toLowerCase()), {
        type: ResponseType.of(type),
        statusCode: error.keepsGatewayStatus ? undefined : String(error.status),
        templates: { 'application/json': gatewayResponseTemplate(error) },
        responseHeaders: Object.fromEntries(
          Object.entries(error.headers ?? {}).map(([name, value]) => [name, `'${value}'`]),
        ),
      });
    }

    // Only the Idempotency-Key header is checked here; bodies are validated by the handlers, which name
    // the offending parameter in their errors.
    const idempotencyKeyValidator = this.restApi.addRequestValidator('IdempotencyKeyValidator', {
      validateRequestParameters: true,
      validateRequestBody: false,
    });
    Validations.of(this.restApi).acknowledge({
      id: 'AwsSolutions-APIG2',
      reason:
        'Request parameters (the Idempotency-Key header) are validated by API Gateway; request bodies are validated by the handlers so that a 400 names the offending parameter, which a gateway body model cannot.',
    });

    const payments = this.restApi.root.addResource('payments');
    const payment = payments.addResource('{id}');
    const refunds = payment.addResource('refunds');
    const methods = [
      this.addIdempotentPost(payments, this.createPaymentFunction, idempotencyKeyValidator),
      payment.addMethod('GET', new LambdaIntegration(this.getPaymentFunction, { allowTestInvoke: false })),
      this.addIdempotentPost(refunds, this.createRefundFunction, idempotencyKeyValidator),
    ];
    for (const method of methods) acknowledgeApiKeyAuthentication(method);
    Validations.of(this.restApi).acknowledge({
      id: 'AwsSolutions-APIG3',
      reason:
        'A WAF web ACL is an optional, per-deployment addition (it has a fixed monthly cost); merchants are authenticated and throttled per API key by usage plans.',
    });
    Validations.of(this.restApi.node.findChild('CloudWatchRole')).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      reason:
        'The account-level API Gateway logging role: AWS-managed policy designed for exactly this role, whose log groups API Gateway names at run time.',
    });

    const usagePlans: Record<string, UsagePlan> = {};
    for (const [tierName, tier] of Object.entries(props.tiers)) {
      usagePlans[tierName] = this.restApi.addUsagePlan(`${pascalCase(tierName)}UsagePlan`, {
        name: `${Stack.of(this).stackName}-${tierName}`,
        description: `Payflow ${tierName} tier`,
        throttle: { rateLimit: tier.rateLimit, burstLimit: tier.burstLimit },
        quota: tier.dailyQuota === undefined ? undefined : { limit: tier.dailyQuota, period: Period.DAY },
        apiStages: [{ api: this.restApi, stage: this.restApi.deploymentStage }],
      });
    }
    const apiKeys: Record<string, IApiKey> = {};
    for (const merchant of props.merchants) {
      const key = new ApiKey(this, `${pascalCase(merchant.id)}ApiKey`, {
        description: `Payflow merchant ${merchant.id} (${merchant.tier} tier)`,
        enabled: true,
      });
      usagePlans[merchant.tier]!.addApiKey(key);
      apiKeys[merchant.id] = key;
    }
    this.apiKeys = apiKeys;
    this.usagePlans = usagePlans;
  }

  /** The functions behind the API, for monitoring. */
  get functions(): PayflowFunction[] {
    return [this.createPaymentFunction, this.getPaymentFunction, this.createRefundFunction];
  }

  private addIdempotentPost(resource: IResource, fn: PayflowFunction, requestValidator: RequestValidator): Method {
    return resource.addMethod('POST', new LambdaIntegration(fn, { allowTestInvoke: false }), {
      requestValidator,
      requestParameters: { [`method.request.header.${IDEMPOTENCY_KEY_HEADER}`]: true },
    });
  }
}

/** The gateway response body: the API's error shape, rendered by API Gateway (VTL). */
export function gatewayResponseTemplate(error: GatewayError): string {
  const message = error.gatewayMessage ? '$context.error.messageString' : JSON.stringify(error.message);
  const param = error.param === undefined ? '' : `,"param":${JSON.stringify(error.param)}`;
  return `{"error":{"type":${JSON.stringify(error.type)},"code":${JSON.stringify(error.code)},"message":${message}${param}}}`;
}

export function acknowledgeApiKeyAuthentication(method: Method): void {
  const reason =
    'Merchants authenticate with API Gateway API keys (apiKeyRequired on every method, one key per merchant, usage plans per tier); the key id is the merchant identity. No IAM or Cognito principals call this API.';
  Validations.of(method).acknowledge({ id: 'AwsSolutions-APIG4', reason });
  Validations.of(method).acknowledge({ id: 'AwsSolutions-COG4', reason });
}

/** One JSON object per request; status is a number so that metric filters can compare it. */
function accessLogFormat(): AccessLogFormat {
  const quoted = (value: string) => `"${value}"`;
  const fields: Record<string, string> = {
    requestId: quoted(AccessLogField.contextRequestId()),
    extendedRequestId: quoted(AccessLogField.contextExtendedRequestId()),
    requestTime: quoted(AccessLogField.contextRequestTime()),
    apiKeyId: quoted(AccessLogField.contextIdentityApiKeyId()),
    sourceIp: quoted(AccessLogField.contextIdentitySourceIp()),
    httpMethod: quoted(AccessLogField.contextHttpMethod()),
    resourcePath: quoted(AccessLogField.contextResourcePath()),
    protocol: quoted(AccessLogField.contextProtocol()),
    status: AccessLogField.contextStatus(),
    responseLength: quoted(AccessLogField.contextResponseLength()),
    responseLatency: quoted(AccessLogField.contextResponseLatency()),
    integrationStatus: quoted(AccessLogField.contextIntegrationStatus()),
    integrationLatency: quoted(AccessLogField.contextIntegrationLatency()),
    errorResponseType: quoted(AccessLogField.contextErrorResponseType()),
    errorMessage: quoted(AccessLogField.contextErrorMessage()),
    xrayTraceId: quoted(AccessLogField.contextXrayTraceId()),
  };
  return AccessLogFormat.custom(`{${Object.entries(fields).map(([name, value]) => `"${name}":${value}`).join(',')}}`);
}
