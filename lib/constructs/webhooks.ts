import { Duration, Validations, type RemovalPolicy } from 'aws-cdk-lib';
import { LambdaIntegration, type Method, type RestApi } from 'aws-cdk-lib/aws-apigateway';
import { AttributeType, BillingMode, TableEncryption, Table, type ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { FilterCriteria, FilterRule, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq, SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue, QueueEncryption, type QueueProps } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { WebhooksConfig } from '../payflow-config.ts';
import { acknowledgeApiKeyAuthentication } from './payments-api.ts';
import { PayflowFunction } from './payflow-function.ts';

export interface WebhooksProps {
  readonly paymentsTable: ITable;
  readonly restApi: RestApi;
  readonly config: WebhooksConfig;
  readonly removalPolicy: RemovalPolicy;
}

const SECURE_QUEUE: QueueProps = { encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true };

/**
 * Merchant events and webhooks (issue 11), beside the payment path and never in it:
 *
 *   Payments table stream ──(second consumer, same filter as the relay)──▶ recorder
 *     │ event item in the Webhooks table (TTL 30 days) + one delivery message per endpoint that wants it
 *     ▼
 *   SQS webhook-deliveries (standard) ──▶ dispatcher: POST signed, 2xx within the timeout counts
 *     │ failure: the same queue again, delayed (≤ 15 min per hop, chained), backoff with full jitter
 *     │ past the retry window (3 days): webhook DLQ (last status, error) + endpoint disabled
 *     ▼
 *   webhook DLQ ──▶ the operator alarm (any message in a DLQ)
 *
 * The API gains /events and /webhook_endpoints, each resource served by one function.
 *
 * Signing secrets are envelope-encrypted with a customer-managed, rotating KMS key: the endpoints function may only
 * GenerateDataKey (to seal a new secret), the dispatcher may only Decrypt (to sign); nothing else may use it.
 */
export class Webhooks extends Construct {
  readonly table: Table;
  readonly signingKey: Key;
  readonly deliveryQueue: Queue;
  readonly deadLetterQueue: Queue;
  readonly recorder: PayflowFunction;
  readonly dispatcher: PayflowFunction;
  readonly eventsFunction: PayflowFunction;
  readonly endpointsFunction: PayflowFunction;

  constructor(scope: Construct, id: string, props: WebhooksProps) {
    super(scope, id);
    const { config } = props;

    // Events and endpoints, one partition per merchant, encrypted at rest like every table; the signing secrets are
    // moreover sealed with data keys of this key (README "Where the secret is kept").
    this.signingKey = new Key(this, 'SigningSecretsKey', {
      description: 'Envelope encryption of the webhook endpoints\' signing secrets',
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy,
      pendingWindow: Duration.days(7),
    });
    this.table = new Table(this, 'WebhooksTable', {
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: props.removalPolicy,
      partitionKey: { name: 'PK', type: AttributeType.STRING },
      sortKey: { name: 'SK', type: AttributeType.STRING },
      timeToLiveAttribute: 'expiresAt',
    });

    this.deadLetterQueue = new Queue(this, 'WebhookDlq', { ...SECURE_QUEUE, retentionPeriod: Duration.days(14) });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself a dead-letter queue: deliveries given up wait here for an operator, with a 14-day retention.',
    });

    const dispatcherTimeout = Duration.seconds(config.timeoutSeconds + 20);
    this.deliveryQueue = new Queue(this, 'DeliveryQueue', {
      ...SECURE_QUEUE,
      // SQS's advice for a Lambda event source: six times the function's timeout.
      visibilityTimeout: Duration.seconds(dispatcherTimeout.toSeconds() * 6),
      retentionPeriod: Duration.days(4),
      // Only a message whose handling keeps throwing (the table or a queue failing) is redriven; failed deliveries are retried by the dispatcher itself.
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: 5 },
    });

    const tableSetting = { webhooksTable: this.table.tableName };
    const deliveryQueueSetting = { webhookDeliveryQueueUrl: this.deliveryQueue.queueUrl };

    this.recorder = new PayflowFunction(this, 'Recorder', {
      handlerPath: 'webhooks/record-events.ts',
      description: 'Records payment and refund status changes as merchant events and queues their webhook deliveries',
      timeout: Duration.seconds(30),
      settings: { ...tableSetting, ...deliveryQueueSetting },
    });
    // A second consumer of the Payments stream (the relay is the first; DynamoDB Streams serves two per shard):
    // a slow or failing recorder holds back only events, never a saga.
    this.recorder.addEventSource(new DynamoEventSource(props.paymentsTable, {
      startingPosition: StartingPosition.TRIM_HORIZON,
      batchSize: 100,
      maxBatchingWindow: Duration.seconds(1),
      bisectBatchOnError: true,
      retryAttempts: 10,
      maxRecordAge: Duration.hours(24),
      reportBatchItemFailures: true,
      onFailure: new SqsDlq(this.deadLetterQueue),
      filters: [
        FilterCriteria.filter({
          eventName: FilterRule.or('INSERT', 'MODIFY'),
          dynamodb: { NewImage: { entity: { S: FilterRule.or('payment', 'refund') } } },
        }),
      ],
    }));
    this.recorder.grantTableActions(this.table, ['dynamodb:PutItem', 'dynamodb:Query']);
    this.recorder.addToRolePolicy(new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.deliveryQueue.queueArn] }));

    const webhookSettings = {
      webhookDevMode: String(config.devMode),
      webhookTimeoutSeconds: String(config.timeoutSeconds),
      webhookRetryBaseSeconds: String(config.retryBaseSeconds),
      webhookRetryCapSeconds: String(config.retryCapSeconds),
      webhookRetryWindowSeconds: String(config.retryWindowSeconds),
    };
    this.dispatcher = new PayflowFunction(this, 'Dispatcher', {
      handlerPath: 'webhooks/dispatch.ts',
      description: 'Delivers webhook events: signed POST, retries with backoff, DLQ after the retry window',
      timeout: dispatcherTimeout,
      settings: { ...tableSetting, ...deliveryQueueSetting, webhookDeadLetterQueueUrl: this.deadLetterQueue.queueUrl, webhookSigningKeyArn: this.signingKey.keyArn, ...webhookSettings },
    });
    this.signingKey.grant(this.dispatcher, 'kms:Decrypt');
    this.dispatcher.addEventSource(new SqsEventSource(this.deliveryQueue, { batchSize: 10, reportBatchItemFailures: true }));
    this.dispatcher.grantTableActions(this.table, ['dynamodb:GetItem', 'dynamodb:UpdateItem']);
    this.dispatcher.addToRolePolicy(new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.deliveryQueue.queueArn, this.deadLetterQueue.queueArn] }));

    const api = { POWERTOOLS_SERVICE_NAME: 'payments-api' };
    this.eventsFunction = new PayflowFunction(this, 'EventsFunction', {
      handlerPath: 'api/events.ts',
      description: 'GET /v1/events, GET /v1/events/{id}, POST /v1/events/{id}/resend',
      environment: api,
      settings: { ...tableSetting, ...deliveryQueueSetting },
    });
    this.eventsFunction.grantTableActions(this.table, ['dynamodb:GetItem', 'dynamodb:Query']);
    this.eventsFunction.addToRolePolicy(new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.deliveryQueue.queueArn] }));

    this.endpointsFunction = new PayflowFunction(this, 'EndpointsFunction', {
      handlerPath: 'api/webhook-endpoints.ts',
      description: '/v1/webhook_endpoints: create, list, get, update (re-enable), delete, roll the secret',
      environment: api,
      settings: { ...tableSetting, webhookDevMode: String(config.devMode), webhookSigningKeyArn: this.signingKey.keyArn },
    });
    this.signingKey.grant(this.endpointsFunction, 'kms:GenerateDataKey');
    this.endpointsFunction.grantTableActions(this.table, ['dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:DeleteItem', 'dynamodb:UpdateItem']);

    const events = props.restApi.root.addResource('events');
    const event = events.addResource('{id}');
    const endpoints = props.restApi.root.addResource('webhook_endpoints');
    const endpoint = endpoints.addResource('{id}');
    const eventsIntegration = new LambdaIntegration(this.eventsFunction, { allowTestInvoke: false });
    const endpointsIntegration = new LambdaIntegration(this.endpointsFunction, { allowTestInvoke: false });
    const methods: Method[] = [
      events.addMethod('GET', eventsIntegration),
      event.addMethod('GET', eventsIntegration),
      event.addResource('resend').addMethod('POST', eventsIntegration),
      endpoints.addMethod('POST', endpointsIntegration),
      endpoints.addMethod('GET', endpointsIntegration),
      endpoint.addMethod('GET', endpointsIntegration),
      endpoint.addMethod('POST', endpointsIntegration),
      endpoint.addMethod('DELETE', endpointsIntegration),
      endpoint.addResource('roll_secret').addMethod('POST', endpointsIntegration),
    ];
    for (const method of methods) acknowledgeApiKeyAuthentication(method);
  }
}
