import { Duration, Stack, Validations, type CfnElement } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import {
  DefinitionBody,
  Errors,
  Fail,
  JitterType,
  JsonPath,
  LogLevel,
  Pass,
  Result,
  StateMachine,
  StateMachineType,
  TaskInput,
  type IChainable,
  type INextable,
  type RetryProps,
} from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke, SqsSendMessage } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { CIRCUIT_OPEN_ERROR, FUNCTION_ENVIRONMENT_ERRORS, PAYMENT_UNREADABLE_ERROR, PERMANENT_TABLE_ERRORS, RETRYABLE_PROCESSOR_ERRORS, RETRYABLE_TABLE_ERRORS } from '../../lambdas/domain/saga.ts';
import type { CircuitBreakerConfig } from '../payflow-config.ts';
import { PayflowFunction, type PayflowFunctionProps } from './payflow-function.ts';
import type { Processor } from './processor.ts';

export interface PaymentSagaProps {
  readonly paymentsTable: ITable;
  /** The payment processor the processor tasks call (the simulated one or Stripe). */
  readonly processor: Processor;
  /** The processor's circuit breaker state (granted to Authorize only: GetItem, UpdateItem). */
  readonly circuitBreakerTable: ITable;
  readonly circuitBreaker: CircuitBreakerConfig;
  /** STANDARD (default in the app: exactly-once start by name, 90-day history) or EXPRESS (cheaper; same correctness because every task is idempotent). */
  readonly sagaType: 'STANDARD' | 'EXPRESS';
}

/** Transient errors: back off exponentially with full jitter (1 s, 2 s, 4 s caps; 4 retries). */
const TRANSIENT_RETRY: Omit<RetryProps, 'errors'> = { interval: Duration.seconds(1), backoffRate: 2, maxAttempts: 4, jitterStrategy: JitterType.FULL };
/**
 * Money already moved is settled, not abandoned: captures and refunds at the processor (never held by
 * the circuit breaker) retry transient errors longer, up to about 90 s (1, 2, 4, 8, 16, then 20 s caps).
 */
const SETTLE_RETRY_TIMING = { interval: Duration.seconds(1), backoffRate: 2, maxDelay: Duration.seconds(20), maxAttempts: 8, jitterStrategy: JitterType.FULL } as const;
const SETTLE_PROCESSOR_RETRY: RetryProps = { errors: [...RETRYABLE_PROCESSOR_ERRORS], ...SETTLE_RETRY_TIMING };
/** Compensations (void, refund, mark failed) retry anything on the same schedule before the case goes to the saga-failures queue. */
const COMPENSATION_RETRY: RetryProps = { errors: [Errors.ALL], ...SETTLE_RETRY_TIMING };
/**
 * Payments-table tasks are idempotent, so any error that does not say for certain that nothing was
 * written (a timeout, a lost response, throttling, a lost race) is retried, up to about a minute:
 * infrastructure trouble delays a payment, it does not decide it.
 */
const NEVER_RETRY: RetryProps = { errors: [...PERMANENT_TABLE_ERRORS], maxAttempts: 0 };
const SETTLE_RETRY: RetryProps = { errors: [Errors.ALL], interval: Duration.seconds(1), backoffRate: 2, maxAttempts: 6, maxDelay: Duration.seconds(20), jitterStrategy: JitterType.FULL };
const LAMBDA_THROTTLED_RETRY: RetryProps = {
  errors: ['Lambda.TooManyRequestsException'],
  interval: Duration.seconds(1),
  backoffRate: 2,
  maxDelay: Duration.seconds(20),
  maxAttempts: 8,
  jitterStrategy: JitterType.FULL,
};
/** A function that timed out or crashed is run again on the settle schedule, by every task: it says nothing about the card. */
const FUNCTION_ENVIRONMENT_RETRY: RetryProps = { errors: [...FUNCTION_ENVIRONMENT_ERRORS], ...SETTLE_RETRY_TIMING };
/** Express workflows stop after 5 minutes at most; a Standard saga may hold and settle for longer. */
const sagaTimeout = (sagaType: 'STANDARD' | 'EXPRESS') => (sagaType === 'EXPRESS' ? Duration.minutes(5) : Duration.minutes(15));

