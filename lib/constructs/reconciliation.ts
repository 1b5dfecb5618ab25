import { Duration, Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { PayflowFunction } from './payflow-function.ts';

export interface ReconciliationProps {
  readonly paymentsTable: ITable;
  readonly paymentSaga: IStateMachine;
  readonly refundSaga: IStateMachine;
  readonly sagaFailuresQueue: IQueue;
  /** How long a payment or refund may stay open before it counts as stuck. Default 15 minutes. */
  readonly stuckAfter?: Duration;
  /** Default every 5 minutes. */
  readonly schedule?: Schedule;
  /** Restarts of one item's saga before it is handed to the saga-failures queue. Default 3. */
  readonly maxRestarts?: number;
  /** The stack's merchants (payflow:merchants): reconciliation scans each one's payments. */
  readonly merchantIds: readonly string[];
}

/**
 * The partition of reconciliation's per-merchant cursors and the attributes of a cursor item, all its function
 * may put: lib may not import the adapter, so test/cdk/outbox.test.ts checks these against the adapter's own
 * (lambdas/adapters/dynamodb/payments-items.ts).
 */
export const PAYMENT_SCAN_CURSORS_PARTITION = 'RECONCILIATION#PAYMENTS';
const CURSOR_ATTRIBUTES = ['PK', 'SK', 'entity', 'merchantId', 'after', 'watching', 'version'];

/**
 * Scheduled reconciliation (DESIGN §4): every few minutes, finds payments and refunds open for longer
 * than `stuckAfter` and restarts their saga (idempotent under the deterministic execution name) or flags
 * them to the saga-failures queue. Payments: each merchant's `lookup` entries from a cursor item per
 * merchant; refunds (and payments an earlier version put there): the sparse `open-items` index.
 */
export class Reconciliation extends Construct {
  readonly function: PayflowFunction;
  readonly rule: Rule;

  constructor(scope: Construct, id: string, props: ReconciliationProps) {
    super(scope, id);
    const stuckAfter = props.stuckAfter ?? Duration.minutes(15);

    this.function = new PayflowFunction(this, 'Reconcile', {
      handlerPath: 'reconcile.ts',
      description: 'Restarts or flags payments and refunds stuck in a non-terminal status',
      timeout: Duration.seconds(60),
      settings: {
        paymentsTable: props.paymentsTable.tableName,
        paymentSagaArn: props.paymentSaga.stateMachineArn,
        refundSagaArn: props.refundSaga.stateMachineArn,
        sagaFailuresQueueUrl: props.sagaFailuresQueue.queueUrl,
        stuckAfterSeconds: String(stuckAfter.toSeconds()),
        reconcileMaxRestarts: String(props.maxRestarts ?? 3),
        reconcileMerchantIds: props.merchantIds.join(','),
      },
    });
    const fn = this.function;

    // Finds each merchant's payments on the lookup index and refunds on the open-items index (Query), reads the
    // payments a page found in one batch (BatchGetItem) and each open item again before acting on it (GetItem).
    fn.grantTableActions(props.paymentsTable, ['dynamodb:Query'], 'lookup');
    fn.grantTableActions(props.paymentsTable, ['dynamodb:Query'], 'open-items');
    fn.grantTableActions(props.paymentsTable, ['dynamodb:GetItem', 'dynamodb:BatchGetItem']);
    // Its cursors: read (one Query of their partition) and put only there, with only their attributes.
    const cursorsOnly = { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [PAYMENT_SCAN_CURSORS_PARTITION] } };
    fn.addToRolePolicy(new PolicyStatement({ actions: ['dynamodb:Query'], resources: [props.paymentsTable.tableArn], conditions: cursorsOnly }));
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['dynamodb:PutItem'],
        resources: [props.paymentsTable.tableArn],
        conditions: { 'ForAllValues:StringEquals': { ...cursorsOnly['ForAllValues:StringEquals'], 'dynamodb:Attributes': CURSOR_ATTRIBUTES }, StringEqualsIfExists: { 'dynamodb:ReturnValues': 'NONE' } },
      }),
    );
    // Counting a restart and handing a case to an operator touch only these attributes (and read the status they are conditioned on).
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['dynamodb:UpdateItem'],
        resources: [props.paymentsTable.tableArn],
        conditions: {
          'ForAllValues:StringEquals': { 'dynamodb:Attributes': ['PK', 'SK', 'status', 'openEntity', 'reconciliationFlaggedAt', 'reconcileRestarts'] },
          StringEqualsIfExists: { 'dynamodb:ReturnValues': 'NONE' },
        },
      }),
    );
    for (const saga of [props.paymentSaga, props.refundSaga]) {
      saga.grantStartExecution(fn);
      saga.grantExecution(fn, 'states:DescribeExecution');
      const stateMachine = JSON.stringify(Stack.of(this).resolve(saga.stateMachineArn));
      Validations.of(fn.role!).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",${stateMachine}]}]}:*]`,
        reason: 'DescribeExecution of this state machine\'s executions: their names (payment-<id>, refund-<id>) are only known at run time.',
      });
    }
    // SendMessage only (grantSendMessages would add GetQueueAttributes and GetQueueUrl, which the code never calls).
    fn.addToRolePolicy(new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [props.sagaFailuresQueue.queueArn] }));

    // A missed run is made up by the next one: no retries of the scheduled invocation.
    this.rule = new Rule(this, 'Schedule', {
      description: 'Reconciles stuck payments and refunds',
      schedule: props.schedule ?? Schedule.rate(Duration.minutes(5)),
      targets: [new LambdaFunction(fn, { retryAttempts: 0 })],
    });
  }
}
