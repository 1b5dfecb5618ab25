import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { Observability } from './constructs/observability.ts';
import { Outbox } from './constructs/outbox.ts';
import { PayflowFunction } from './constructs/payflow-function.ts';
import { PaymentSaga } from './constructs/payment-saga.ts';
import { PaymentsApi } from './constructs/payments-api.ts';
import { PaymentsData } from './constructs/payments-data.ts';
import { DailyReconciliation } from './constructs/daily-reconciliation.ts';
import { Processor } from './constructs/processor.ts';
import { Reconciliation } from './constructs/reconciliation.ts';
import { Webhooks } from './constructs/webhooks.ts';
import { pascalCase, readPayflowConfig, type PayflowConfig } from './payflow-config.ts';

/**
 * The whole Payflow deployment (DESIGN §1): tables, the payments API, the sagas, the outbox that starts
 * them, reconciliation, and the alarms over all of it. Its outputs are the interface of a deployed stack:
 * the acceptance suite reads them from `cdk deploy --outputs-file` (the local runner writes the same names).
 */
export class PayflowStack extends Stack {
  readonly config: PayflowConfig;
  readonly data: PaymentsData;
  readonly saga: PaymentSaga;
  readonly outbox: Outbox;
  readonly reconciliation: Reconciliation;
  readonly processor: Processor;
  readonly dailyReconciliation: DailyReconciliation;
  readonly api: PaymentsApi;
  readonly observability: Observability;
  readonly webhooks: Webhooks;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const config = readPayflowConfig(this);
    this.config = config;
    const removalPolicy = config.dev ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;

    this.data = new PaymentsData(this, 'Data', { removalPolicy });
    const { paymentsTable, idempotencyTable, processorTable, circuitBreakerTable, dailyReportsTable } = this.data;
    this.processor = new Processor(this, 'Processor', { kind: config.processor, processorTable, stripeSecretArn: config.stripeSecretArn });
    const processor = this.processor;
    this.saga = new PaymentSaga(this, 'Saga', { paymentsTable, processor, circuitBreakerTable, circuitBreaker: config.circuitBreaker, sagaType: config.sagaType });
    const { paymentSaga, refundSaga, sagaFailuresQueue } = this.saga;
    this.outbox = new Outbox(this, 'Outbox', { paymentsTable, paymentSaga, refundSaga });
    this.reconciliation = new Reconciliation(this, 'Reconciliation', {
      paymentsTable,
      paymentSaga,
      refundSaga,
      sagaFailuresQueue,
      maxRestarts: config.reconciliation.maxRestarts,
      merchantIds: config.merchants.map((merchant) => merchant.id),
    });
    this.dailyReconciliation = new DailyReconciliation(this, 'DailyReconciliation', {
      paymentsTable,
      dailyReportsTable,
      processor,
      operatorQueue: sagaFailuresQueue,
    });
    this.api = new PaymentsApi(this, 'Api', {
      paymentsTable,
      idempotencyTable,
      idempotencyTtlSeconds: config.idempotencyTtlSeconds,
      merchants: config.merchants,
      tiers: config.tiers,
    });

    this.webhooks = new Webhooks(this, 'Webhooks', { paymentsTable, restApi: this.api.restApi, config: config.webhooks, removalPolicy });
    // The events and webhook-endpoint routes identify the merchant of an API key as the payments routes do.
    for (const fn of [this.webhooks.eventsFunction, this.webhooks.endpointsFunction]) this.api.identifyMerchants(fn);

    // Bulkheads: the processor's callers have a ceiling, so a slow processor cannot take the concurrency the API needs.
    const reserve = (functions: readonly PayflowFunction[], concurrency: number) => {
      for (const fn of functions) (fn.node.defaultChild as CfnFunction).reservedConcurrentExecutions = concurrency;
    };
    reserve(this.saga.processorFunctions, config.concurrency.processorTasks);
    if (config.concurrency.api > 0) reserve(this.api.functions, config.concurrency.api);