/**
 * The payment and refund sagas (DESIGN §4, CONTRACT "Sagas"): one small Lambda function per task,
 * Step Functions for the order, retries and compensations, and a saga-failures queue for cases a
 * compensation could not settle. A business failure (decline, capture refused, refund refused) ends
 * SUCCEEDED once the payment or refund is marked failed: the execution did its job. Only a case that
 * needs an operator ends FAILED, in `CompensationFailed`, after landing in the queue. The last task of
 * a path is its end state: Standard bills every state entered, and a Succeed state after it is one more.
 */
export class PaymentSaga extends Construct {
  readonly paymentSaga: StateMachine;
  readonly refundSaga: StateMachine;
  readonly sagaFailuresQueue: Queue;
  readonly functions: PayflowFunction[] = [];
  /** The functions that call the processor: a slow processor holds their concurrency (bulkheads). */
  readonly processorFunctions: PayflowFunction[] = [];

  constructor(scope: Construct, id: string, props: PaymentSagaProps) {
    super(scope, id);
    const { paymentsTable, processor, circuitBreakerTable, circuitBreaker } = props;

    this.sagaFailuresQueue = new Queue(this, 'SagaFailuresQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.sagaFailuresQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter queue of the sagas: what lands here waits for an operator, with a 14-day retention.',
    });

    type TableActions = ReadonlyArray<`dynamodb:${string}`>;
    // Each task is granted exactly the item actions its code calls (a transaction needs each item's action).
    const fn = (
      name: string,
      handler: string,
      description: string,
      access: { payments?: TableActions; processor?: boolean },
      extraSettings: PayflowFunctionProps['settings'] = {},
    ) => {
      const processorProps = access.processor ? processor.functionProps() : {};
      const settings = {
        ...(access.payments ? { paymentsTable: paymentsTable.tableName } : {}),
        ...processorProps.settings,
        ...extraSettings,
      };
      const created = new PayflowFunction(this, name, { handlerPath: `saga/${handler}.ts`, description, ...processorProps, settings });
      if (access.payments) created.grantTableActions(paymentsTable, access.payments);
      if (access.processor) processor.grant(created, 'calls');
      this.functions.push(created);
      if (access.processor) this.processorFunctions.push(created);
      return created;
    };

