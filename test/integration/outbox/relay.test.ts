import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { CreateQueueCommand, DeleteQueueCommand, GetQueueAttributesCommand, SetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import type { DynamoDBRecord, DynamoDBStreamEvent, SQSEvent } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { latestStreamArn, startStreamPoller, type StreamPoller } from '../../../tools/local-runner/event-source-mappings/stream-poller.ts';
import { startSqsPoller, type SqsPoller } from '../../../tools/local-runner/event-source-mappings/sqs-poller.ts';
import { dynamodbClient, documentClient, sqsClient } from '../../support/aws.ts';
import {
  PaymentsTable,
  createQueue,
  createTestTables,
  drainQueue,
  importBundledHandler,
  mappingOf,
  queueAttributesOf,
  type Handler,
} from './harness.ts';

const pollers: Array<StreamPoller | SqsPoller> = [];
afterEach(async () => {
  await Promise.all(pollers.splice(0).map((poller) => poller.stop()));
});

/**
 * The relay behind a local stream mapping configured with the synthesized mapping's properties
 * (filters, batch size, window, retries, bisect, partial responses, on-failure destination), and the
 * failure keeper behind a local SQS mapping on the failure queue.
 */
async function relayRig(options: { eventsQueueAttributes?: Record<string, string> } = {}) {
  const tables = await createTestTables();
  const paymentsTableName = tables.PAYMENTS_TABLE_NAME!;
  const eventsQueueUrl = await createQueue('payment-events', { ...queueAttributesOf('OutboxEventsQueue'), ...options.eventsQueueAttributes });
  const deadLetterQueueUrl = await createQueue('relay-dead-letters');
  const failureQueueUrl = await createQueue('relay-failures');
  const env = {
    ...tables,
    EVENTS_QUEUE_URL: eventsQueueUrl,
    RELAY_DEAD_LETTER_QUEUE_URL: deadLetterQueueUrl,
  };
  const relay = await importBundledHandler<DynamoDBStreamEvent>('OutboxRelay', env);
  const keeper = await importBundledHandler<SQSEvent>('OutboxFailureKeeper', env);
  const streamArn = await latestStreamArn(dynamodbClient(), paymentsTableName);
  const invocations: DynamoDBStreamEvent[] = [];
  const responses: unknown[] = [];
  const streamPoller = startStreamPoller({
    streamArn,
    mapping: mappingOf('OutboxRelay'),
    invoke: async (event) => {
      invocations.push(event);
      const response = await relay(event);
      responses.push(response);
      return response;
    },
    resolveDestination: () => failureQueueUrl,
    pollIntervalMs: 50,
  });
  const keeperPoller = startSqsPoller({ queueUrl: failureQueueUrl, mapping: mappingOf('OutboxFailureKeeper'), invoke: keeper });
  pollers.push(streamPoller, keeperPoller);
  return {
    table: new PaymentsTable(paymentsTableName),
    tables,
    relay: relay as Handler<DynamoDBStreamEvent>,
    keeper,
    streamArn,
    streamPoller,
    invocations,
    responses,
    eventsQueueUrl,
    deadLetterQueueUrl,
  };
}

const relayedRecords = (invocations: DynamoDBStreamEvent[]) => invocations.flatMap((event) => event.Records);

describe('Outbox events: every status change of a payment or refund is one versioned event on the FIFO queue', () => {
  it('relays payment.created → processing → succeeded, in order within each payment, grouped by payment and deduplicated by eventID', async () => {
    const rig = await relayRig();
    const payments = [await rig.table.createPayment(), await rig.table.createPayment(), await rig.table.createPayment()];
    for (const payment of payments) await rig.table.setStatus(payment, 'processing');
    for (const payment of payments) await rig.table.setStatus(payment, 'succeeded', { amountCaptured: 2500 }, ['openEntity']);

    const messages = await drainQueue(rig.eventsQueueUrl, 9);
    expect(messages).toHaveLength(9);
    for (const payment of payments) {
      const own = messages.filter((message) => message.groupId === payment.id);
      expect(own.map((message) => message.body.type)).toEqual(['payment.created', 'payment.processing', 'payment.succeeded']);
      for (const message of own) {
        expect(message.body).toMatchObject({ version: 1, paymentId: payment.id, data: { id: payment.id, merchantId: 'merchant-a', amount: 2500 } });
        expect(message.deduplicationId).toBe(message.body.id);
        expect(message.body.occurredAt).toBe(message.body.data.updatedAt);
        expect(message.body.data).not.toHaveProperty('PK');
        expect(message.body.data).not.toHaveProperty('requestHash');
        expect(message.body.data).not.toHaveProperty('openEntity');
      }
    }
    const streamEventIds = relayedRecords(rig.invocations).map((record) => record.eventID);
    expect(new Set(messages.map((message) => message.body.id))).toEqual(new Set(streamEventIds));
  });

  it('relays refund events in their payment’s group, after the payment events written before them', async () => {
    const rig = await relayRig();
    const payment = await rig.table.createPayment({ requestId: 'request-of-the-payment' });
    await rig.table.setStatus(payment, 'processing');
    await rig.table.setStatus(payment, 'succeeded', { amountCaptured: 2500, amountRefundable: 2500 }, ['openEntity']);
    const refund = await rig.table.createRefund(payment, 1000, new Date(), { requestId: 'request-of-the-refund' });
    await rig.table.setStatus(refund, 'succeeded', {}, ['openEntity']);
    await rig.table.setStatus(payment, 'partially_refunded', { amountRefunded: 1000 });

    const messages = await drainQueue(rig.eventsQueueUrl, 6);
    expect(messages.map((message) => message.body.type)).toEqual([
      'payment.created',
      'payment.processing',
      'payment.succeeded',
      'refund.created',
      'refund.succeeded',
      'payment.partially_refunded',
    ]);
    expect(new Set(messages.map((message) => message.groupId))).toEqual(new Set([payment.id]));
    expect(messages[3]!.body).toMatchObject({ paymentId: payment.id, refundId: refund.id, data: { amount: 1000, status: 'pending' } });
    // One request id end to end: each event carries the request id of what it is about, in the envelope.
    expect(messages.map((message) => message.body.requestId)).toEqual([
      ...Array(3).fill('request-of-the-payment'),
      ...Array(2).fill('request-of-the-refund'),
      'request-of-the-payment',
    ]);
    expect(messages.every((message) => !('requestId' in message.body.data))).toBe(true);
  });
});

describe('Outbox events: only INSERT/MODIFY of payment|refund where status changed are events', () => {
  it('does not publish postings, deletions or updates that keep the status; the mapping filter drops postings and REMOVEs before the relay', async () => {
    const rig = await relayRig();
    const payment = await rig.table.createPayment();
    const posting = { PK: payment.PK, SK: 'POSTING#capture', entity: 'posting', paymentId: payment.id, lines: [], createdAt: new Date().toISOString() };
    await rig.table.put(posting);
    await rig.table.update(payment, { description: 'same status, new description' });
    await documentClient().send(new DeleteCommand({ TableName: rig.tables.PAYMENTS_TABLE_NAME, Key: { PK: posting.PK, SK: posting.SK } }));
    await rig.table.setStatus(payment, 'processing');

    const messages = await drainQueue(rig.eventsQueueUrl, 2, { settleMs: 1_500 });
    expect(messages.map((message) => message.body.type)).toEqual(['payment.created', 'payment.processing']);

    const seen = relayedRecords(rig.invocations);
    expect(seen.map((record) => record.eventName)).toEqual(['INSERT', 'MODIFY', 'MODIFY']);
    expect(seen.every((record) => record.dynamodb?.NewImage?.entity?.S === 'payment')).toBe(true);
    expect(rig.streamPoller.stats.filteredOut).toBe(2);
  });
});

describe('Outbox events: MessageDeduplicationId = eventID', () => {
  it('a stream record delivered twice produces one message', async () => {
    const rig = await relayRig();
    await rig.table.createPayment();
    const [first] = await drainQueue(rig.eventsQueueUrl, 1, { settleMs: 0 });
    expect(rig.invocations).toHaveLength(1);

    // Lambda delivers a batch again after a retry: the relay sends the same record again, SQS drops it.
    const redelivery = await rig.relay(rig.invocations[0]!);
    expect(redelivery).toEqual({ batchItemFailures: [] });
    const again = await drainQueue(rig.eventsQueueUrl, 0, { settleMs: 1_500 });
    expect(again).toEqual([]);
    expect(first!.body.id).toBe(rig.invocations[0]!.Records[0]!.eventID);
  });
});

describe('Outbox relay: a poison record does not block its shard', () => {
  it('sends the full record to the relay dead-letter queue, reports it done, and relays the records after it', async () => {
    const rig = await relayRig();
    const before = await rig.table.createPayment();
    const poison = { ...(await rig.table.createPayment()), status: 'teleported' };
    await rig.table.put(poison);
    const after = await rig.table.createPayment();
    await rig.table.setStatus(before, 'processing');

    const events = await drainQueue(rig.eventsQueueUrl, 4);
    expect(events.map((message) => [message.groupId, message.body.type])).toEqual(
      expect.arrayContaining([
        [before.id, 'payment.created'],
        [poison.id, 'payment.created'],
        [after.id, 'payment.created'],
        [before.id, 'payment.processing'],
      ]),
    );
    expect(events.filter((message) => message.groupId === before.id).map((message) => message.body.type)).toEqual(['payment.created', 'payment.processing']);

    const [dead] = await drainQueue(rig.deadLetterQueueUrl, 1);
    const record = dead!.body as DynamoDBRecord;
    expect(dead!.attributes).toMatchObject({ origin: 'outbox-relay', reason: expect.stringMatching(/MalformedEventError: .*unknown status: teleported/) });
    expect(record).toMatchObject({
      eventName: 'MODIFY',
      eventSource: 'aws:dynamodb',
      eventSourceARN: rig.streamArn,
      dynamodb: {
        Keys: { PK: { S: poison.PK }, SK: { S: 'PAYMENT' } },
        NewImage: { id: { S: poison.id }, status: { S: 'teleported' }, amount: { N: '2500' }, requestHash: { S: poison.requestHash } },
        OldImage: { status: { S: 'pending' } },
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
    });
    expect(record.eventID).toBeTruthy();
    expect(record.dynamodb?.SequenceNumber).toMatch(/^\d+$/);
    expect(rig.streamPoller.stats.failedInvocations).toBe(0);
    expect(rig.responses.every((response) => JSON.stringify(response) === '{"batchItemFailures":[]}')).toBe(true);
  });
});

describe('Outbox relay: an event SQS refuses for what it is (a sender fault)', () => {
  it('isolates that one record in the dead-letter queue with SQS\'s code, relays the rest at once, and dead-letters nothing that was delivered', async () => {
    // Fault injection: the test queue accepts at most 1 KiB per message, so an event carrying a long
    // description is refused by SQS (the template's queue has the default size limit).
    const rig = await relayRig({ eventsQueueAttributes: { MaximumMessageSize: '1024' } });
    const refused = await rig.table.createPayment();
    await rig.table.setStatus(refused, 'processing', { description: 'x'.repeat(1500) });
    await rig.table.setStatus(refused, 'failed', { failureCode: 'card_declined' }, ['description', 'openEntity']);
    const other = await rig.table.createPayment();

    const events = await drainQueue(rig.eventsQueueUrl, 3, { settleMs: 1_500 });
    expect(events.map((message) => [message.groupId, message.body.type])).toEqual(
      expect.arrayContaining([
        [refused.id, 'payment.created'],
        [refused.id, 'payment.failed'],
        [other.id, 'payment.created'],
      ]),
    );
    expect(events).toHaveLength(3);

    const dead = await drainQueue(rig.deadLetterQueueUrl, 1, { settleMs: 1_500 });
    expect(dead).toHaveLength(1);
    expect(dead[0]!.attributes).toMatchObject({ origin: 'outbox-relay', reason: expect.stringMatching(/^SQS refused the event: InvalidParameterValue: /) });
    expect(dead[0]!.body.dynamodb.NewImage).toMatchObject({ id: { S: refused.id }, status: { S: 'processing' } });
    expect(rig.streamPoller.stats.failedInvocations).toBe(0);
    expect(rig.streamPoller.stats.failureRecordsSent).toBe(0);

    // The operator fixes the cause and replays the record through the relay, as Lambda would deliver it.
    await sqsClient().send(new SetQueueAttributesCommand({ QueueUrl: rig.eventsQueueUrl, Attributes: { MaximumMessageSize: '262144' } }));
    expect(await rig.relay({ Records: [dead[0]!.body] })).toEqual({ batchItemFailures: [] });
    const replayed = await drainQueue(rig.eventsQueueUrl, 1, { settleMs: 1_000 });
    expect(replayed.map((message) => [message.groupId, message.body.type])).toEqual([[refused.id, 'payment.processing']]);
  });
});

describe('Outbox relay: text SQS would refuse inside an event', () => {
  it('escapes U+FFFE and U+FFFF (an emoji passes as it is) so the event is accepted and parses back to the same text', async () => {
    const rig = await relayRig();
    const description = 'a\uffffb\ufffec \u{1F600}';
    const payment = await rig.table.createPayment({ description, metadata: { note: '\uffff' } });

    const [event] = await drainQueue(rig.eventsQueueUrl, 1);
    expect(event!.body).toMatchObject({ type: 'payment.created', paymentId: payment.id });
    expect(event!.rawBody).not.toMatch(/[\uFFFE\uFFFF]/);
    expect(event!.body.data).toMatchObject({ description, metadata: { note: '\uffff' } });
    expect(await drainQueue(rig.deadLetterQueueUrl, 0, { settleMs: 500 })).toEqual([]);
  });
});

describe('Outbox relay: SQS unavailable', () => {
  it('retries a bounded number of times, then the failure keeper keeps the full records for replay', async () => {
    // Fault injection: the events queue is deleted, so every SendMessageBatch call fails as a whole.
    const rig = await relayRig();
    const mapping = mappingOf('OutboxRelay');
    const { Attributes } = await sqsClient().send(new GetQueueAttributesCommand({ QueueUrl: rig.eventsQueueUrl, AttributeNames: ['All'] }));
    await sqsClient().send(new DeleteQueueCommand({ QueueUrl: rig.eventsQueueUrl }));
    const first = await rig.table.createPayment();
    await rig.table.setStatus(first, 'processing');

    const kept = await drainQueue(rig.deadLetterQueueUrl, 2, { settleMs: 1_500 });
    // Bisecting the failed batch adds invocations; every half is retried its bounded number of times.
    expect(rig.streamPoller.stats.failedInvocations).toBeGreaterThan(mapping.MaximumRetryAttempts!);
    expect(rig.streamPoller.stats.failureRecordsSent).toBeGreaterThanOrEqual(1);
    for (const message of kept) {
      expect(message.attributes).toMatchObject({ origin: 'outbox-failure-keeper', reason: 'RetryAttemptsExhausted' });
      expect(message.body).toMatchObject({ eventSourceARN: rig.streamArn, dynamodb: { NewImage: expect.any(Object), SequenceNumber: expect.stringMatching(/^\d+$/) } });
    }
    expect(kept.map((message) => message.body.dynamodb.NewImage.status.S)).toEqual(['pending', 'processing']);

    // The operator restores the queue and replays the kept records through the relay.
    const queueName = rig.eventsQueueUrl.split('/').pop()!;
    const { QueueUrl } = await sqsClient().send(new CreateQueueCommand({ QueueName: queueName, Attributes: { FifoQueue: 'true', ContentBasedDeduplication: Attributes?.ContentBasedDeduplication ?? 'false' } }));
    expect(QueueUrl).toBe(rig.eventsQueueUrl);
    expect(await rig.relay({ Records: kept.map((message) => message.body) })).toEqual({ batchItemFailures: [] });
    const replayed = await drainQueue(rig.eventsQueueUrl, 2, { settleMs: 1_000 });
    expect(replayed.map((message) => [message.groupId, message.body.type])).toEqual([
      [first.id, 'payment.created'],
      [first.id, 'payment.processing'],
    ]);
  });
});

describe('Outbox failure keeper: the on-failure destination only points into the stream', () => {
  it('keeps the pointer itself, with a reason, when the stream no longer holds the records', async () => {
    const rig = await relayRig();
    // A shard the stream does not have: what GetShardIterator answers once DynamoDB Streams has trimmed it.
    const pointer = {
      requestContext: { requestId: 'r-1', functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:relay', condition: 'RecordAgeExceeded', approximateInvokeCount: 3 },
      version: '1.0',
      timestamp: new Date().toISOString(),
      DDBStreamBatchInfo: {
        shardId: 'shardId-00000000000000000000-00000000',
        startSequenceNumber: '000000000000000000100',
        endSequenceNumber: '000000000000000000200',
        batchSize: 2,
        streamArn: rig.streamArn,
      },
    };
    const response = await rig.keeper({ Records: [sqsRecord(JSON.stringify(pointer))] });
    expect(response).toEqual({ batchItemFailures: [] });
    const [kept] = await drainQueue(rig.deadLetterQueueUrl, 1);
    expect(kept!.body).toEqual(pointer);
    expect(kept!.attributes).toMatchObject({ origin: 'outbox-failure-keeper', reason: 'records-no-longer-in-stream' });
  });

  it('reports a message that is not an on-failure record as failed, so the queue redrives it after its receive count', async () => {
    const rig = await relayRig();
    const pointer = {
      DDBStreamBatchInfo: { shardId: 'shardId-missing', startSequenceNumber: '000000000000000000001', endSequenceNumber: '000000000000000000002', batchSize: 2, streamArn: rig.streamArn },
    };
    const response = await rig.keeper({
      Records: [sqsRecord(JSON.stringify(pointer), 'pointer'), sqsRecord('{"not":"a pointer"}', 'bad-1'), sqsRecord('not json', 'bad-2')],
    });
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'bad-1' }, { itemIdentifier: 'bad-2' }] });
  });
});

function sqsRecord(body: string, messageId = 'm-1'): SQSEvent['Records'][number] {
  return {
    messageId,
    receiptHandle: `rh-${messageId}`,
    body,
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: String(Date.now()), SenderId: 'lambda', ApproximateFirstReceiveTimestamp: String(Date.now()) },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:relay-failures',
    awsRegion: 'us-east-1',
  };
}
