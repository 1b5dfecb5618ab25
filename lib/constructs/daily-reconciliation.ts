import { Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { PayflowFunction } from './payflow-function.ts';
import { PaymentsData } from './payments-data.ts';
import type { Processor } from './processor.ts';

export interface DailyReconciliationProps {
  readonly paymentsTable: ITable;
  readonly dailyReportsTable: ITable;
  readonly processor: Processor;
  /** Where each discrepancy goes to an operator: the saga-failures queue, already watched by an alarm. */
  readonly operatorQueue: IQueue;
  /** A capture younger than this may still be posted by its saga (only matters when a run covers today). Default 15 minutes. */
  readonly settleAfter?: Duration;
}

/**
 * Daily reconciliation against the processor's records (issue 12): once a day, the day before's captures
 * at the processor against the ledger's capture postings and the payments; recovers captures the ledger
 * lacks through the saga's own posting, and reports each discrepancy (report table, operator queue,
 * metric with an alarm). Idempotent per day, so a rerun (or `aws lambda invoke` with `{"day": ...}`) is safe.
 */
export class DailyReconciliation extends Construct {
  readonly function: PayflowFunction;
  readonly rule: Rule;

  constructor(scope: Construct, id: string, props: DailyReconciliationProps) {
    super(scope, id);
    const processorProps = props.processor.functionProps();
    this.function = new PayflowFunction(this, 'ReconcileDay', {
      handlerPath: 'daily-reconciliation.ts',
      description: "Reconciles a day's captures at the processor with the ledger and the payments",
      timeout: Duration.minutes(15),
      memorySize: 512,
      // One run at a time: two concurrent runs of a day would both see a discrepancy as new and send it twice.
      reservedConcurrentExecutions: 1,
      ...processorProps,
      settings: {
        ...processorProps.settings,
        paymentsTable: props.paymentsTable.tableName,
        dailyReportsTable: props.dailyReportsTable.tableName,
        sagaFailuresQueueUrl: props.operatorQueue.queueUrl,
        settleSeconds: String((props.settleAfter ?? Duration.minutes(15)).toSeconds()),
      },
    });
    const fn = this.function;
    props.processor.grant(fn, 'records');
    // A day's capture postings (Query on the index); payments and postings in batches (BatchGetItem); a recovery
    // is the saga's postLedger (its transaction's UpdateItem and PutItem of the posting, GetItem on a repeat), the
    // same grants as that step's function.
    fn.grantTableActions(props.paymentsTable, ['dynamodb:Query'], PaymentsData.CAPTURE_POSTINGS_BY_DAY_INDEX);
    fn.grantTableActions(props.paymentsTable, ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
    // Findings of the day (Query), a new finding (conditional PutItem), the report (PutItem).
    fn.grantTableActions(props.dailyReportsTable, ['dynamodb:Query', 'dynamodb:PutItem']);
    fn.addToRolePolicy(new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [props.operatorQueue.queueArn] }));

    // Every 24 hours, at whatever time of day the stack was deployed: any time of day D+1 finds day D
    // complete (a capture of its last minutes still being posted counts as in flight). A rate, not a
    // cron, so that the local twin fires it too. A failed delivery is retried twice; a failed run is not
    // made up by the next one (that covers its own day): an operator reruns the day by hand.
    this.rule = new Rule(this, 'Schedule', {
      description: 'Reconciles the day before with the processor',
      schedule: Schedule.rate(Duration.days(1)),
      targets: [new LambdaFunction(fn, { retryAttempts: 2, maxEventAge: Duration.hours(2) })],
    });
  }
}
