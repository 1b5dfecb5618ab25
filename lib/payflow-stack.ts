import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { Observability } from './constructs/observability.ts';
import { PayflowFunction } from './constructs/payflow-function.ts';
import { PaymentsApi } from './constructs/payments-api.ts';
import { PaymentsData } from './constructs/payments-data.ts';
import { PaymentSaga } from './constructs/payment-saga.ts';
import { pascalCase, readPayflowConfig, type PayflowConfig } from './payflow-config.ts';

/**
 * The whole Payflow deployment. Its outputs are the interface of a deployed stack: the acceptance suite
 * reads them from `cdk deploy --outputs-file` (and the local runner writes the same names).
 */
export class PayflowStack extends Stack {
  readonly config: PayflowConfig;
  readonly data: PaymentsData;
  readonly api: PaymentsApi;
  readonly observability: Observability;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const config = readPayflowConfig(this);
    this.config = config;

    const removalPolicy = config.dev ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
    this.data = new PaymentsData(this, 'Data', { removalPolicy });
    new PaymentSaga(this, 'Saga', { paymentsTable: this.data.paymentsTable, processorTable: this.data.processorTable, sagaType: config.sagaType });
    this.api = new PaymentsApi(this, 'Api', {
      paymentsTable: this.data.paymentsTable,
      idempotencyTable: this.data.idempotencyTable,
      idempotencyTtlSeconds: config.idempotencyTtlSeconds,
      merchants: config.merchants,
      tiers: config.tiers,
    });

    // Last, so that it sees every function the other constructs created.
    this.observability = new Observability(this, 'Observability', {
      restApi: this.api.restApi,
      accessLogGroup: this.api.accessLogGroup,
      functions: this.node.findAll().filter((c): c is PayflowFunction => c instanceof PayflowFunction),
      removalPolicy,
    });

    this.output('ApiUrl', this.api.restApi.url, 'Base URL of the payments API, ending in /v1/');
    for (const [merchantId, key] of Object.entries(this.api.apiKeys)) {
      this.output(`ApiKeyId${pascalCase(merchantId)}`, key.keyId, `API key id of merchant ${merchantId} (its value: aws apigateway get-api-key --include-value)`);
    }
    this.output('PaymentsTableName', this.data.paymentsTable.tableName);
    this.output('IdempotencyTableName', this.data.idempotencyTable.tableName);
    this.output('ProcessorTableName', this.data.processorTable.tableName);
    this.output('AlarmTopicArn', this.observability.alarmTopic.topicArn);
  }

  private output(name: string, value: string, description?: string): void {
    new CfnOutput(this, name, { value, description });
  }
}