    // A conditional status update that finds the status already moved reads the item back (GetItem) to tell
    // a repeat, which is a no-op, from a conflict; PostLedger and the refund ledger read before they decide too.
    // Authorize reads the payment before it sends anything (GetItem only: it writes nothing to the table).
    const authorizeFn = fn('AuthorizeFunction', 'authorize', 'Payment saga: read the payment, authorize at the processor through the circuit breaker', { payments: ['dynamodb:GetItem'], processor: true }, {
      circuitBreakerTable: circuitBreakerTable.tableName,
      breakerFailureThreshold: String(circuitBreaker.failureThreshold),
      breakerWindowSeconds: String(circuitBreaker.windowSeconds),
      breakerOpenSeconds: String(circuitBreaker.openSeconds),
    });
    // The breaker's state: read on every authorization, updated on failures and probes.
    authorizeFn.grantTableActions(circuitBreakerTable, ['dynamodb:GetItem', 'dynamodb:UpdateItem']);
    const captureFn = fn('CaptureFunction', 'capture', 'Payment saga: capture at the processor', { processor: true });
    const postLedgerFn = fn('PostLedgerFunction', 'post-ledger', 'Payment saga: capture posting + succeeded, one transaction', { payments: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'] });
    // VoidAuthorization reads the payment when Authorize did not, and voids nothing for a settled one.
    const voidAuthorizationFn = fn('VoidAuthorizationFunction', 'void-authorization', 'Payment saga compensation: void the authorization', { payments: ['dynamodb:GetItem'], processor: true });
    const refundCaptureFn = fn('RefundCaptureFunction', 'refund-capture', 'Payment saga compensation: refund the capture', { processor: true });
    const markFailedFn = fn('MarkFailedFunction', 'mark-failed', 'Payment saga: pending -> failed', { payments: ['dynamodb:GetItem', 'dynamodb:UpdateItem'] });
    const refundAtProcessorFn = fn('RefundAtProcessorFunction', 'refund-at-processor', 'Refund saga: refund at the processor', { payments: ['dynamodb:GetItem'], processor: true });
    const postRefundLedgerFn = fn('PostRefundLedgerFunction', 'post-refund-ledger', 'Refund saga: refund posting + succeeded, one transaction', { payments: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'] });
    const releaseRefundFn = fn('ReleaseRefundFunction', 'release-refund', 'Refund saga compensation: refund failed, amount refundable again', { payments: ['dynamodb:GetItem', 'dynamodb:UpdateItem'] });

    // Payment saga ------------------------------------------------------------------------------
    const payment = new Construct(this, 'PaymentSagaStates');
    const paymentFailure = this.failureExit(payment, 'payment');
    const compensation = (stateName: string, lambdaFunction: PayflowFunction) =>
      task(payment, stateName, lambdaFunction).addRetry(COMPENSATION_RETRY).addCatch(paymentFailure, { errors: [Errors.ALL], resultPath: '$.compensationError' });

    const markFailed = compensation('MarkFailed', markFailedFn);
    const voidAuthorization = compensation('VoidAuthorization', voidAuthorizationFn).next(markFailed);
    const refundCapture = compensation('RefundCapture', refundCaptureFn).next(markFailed);
    const failWith = (stateName: string, failureCode: string, then: IChainable & INextable) =>
      new Pass(payment, stateName, { result: Result.fromString(failureCode), resultPath: '$.failureCode' }).next(then);

    // The saga's first state: Authorize reads the payment, and one already settled (a late or repeated start)
    // passes through Capture and PostLedger untouched, so no Choice is billed on every payment.
    // While the circuit breaker is open nothing is sent: the payment waits (nothing authorized), asking
    // again every waitSeconds, up to holdSeconds; then it fails through the same void as an outage.
    // A payment that is missing, or cannot be read for a minute, has had nothing sent: it is for an operator.
    const authorize = task(payment, 'Authorize', authorizeFn)
      .addRetry({ errors: [...RETRYABLE_PROCESSOR_ERRORS], ...TRANSIENT_RETRY })
      .addRetry({
        errors: [CIRCUIT_OPEN_ERROR],
        interval: Duration.seconds(circuitBreaker.waitSeconds),
        backoffRate: 1,
        maxAttempts: Math.ceil(circuitBreaker.holdSeconds / circuitBreaker.waitSeconds),
      })
      .addRetry({ ...SETTLE_RETRY, errors: [PAYMENT_UNREADABLE_ERROR] })
      .addCatch(markFailed, { errors: ['PaymentDeclined'], resultPath: '$.error' })
      .addCatch(paymentFailure, { errors: ['PaymentNotFound', PAYMENT_UNREADABLE_ERROR], resultPath: '$.error' })
      .addCatch(failWith('AuthorizationUnavailable', 'processor_unavailable', voidAuthorization), { errors: [Errors.ALL], resultPath: '$.error' });
    const capture = task(payment, 'Capture', captureFn)
      .addRetry(SETTLE_PROCESSOR_RETRY)
      .addCatch(failWith('CaptureRefused', 'capture_failed', voidAuthorization), { errors: ['CaptureFailed'], resultPath: '$.error' })
      .addCatch(failWith('CaptureUnavailable', 'processor_unavailable', voidAuthorization), { errors: [Errors.ALL], resultPath: '$.error' });
    const postLedger = task(payment, 'PostLedger', postLedgerFn)
      .addRetry(NEVER_RETRY)
      .addRetry(SETTLE_RETRY)
      // Only a posting that certainly did not commit is compensated by refunding the capture.
      .addCatch(failWith('LedgerRefused', 'ledger_failed', refundCapture), { errors: ['PaymentStateConflict', 'WriteRefused'], resultPath: '$.error' })
      // Still unknown after every retry: refunding could undo a succeeded payment, so an operator decides.
      .addCatch(paymentFailure, { errors: [Errors.ALL], resultPath: '$.error' });
    const paymentDefinition = authorize.next(capture).next(postLedger);
    this.paymentSaga = this.stateMachine('PaymentSaga', paymentDefinition, props.sagaType);

    // Refund saga -------------------------------------------------------------------------------
    const refund = new Construct(this, 'RefundSagaStates');
    const refundFailure = this.failureExit(refund, 'refund');
    const releaseRefund = task(refund, 'ReleaseRefund', releaseRefundFn)
      .addRetry(COMPENSATION_RETRY)
      .addCatch(refundFailure, { errors: [Errors.ALL], resultPath: '$.compensationError' });
    const refundAtProcessor = task(refund, 'RefundAtProcessor', refundAtProcessorFn)
      .addRetry(SETTLE_PROCESSOR_RETRY)
      .addRetry({ errors: [...RETRYABLE_TABLE_ERRORS], ...TRANSIENT_RETRY })
      // Refused, or unavailable every time: no money moved, so the reservation is released.
      .addCatch(releaseRefund, { errors: ['RefundFailed', 'ProcessorUnavailable'], resultPath: '$.error' })
      // A timeout on every attempt leaves the outcome unknown: releasing could refund twice, so an operator decides.
      .addCatch(refundFailure, { errors: [Errors.ALL], resultPath: '$.error' });
    const postRefundLedger = task(refund, 'PostRefundLedger', postRefundLedgerFn)
      .addRetry(NEVER_RETRY)
      .addRetry(SETTLE_RETRY)
      // The money went back but the ledger refused it: releasing would allow refunding it again.
      .addCatch(refundFailure, { errors: [Errors.ALL], resultPath: '$.error' });

    // A refund no longer pending (a late or repeated start) passes through PostRefundLedger untouched: no Choice.
    const refundDefinition = refundAtProcessor.next(postRefundLedger);
    this.refundSaga = this.stateMachine('RefundSaga', refundDefinition, props.sagaType);
  }

  /** SendToSagaFailures (the whole state, its error and where it happened) → CompensationFailed. */
  private failureExit(scope: Construct, saga: 'payment' | 'refund'): SqsSendMessage {
    const send = new SqsSendMessage(scope, 'SendToSagaFailures', {
      queue: this.sagaFailuresQueue,
      messageBody: TaskInput.fromObject({
        saga,
        executionArn: JsonPath.executionId,
        executionName: JsonPath.executionName,
        stateMachineArn: JsonPath.stateMachineId,
        state: JsonPath.entirePayload,
      }),
      resultPath: JsonPath.DISCARD,
    });
    send.addRetry({ errors: [Errors.ALL], interval: Duration.seconds(1), backoffRate: 2, maxAttempts: 3, jitterStrategy: JitterType.FULL });
    send.next(new Fail(scope, 'CompensationFailed', { error: 'CompensationFailed', cause: `The ${saga} saga could not settle the case; it is in the saga-failures queue.` }));
    return send;
  }

  private stateMachine(id: string, definition: IChainable, sagaType: 'STANDARD' | 'EXPRESS'): StateMachine {
    const logGroup = new LogGroup(this, `${id}Logs`, { retention: RetentionDays.ONE_MONTH });
    const stateMachine = new StateMachine(this, id, {
      definitionBody: DefinitionBody.fromChainable(definition),
      stateMachineType: sagaType === 'EXPRESS' ? StateMachineType.EXPRESS : StateMachineType.STANDARD,
      timeout: sagaTimeout(sagaType),
      tracingEnabled: true,
      // Execution data would carry the payment source into the logs: keep it out.
      logs: { destination: logGroup, level: LogLevel.ALL, includeExecutionData: false },
    });
    Validations.of(stateMachine.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'Step Functions log delivery (logs:CreateLogDelivery and friends) and X-Ray support no resource-level permissions.',
    });
    for (const lambdaFunction of this.functions) {
      const logicalId = Stack.of(this).resolve(Stack.of(this).getLogicalId(lambdaFunction.node.defaultChild as CfnElement));
      Validations.of(stateMachine.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>:*]`,
        reason: 'lambda:InvokeFunction on the saga functions and their versions (CDK grants the unqualified ARN and :*).',
      });
    }
    return stateMachine;
  }
}

/**
 * A Lambda task: default LambdaInvoke (Invoke response at $), the function's result selected with
 * $.Payload. A function at its reserved concurrency (a bulkhead) answers TooManyRequestsException:
 * nothing ran, so it is retried, never caught as a failure; one that timed out or crashed is run again.
 */
function task(scope: Construct, stateName: string, lambdaFunction: PayflowFunction): LambdaInvoke {
  const invoke = new LambdaInvoke(scope, stateName, { lambdaFunction, outputPath: '$.Payload' });
  invoke.addRetry(LAMBDA_THROTTLED_RETRY);
  invoke.addRetry(FUNCTION_ENVIRONMENT_RETRY);
  return invoke;
}