    const sagaTasks = new Set<PayflowFunction>(this.saga.functions);
    this.observability = new Observability(this, 'Observability', {
      restApi: this.api.restApi,
      accessLogGroup: this.api.accessLogGroup,
      // Every function of the stack, found rather than listed, so that a new one cannot go unwatched.
      functions: this.node.findAll().filter((c): c is PayflowFunction => c instanceof PayflowFunction && !sagaTasks.has(c)),
      sagaTaskFunctions: [...sagaTasks],
      streamConsumers: [this.outbox.relay, this.webhooks.recorder],
      deadLetterQueues: {
        EventsDlq: this.outbox.eventsDlq,
        RelayDeadLetterQueue: this.outbox.relayDeadLetterQueue,
        RelayFailureQueue: this.outbox.relayFailureQueue,
        SagaFailuresQueue: sagaFailuresQueue,
        WebhookDlq: this.webhooks.deadLetterQueue,
      },
      stateMachines: { PaymentSaga: paymentSaga, RefundSaga: refundSaga },
      alarmEmail: config.alarmEmail,
      removalPolicy,
    });

    this.output('ApiUrl', this.api.restApi.url, 'Base URL of the payments API, ending in /v1/');
    for (const [merchantId, key] of Object.entries(this.api.apiKeys)) {
      this.output(`ApiKeyId${pascalCase(merchantId)}`, key.keyId, `API key id of merchant ${merchantId} (its value: aws apigateway get-api-key --include-value)`);
    }
    this.output('PaymentsTableName', paymentsTable.tableName);
    this.output('IdempotencyTableName', idempotencyTable.tableName);
    this.output('ProcessorTableName', processorTable.tableName);
    this.output('CircuitBreakerTableName', circuitBreakerTable.tableName, "The processor's circuit breaker: item `processor` holds its position");
    this.output('DailyReportsTableName', dailyReportsTable.tableName, 'Daily reconciliation reports: npm run reconciliation:report');
    this.output('DailyReconciliationFunctionName', this.dailyReconciliation.function.functionName, 'Runs the daily reconciliation: invoke with {"day":"YYYY-MM-DD"}');
    if (processor.stripeSecret) this.output('StripeSecretArn', processor.stripeSecret.secretArn, "The Stripe secret key's secret: put the sk_ key in it");
    this.output('EventsQueueUrl', this.outbox.eventsQueue.queueUrl);
    this.output('EventsDlqUrl', this.outbox.eventsDlq.queueUrl);
    this.output('RelayDeadLetterQueueUrl', this.outbox.relayDeadLetterQueue.queueUrl, 'Stream records the relay could not publish, kept whole for replay');
    this.output('RelayFailureQueueUrl', this.outbox.relayFailureQueue.queueUrl);
    this.output('OutboxRelayFunctionName', this.outbox.relay.functionName, 'The outbox relay: npm run dlq redrives kept stream records through it');
    this.output('SagaFailuresQueueUrl', sagaFailuresQueue.queueUrl, 'Saga cases a compensation could not settle: an operator acts on them');
    this.output('WebhooksTableName', this.webhooks.table.tableName, 'Merchant events (30 days) and webhook endpoints');
    this.output('WebhookDeliveryQueueUrl', this.webhooks.deliveryQueue.queueUrl);
    this.output('WebhookDlqUrl', this.webhooks.deadLetterQueue.queueUrl, 'Webhook deliveries given up after the retry window (last status and error); the endpoint was disabled');
    this.output('PaymentSagaArn', paymentSaga.stateMachineArn);
    this.output('RefundSagaArn', refundSaga.stateMachineArn);
    this.output('AlarmTopicArn', this.observability.alarmTopic.topicArn, 'Subscribe to receive alarms');
  }

  private output(name: string, value: string, description?: string): void {
    new CfnOutput(this, name, { value, description });
  }
}
