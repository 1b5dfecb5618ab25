import { Duration, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { FilterCriteria, FilterRule, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq, SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { DeduplicationScope, FifoThroughputLimit, Queue, QueueEncryption, type QueueProps } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { PayflowFunction } from './payflow-function.ts';

export interface OutboxProps {
  readonly paymentsTable: ITable;
  readonly paymentSaga: IStateMachine;
  readonly refundSaga: IStateMachine;
}

/** Every queue: encrypted at rest, TLS only. */
const SECURE_QUEUE: QueueProps = { encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true };
/** SQS maximum: what waits in a queue (dead letters, or events while the starter is down) is not lost for two weeks. */
const MAX_RETENTION = Duration.days(14);
/** SQS's advice for a Lambda event source: a visibility timeout of at least six times the function timeout. */
const visibilityFor = (timeout: Duration) => Duration.seconds(timeout.toSeconds() * 6);

/**
 * The outbox (DESIGN §3): the Payments table's stream -> relay -> FIFO events queue -> saga starter.
 *
 * - relay: stream mapping filtered to INSERT/MODIFY of payments and refunds, partial batch responses,
 *   bounded retries and record age, bisect on error, one batch per shard at a time (order per payment).
 *   Poison records go whole to `relayDeadLetterQueue`.
 * - failureKeeper: the mapping's on-failure destination (`relayFailureQueue`) receives a pointer into
 *   the 24-hour stream; the keeper reads the records it names and keeps them whole in
 *   `relayDeadLetterQueue`, where an operator replays them through the relay.
 * - sagaStarter: FIFO events -> StartExecution under the deterministic execution name; messages that
 *   keep failing are redriven to `eventsDlq`.
 */
export class Outbox extends Construct {
  static readonly RELAY_BATCH_SIZE = 100;
  static readonly MAX_RECEIVE_COUNT = 5;

  readonly eventsQueue: Queue;
  readonly eventsDlq: Queue;
  readonly relayDeadLetterQueue: Queue;
  readonly relayFailureQueue: Queue;
  readonly relay: PayflowFunction;
  readonly failureKeeper: PayflowFunction;
  readonly sagaStarter: PayflowFunction;
  readonly relayEventSource: DynamoEventSource;

  constructor(scope: Construct, id: string, props: OutboxProps) {
    super(scope, id);

    this.relayDeadLetterQueue = new Queue(this, 'RelayDeadLetterQueue', { ...SECURE_QUEUE, retentionPeriod: MAX_RETENTION });
    this.eventsDlq = new Queue(this, 'EventsDlq', { ...SECURE_QUEUE, fifo: true, retentionPeriod: MAX_RETENTION });
    for (const deadLetterQueue of [this.relayDeadLetterQueue, this.eventsDlq]) {
      Validations.of(deadLetterQueue).acknowledge({
        id: 'AwsSolutions-SQS3',
        reason: 'This queue is itself a dead-letter queue: what lands here waits for an operator, with a 14-day retention.',
      });
    }

    this.sagaStarter = new PayflowFunction(this, 'SagaStarter', {
      handlerPath: 'saga/start-saga.ts',
      description: 'Starts the payment or refund saga for payment.created / refund.created events',
      settings: { paymentSagaArn: props.paymentSaga.stateMachineArn, refundSagaArn: props.refundSaga.stateMachineArn },
    });
    this.eventsQueue = new Queue(this, 'EventsQueue', {
      ...SECURE_QUEUE,
      fifo: true,
      contentBasedDeduplication: false,
      // High-throughput FIFO: deduplication and throughput quotas per payment rather than per queue.
      deduplicationScope: DeduplicationScope.MESSAGE_GROUP,
      fifoThroughputLimit: FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
      visibilityTimeout: visibilityFor(this.sagaStarter.timeout!),
      retentionPeriod: MAX_RETENTION,
      deadLetterQueue: { queue: this.eventsDlq, maxReceiveCount: Outbox.MAX_RECEIVE_COUNT },
    });
    this.sagaStarter.addEventSource(new SqsEventSource(this.eventsQueue, { batchSize: 10, reportBatchItemFailures: true }));
    props.paymentSaga.grantStartExecution(this.sagaStarter);
    props.refundSaga.grantStartExecution(this.sagaStarter);

    this.failureKeeper = new PayflowFunction(this, 'FailureKeeper', {
      handlerPath: 'outbox/failure-keeper.ts',
      description: "Keeps the stream records of the relay's failed batches, whole, in the relay dead-letter queue",
      timeout: Duration.seconds(30),
      settings: { relayDeadLetterQueueUrl: this.relayDeadLetterQueue.queueUrl },
    });
    this.relayFailureQueue = new Queue(this, 'RelayFailureQueue', {
      ...SECURE_QUEUE,
      visibilityTimeout: visibilityFor(this.failureKeeper.timeout!),
      retentionPeriod: MAX_RETENTION,
      // A pointer the keeper cannot resolve lands beside the records it keeps, for the same operator.
      deadLetterQueue: { queue: this.relayDeadLetterQueue, maxReceiveCount: Outbox.MAX_RECEIVE_COUNT },
    });
    this.failureKeeper.addEventSource(new SqsEventSource(this.relayFailureQueue, { batchSize: 10, reportBatchItemFailures: true }));
    // The keeper reads the failed range from the stream (GetShardIterator, GetRecords) and keeps it in the relay
    // dead-letter queue (SendMessage): exactly those (grantStreamRead / grantSendMessages would add DescribeStream,
    // ListStreams, GetQueueAttributes and GetQueueUrl, which its code never calls).
    this.failureKeeper.addToRolePolicy(
      new PolicyStatement({ actions: ['dynamodb:GetShardIterator', 'dynamodb:GetRecords'], resources: [props.paymentsTable.tableStreamArn!] }),
    );
    this.failureKeeper.addToRolePolicy(new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.relayDeadLetterQueue.queueArn] }));

    this.relay = new PayflowFunction(this, 'Relay', {
      handlerPath: 'outbox/relay.ts',
      description: 'Relays payment and refund status changes from the table stream to the FIFO events queue',
      timeout: Duration.seconds(30),
      settings: { eventsQueueUrl: this.eventsQueue.queueUrl, relayDeadLetterQueueUrl: this.relayDeadLetterQueue.queueUrl },
    });
    this.relayEventSource = new DynamoEventSource(props.paymentsTable, {
      startingPosition: StartingPosition.TRIM_HORIZON,
      batchSize: Outbox.RELAY_BATCH_SIZE,
      // No batching window: a window would hold every payment's saga back by up to that long at low traffic, and
      // the stream is polled about 4 times a second anyway, so batches still grow with the load.
      maxBatchingWindow: Duration.seconds(0),
      // One batch per shard at a time: a payment's records are relayed in the order they were written.
      parallelizationFactor: 1,
      bisectBatchOnError: true,
      retryAttempts: 5,
      maxRecordAge: Duration.hours(6),
      reportBatchItemFailures: true,
      onFailure: new SqsDlq(this.relayFailureQueue),
      // Only writes that can be events invoke the relay (postings, REMOVEs and TTL deletions cost nothing).
      filters: [
        FilterCriteria.filter({
          eventName: FilterRule.or('INSERT', 'MODIFY'),
          dynamodb: { NewImage: { entity: { S: FilterRule.or('payment', 'refund') } } },
        }),
      ],
    });
    this.relay.addEventSource(this.relayEventSource);
    // SendMessage(Batch) only: grantSendMessages would add GetQueueAttributes and GetQueueUrl, never called. The stream
    // read (DescribeStream, GetRecords, GetShardIterator, ListStreams) and the on-failure SendMessage are what the
    // mapping itself needs: DynamoEventSource grants them, and Lambda refuses to create the mapping without them.
    this.relay.addToRolePolicy(new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.eventsQueue.queueArn, this.relayDeadLetterQueue.queueArn] }));
  }
}
