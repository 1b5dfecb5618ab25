import { Duration, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { ParamsAndSecretsLayerVersion, ParamsAndSecretsLogLevel, ParamsAndSecretsVersions } from 'aws-cdk-lib/aws-lambda';
import { Secret, type ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { PayflowFunction, PayflowFunctionProps } from './payflow-function.ts';
import { PaymentsData } from './payments-data.ts';

export interface ProcessorProps {
  readonly kind: 'simulated' | 'stripe';
  /** The simulated processor's records. */
  readonly processorTable: ITable;
  /** Stripe: the secret holding the secret key (`sk_...`), by its complete ARN; absent, the stack creates an empty one to fill. */
  readonly stripeSecretArn?: string;
}

/**
 * The payment processor a stack uses (`payflow:processor`), and what a function needs to reach it:
 * the simulated one's table, or Stripe's secret key in Secrets Manager, read through the AWS Parameters
 * and Secrets Lambda Extension (a layer, so the bundles carry no Secrets Manager client). The key itself
 * never enters the template: the functions get the secret's ARN and `secretsmanager:GetSecretValue` on
 * that secret only.
 */
export class Processor extends Construct {
  readonly kind: 'simulated' | 'stripe';
  readonly stripeSecret?: ISecret;
  private readonly processorTable: ITable;

  constructor(scope: Construct, id: string, props: ProcessorProps) {
    super(scope, id);
    this.kind = props.kind;
    this.processorTable = props.processorTable;
    if (props.kind === 'stripe' && props.stripeSecretArn) {
      this.stripeSecret = Secret.fromSecretCompleteArn(this, 'StripeSecretKey', props.stripeSecretArn);
    } else if (props.kind === 'stripe') {
      const secret = new Secret(this, 'StripeSecretKey', {
        description: 'Stripe secret key (sk_...) of the payment processor: set it with aws secretsmanager put-secret-value',
      });
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason: "A Stripe secret key is rolled in Stripe's dashboard, then put here (README: switching to Stripe); no rotation function can roll it.",
      });
      this.stripeSecret = secret;
    }
  }

  /**
   * Function props of a function that calls the processor (`use: 'calls'`) or reads its records (`'records'`):
   * its settings, and with Stripe the extension layer. Pass them to the constructor, then `grant` the function.
   */
  functionProps(): Pick<PayflowFunctionProps, 'settings' | 'paramsAndSecrets'> {
    if (this.kind === 'simulated') return { settings: { processorTable: this.processorTable.tableName } };
    return {
      settings: { stripeSecretArn: this.stripeSecret!.secretArn },
      paramsAndSecrets: ParamsAndSecretsLayerVersion.fromVersion(ParamsAndSecretsVersions.V1_0_103, {
        // One secret, fetched once per container by the function; the extension's cache holds it for the rest.
        cacheSize: 1,
        secretsManagerTtl: Duration.minutes(5),
        logLevel: ParamsAndSecretsLogLevel.WARN,
      }),
    };
  }

  grant(fn: PayflowFunction, use: 'calls' | 'records'): void {
    if (this.kind === 'stripe') {
      // GetSecretValue only (grantRead would add DescribeSecret, which nothing calls).
      fn.addToRolePolicy(new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [this.stripeSecret!.secretArn] }));
      return;
    }
    if (use === 'calls') {
      // GetItem (its idempotency records), PutItem (a new record), UpdateItem (tok_flaky's attempt counter; a
      // refund's transaction of a Put and an Update; a void marking the capture it reversed).
      fn.grantTableActions(this.processorTable, ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
    } else {
      // A day's captures from the index (Query), and captures looked up by payment (BatchGetItem).
      fn.grantTableActions(this.processorTable, ['dynamodb:Query'], PaymentsData.CAPTURES_BY_DAY_INDEX);
      fn.grantTableActions(this.processorTable, ['dynamodb:BatchGetItem']);
    }
  }
}
