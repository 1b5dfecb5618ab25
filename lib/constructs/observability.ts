import { ArnFormat, Duration, Stack, type RemovalPolicy } from 'aws-cdk-lib';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import { ComparisonOperator, Metric, Stats, TreatMissingData, type Dashboard } from 'aws-cdk-lib/aws-cloudwatch';
import { Effect, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { FilterPattern, MetricFilter, type ILogGroup } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import {
  DefaultDashboardFactory,
  MonitoringFacade,
  SnsAlarmActionStrategy,
  type AlarmWithAnnotation,
} from 'cdk-monitoring-constructs';
import { Construct } from 'constructs';

export const METRICS_NAMESPACE = 'Payflow';
/** Oldest stream record the relay may still be working on before someone should look. */
export const MAX_RELAY_ITERATOR_AGE = Duration.minutes(5);
/** API requests answered 429 within 5 minutes before it is worth a look (a single merchant hitting its limit is normal). */
export const MAX_THROTTLED_REQUESTS_PER_5_MINUTES = 100;
/** Saga task functions signal declines and transient processor errors by throwing: alarm on a sustained rate, not on one. */
export const MAX_SAGA_TASK_ERROR_RATE_PERCENT = 50;
/** The circuit breaker's gauge (published by Authorize through Powertools Metrics): 0 closed, 1 half-open, 2 open. */
export const CIRCUIT_STATE_METRIC = 'ProcessorCircuitState';
export const CIRCUIT_OPEN_VALUE = 2;
/** Stuck-payment signals (published by reconciliation every run): the age of the oldest open payment and refund. */
export const OLDEST_OPEN_AGE_METRICS = { payment: 'OldestOpenPaymentAgeSeconds', refund: 'OldestOpenRefundAgeSeconds' } as const;
/**
 * Reconciliation restarts a saga after 15 minutes and flags what it cannot move (handed over once, to the
 * saga-failures queue); an item still open after 30 minutes means neither worked.
 */
export const MAX_OPEN_ITEM_AGE = Duration.minutes(30);
/** New discrepancies a daily reconciliation run found (published once per run; its findings also go to the saga-failures queue). */
export const RECONCILIATION_DISCREPANCIES_METRIC = 'ReconciliationDiscrepancies';

export interface ObservabilityProps {
  readonly restApi: RestApi;
  /** The API's access log group (JSON, `status` as a number). */
  readonly accessLogGroup: ILogGroup;
  /** Functions for which any error is a fault (API handlers, relay, starter, ...): alarm on errors > 0. */
  readonly functions: readonly IFunction[];
  /** Functions whose errors are also business signals to a state machine (declines, retries): alarm on a sustained error rate. */
  readonly sagaTaskFunctions?: readonly IFunction[];
  /** Stream-triggered functions: alarm on iterator age. */
  readonly streamConsumers?: readonly IFunction[];
  /** Every dead-letter queue, by a name for humans: alarm on depth > 0. */
  readonly deadLetterQueues?: Readonly<Record<string, IQueue>>;
  /** State machines, by a name for humans: alarm on any failed, timed-out or aborted execution. */
  readonly stateMachines?: Readonly<Record<string, IStateMachine>>;
  /** Subscribed to the alarm topic when given (the address must confirm the subscription). */
  readonly alarmEmail?: string;
  /** The alarm topic's KMS key: DESTROY for throwaway stacks. */
  readonly removalPolicy: RemovalPolicy;
}

/**
 * Alarms, one dashboard and the SNS topic they notify (KMS-encrypted with a key CloudWatch may use, TLS only).
 * Alarms fire on: any message in a dead-letter queue, the relay falling behind the stream, a saga
 * execution failing/timing out/aborting, Lambda faults and throttles, API 5xx, and sustained 429s.
 */
export class Observability extends Construct {
  readonly alarmTopic: Topic;
  readonly facade: MonitoringFacade;
  readonly dashboard: Dashboard;
  /** The custom metric counting API requests answered 429 (from the access log). */
  readonly throttledRequestsMetric: Metric;
  /** The processor's circuit breaker position, as Authorize last saw it in each minute. */
  readonly circuitStateMetric: Metric;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const stackName = Stack.of(this).stackName;

    // CloudWatch cannot use the AWS-managed alias/aws/sns key to publish to an encrypted topic: it needs a
    // customer-managed key whose policy lets it encrypt.
    const alarmTopicKey = new Key(this, 'AlarmTopicKey', {
      description: `${stackName} alarm notifications`,
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy,
      pendingWindow: Duration.days(7),
    });
    alarmTopicKey.grant(new ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
    this.alarmTopic = new Topic(this, 'AlarmTopic', {
      displayName: `${stackName} alarms`,
      masterKey: alarmTopicKey,
      enforceSSL: true,
    });
    this.alarmTopic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        effect: Effect.ALLOW,
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.alarmTopic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': Stack.of(this).account },
          ArnLike: { 'aws:SourceArn': Stack.of(this).formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) },
        },
      }),
    );

    if (props.alarmEmail) this.alarmTopic.addSubscription(new EmailSubscription(props.alarmEmail));

    const dashboards = new DefaultDashboardFactory(this, 'Dashboards', {
      dashboardNamePrefix: stackName,
      createDashboard: true,
      createSummaryDashboard: false,
      createAlarmDashboard: false,
    });
    this.facade = new MonitoringFacade(this, 'Monitoring', {
      alarmFactoryDefaults: {
        alarmNamePrefix: stackName,
        actionsEnabled: true,
        action: new SnsAlarmActionStrategy({ onAlarmTopic: this.alarmTopic }),
        // Every alarm here is a count that should be zero: one bad datapoint is enough.
        datapointsToAlarm: 1,
      },
      dashboardFactory: dashboards,
    });
    this.dashboard = dashboards.dashboard!;

    this.facade.addLargeHeader(`${stackName}: payments API, outbox and saga`);

    this.throttledRequestsMetric = this.throttledRequests(props.accessLogGroup);
    this.facade.monitorApiGateway({
      api: props.restApi,
      apiStage: props.restApi.deploymentStage.stageName,
      alarmFriendlyName: 'Api',
      humanReadableName: 'Payments API',
      add5XXFaultCountAlarm: { Critical: { maxErrorCount: 0 } },
    });
    this.facade.monitorCustom({
      alarmFriendlyName: 'ApiThrottled',
      humanReadableName: 'Payments API: requests answered 429',
      metricGroups: [
        {
          title: 'Throttled requests (429)',
          metrics: [
            {
              metric: this.throttledRequestsMetric,
              alarmFriendlyName: 'ApiThrottledRequests',
              addAlarm: {
                Warning: {
                  threshold: MAX_THROTTLED_REQUESTS_PER_5_MINUTES,
                  comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
                  additionalDescription: 'Sustained throttling: a merchant may need a higher tier, or the API is under attack.',
                },
              },
            },
          ],
        },
      ],
    });

    // Only authorizations move the breaker (a probe needs a payment), so a minute without one keeps the
    // last position: missing data leaves the alarm where it is.
    this.circuitStateMetric = new Metric({
      namespace: METRICS_NAMESPACE,
      metricName: CIRCUIT_STATE_METRIC,
      dimensionsMap: { service: 'payflow' },
      statistic: Stats.MAXIMUM,
      period: Duration.minutes(1),
      label: 'Processor circuit (0 closed, 1 half-open, 2 open)',
    });
    this.facade.monitorCustom({
      alarmFriendlyName: 'ProcessorCircuit',
      humanReadableName: "Processor circuit breaker",
      metricGroups: [
        {
          title: 'Processor circuit breaker',
          metrics: [
            {
              metric: this.circuitStateMetric,
              alarmFriendlyName: 'ProcessorCircuitOpen',
              addAlarm: {
                Critical: {
                  threshold: CIRCUIT_OPEN_VALUE,
                  comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                  treatMissingDataOverride: TreatMissingData.IGNORE,
                  additionalDescription: 'The processor circuit breaker is open: new payments wait, nothing is authorized. README runbook: "Processor circuit open".',
                },
              },
            },
          ],
        },
      ],
    });

    this.facade.monitorCustom({
      alarmFriendlyName: 'StuckItems',
      humanReadableName: 'Stuck payments and refunds (from reconciliation)',
      metricGroups: [
        {
          title: 'Age of the oldest open item (s)',
          metrics: (['payment', 'refund'] as const).map((entity) => ({
            metric: new Metric({
              namespace: METRICS_NAMESPACE,
              metricName: OLDEST_OPEN_AGE_METRICS[entity],
              dimensionsMap: { service: 'payflow' },
              statistic: Stats.MAXIMUM,
              period: Duration.minutes(5),
              label: `oldest open ${entity}`,
            }),
            alarmFriendlyName: `OldestOpen${entity === 'payment' ? 'Payment' : 'Refund'}Age`,
            addAlarm: {
              Critical: {
                threshold: MAX_OPEN_ITEM_AGE.toSeconds(),
                comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
                additionalDescription: `A ${entity} has been open for over 30 minutes: reconciliation neither finished nor flagged it. README runbook: "Stuck payment".`,
              },
            },
          })),
        },
      ],
    });

    // Published once a day: an hour without data is the normal state, not a breach.
    this.facade.monitorCustom({
      alarmFriendlyName: 'DailyReconciliation',
      humanReadableName: 'Daily reconciliation against the processor',
      metricGroups: [
        {
          title: 'New discrepancies per run',
          metrics: [
            {
              metric: new Metric({
                namespace: METRICS_NAMESPACE,
                metricName: RECONCILIATION_DISCREPANCIES_METRIC,
                dimensionsMap: { service: 'payflow' },
                statistic: Stats.SUM,
                period: Duration.hours(1),
                label: 'discrepancies found',
              }),
              alarmFriendlyName: 'ReconciliationDiscrepancies',
              addAlarm: {
                Critical: {
                  threshold: 0,
                  comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
                  treatMissingDataOverride: TreatMissingData.NOT_BREACHING,
                  additionalDescription:
                    'The processor and the ledger disagree: see npm run reconciliation:report and the saga-failures queue. README runbook: "Reconciliation discrepancy".',
                },
              },
            },
          ],
        },
      ],
    });

    for (const [name, queue] of Object.entries(props.deadLetterQueues ?? {})) {
      this.facade.monitorSqsQueue({
        queue,
        alarmFriendlyName: name,
        humanReadableName: `Dead-letter queue: ${name}`,
        addQueueMaxSizeAlarm: { Critical: { maxMessageCount: 0 } },
      });
    }

    for (const [name, stateMachine] of Object.entries(props.stateMachines ?? {})) {
      this.facade.monitorStepFunction({
        stateMachine,
        alarmFriendlyName: name,
        humanReadableName: `State machine: ${name}`,
        addFailedExecutionCountAlarm: { Critical: { maxErrorCount: 0 } },
        addTimedOutExecutionCountAlarm: { Critical: { maxErrorCount: 0 } },
        addAbortedExecutionCountAlarm: { Critical: { maxErrorCount: 0 } },
      });
    }

    const streamConsumers = new Set(props.streamConsumers ?? []);
    const sagaTasks = new Set(props.sagaTaskFunctions ?? []);
    for (const fn of [...props.functions, ...sagaTasks]) {
      const name = friendlyName(fn);
      this.facade.monitorLambdaFunction({
        lambdaFunction: fn,
        alarmFriendlyName: name,
        humanReadableName: `Function: ${name}`,
        ...(sagaTasks.has(fn)
          ? {
              // Lambda's Errors averaged over invocations is the error rate (a fraction).
              addFaultRateAlarm: {
                Warning: { maxErrorRate: MAX_SAGA_TASK_ERROR_RATE_PERCENT / 100, datapointsToAlarm: 3, evaluationPeriods: 3 },
              },
            }
          : { addFaultCountAlarm: { Critical: { maxErrorCount: 0 } } }),
        addThrottlesCountAlarm: { Warning: { maxErrorCount: 0 } },
        ...(streamConsumers.has(fn)
          ? { addMaxIteratorAgeAlarm: { Critical: { maxAgeInMillis: MAX_RELAY_ITERATOR_AGE.toMilliseconds() } } }
          : {}),
      });
    }
  }

  /** Every alarm created so far. */
  get alarms(): AlarmWithAnnotation[] {
    return this.facade.createdAlarms();
  }

  /** API Gateway has no 429 metric of its own: count them from the JSON access log. */
  private throttledRequests(accessLogGroup: ILogGroup): Metric {
    const filter = new MetricFilter(this, 'ThrottledRequestsFilter', {
      logGroup: accessLogGroup,
      filterPattern: FilterPattern.numberValue('$.status', '=', 429),
      metricNamespace: METRICS_NAMESPACE,
      metricName: 'ApiThrottledRequests',
      metricValue: '1',
      defaultValue: 0,
    });
    return filter.metric({ statistic: Stats.SUM, period: Duration.minutes(5), label: '429 responses' });
  }
}

/** `Payflow/Api/CreatePaymentFunction` -> `ApiCreatePayment`: unique within the stack, stable, readable. */
function friendlyName(fn: IFunction): string {
  return fn.node.path
    .split('/')
    .slice(1)
    .join('')
    .replace(/Function$/, '');
}
